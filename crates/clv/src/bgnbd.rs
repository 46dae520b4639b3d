//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): Poisson purchases
//! at rate λ ~ Gamma(r, α) while alive; after each repeat purchase the customer drops out with
//! probability p ~ Beta(a, b).

use serde::Serialize;
use statrs::function::beta::checked_beta_reg;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::data::CalibrationData;
use crate::error::{Result, positive};
use crate::fit::{self, FitOptions, Fitted, MAXP, Mle, RowIndex, Rows};
use crate::hyp2f1::bg_bracket;
use crate::special::{ln_beta, log_add_exp, logistic};

/// BG/NBD parameters (r, α: purchase-rate Gamma; a, b: dropout Beta), α in model time units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BgNbd {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
}

deserialize_via_new!(BgNbd { r, alpha, a, b });

impl BgNbd {
    /// Validated parameters (all finite and > 0).
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
        Ok(BgNbd {
            r: positive("r", r)?,
            alpha: positive("alpha", alpha)?,
            a: positive("a", a)?,
            b: positive("b", b)?,
        })
    }

    /// Parameters as `[r, alpha, a, b]`.
    pub fn params(&self) -> [f64; 4] {
        [self.r, self.alpha, self.a, self.b]
    }

    /// Fits by maximum likelihood (BFGS, analytic gradient) on the compressed rows.
    pub fn fit(data: &CalibrationData, opts: &FitOptions) -> Result<Fitted<BgNbd>> {
        fit::check_transaction_data::<BgNbd>(data, opts)?;
        let c = data.compress();
        let rows = Rows {
            a: c.frequency(),
            b: c.recency(),
            c: c.age(),
            w: c.weights(),
        };
        let scale = mean_time_per_purchase(&c);
        let starts = vec![
            vec![1.0, scale, 1.0, 1.0],
            vec![0.3, 0.3 * scale, 0.8, 2.5],
            vec![3.0, 3.0 * scale, 2.0, 8.0],
        ];
        let index = RowIndex::new(rows);
        fit::fit_mle_with(rows, opts, starts, &|m: &BgNbd, grad| {
            m.indexed_sum(&index, rows, grad)
        })
    }

    /// Log-likelihood of one customer (FHL 2005 §7, the log-sum-exp form of note 027).
    pub fn row_log_likelihood(&self, x: f64, tx: f64, t: f64) -> f64 {
        self.row_ll(x, tx, t)
    }

    /// Log-likelihood of one customer and its gradient in (r, α, a, b).
    pub fn row_log_likelihood_gradient(&self, x: f64, tx: f64, t: f64) -> (f64, [f64; 4]) {
        self.row_grad_impl(x, tx, t, true)
    }

    /// Total log-likelihood (weighted sum over rows), in the data's units.
    pub fn log_likelihood(&self, data: &CalibrationData) -> f64 {
        let rows = Rows {
            a: data.frequency(),
            b: data.recency(),
            c: data.age(),
            w: data.weights(),
        };
        fit::total_ll(self, rows)
    }

    /// P(alive at T | x, tₓ, T) (note 021); 1 for x = 0 by construction.
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        if x == 0.0 {
            return 1.0;
        }
        let e = (r + x) * ((alpha + t) / (alpha + tx)).ln() + (a / (b + x - 1.0)).ln();
        logistic(-e)
    }

    /// E[X(T, T+h] | x, tₓ, T] (eq. 10), cancellation-free near a = 1 and overflow-free for
    /// large x (clv.md §5.2–5.3).
    pub fn expected_purchases(&self, h: f64, x: f64, tx: f64, t: f64) -> f64 {
        if h <= 0.0 {
            return 0.0;
        }
        self.expected_purchases_if_alive(h, x, t) * self.p_alive(x, tx, t)
    }

    /// E[X(T, T+h] | alive at T, x, T]: eq. 10 without the P(alive) factor.
    pub(crate) fn expected_purchases_if_alive(&self, h: f64, x: f64, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        if h <= 0.0 {
            return 0.0;
        }
        let c = a + b + x - 1.0;
        let ln_1mz = -(h / (alpha + t)).ln_1p();
        let z = h / (alpha + t + h);
        c * bg_bracket(a, a + b - r - 1.0, c, [r + x, b + x], z, ln_1mz)
    }

    /// E[X(t)] for a new customer (eq. 9).
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        self.expected_purchases(t, 0.0, 0.0, 0.0)
    }

    /// P(X(t) = n) for a new customer (eq. 8).
    pub fn prob_purchases(&self, n: u32, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let n = f64::from(n);
        let ln_q = (alpha / (alpha + t)).ln();
        let z = t / (alpha + t);
        let nb = if n == 0.0 {
            r * ln_q
        } else {
            ln_gamma(r + n) - ln_gamma(r) - ln_gamma(n + 1.0) + r * ln_q + n * z.ln()
        };
        let first = (ln_beta(a, b + n) - ln_beta(a, b) + nb).exp();
        if n == 0.0 {
            return first;
        }
        let tail = checked_beta_reg(n, r, z).unwrap_or(f64::NAN);
        first + (ln_beta(a + 1.0, b + n - 1.0) - ln_beta(a, b)).exp() * tail
    }
}

/// Mean T per (repeat purchase + 1): a start value for α that follows the time unit.
pub(crate) fn mean_time_per_purchase(c: &CalibrationData) -> f64 {
    let w = c.total_weight();
    let mt: f64 = c
        .age()
        .iter()
        .zip(c.weights())
        .map(|(t, w)| t * w)
        .sum::<f64>()
        / w;
    let mx: f64 = c
        .frequency()
        .iter()
        .zip(c.weights())
        .map(|(x, w)| x * w)
        .sum::<f64>()
        / w;
    let s = mt / (mx + 0.1);
    if s.is_finite() && s > 0.0 { s } else { 1.0 }
}

impl Mle for BgNbd {
    const NAME: &'static str = "bg_nbd";
    const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];
    const ANALYTIC: bool = true;

    fn from_slice(p: &[f64]) -> Result<Self> {
        BgNbd::new(p[0], p[1], p[2], p[3])
    }

    fn row_ll(&self, x: f64, tx: f64, t: f64) -> f64 {
        self.row_grad_impl(x, tx, t, false).0
    }

    fn row_grad(&self, x: f64, tx: f64, t: f64) -> (f64, [f64; MAXP]) {
        self.row_grad_impl(x, tx, t, true)
    }

    /// Same sums as `row_grad_impl`, with the lnΓ/ψ terms (functions of x only) computed once
    /// per run of equal x (compressed rows are sorted by x) and the row loop left with two
    /// logs, one exp and one log1p. `BgNbd::indexed_sum` gives the same values bit for bit.
    fn sum_rows(&self, rows: Rows<'_>, range: std::ops::Range<usize>, grad: bool) -> [f64; 5] {
        let k = self.eval_consts(grad);
        let mut acc = [0.0; 5];
        let mut cur_x = f64::NAN;
        let mut xt = XTerms::default();
        for i in range {
            let (x, tx, t, w) = (rows.a[i], rows.b[i], rows.c[i], rows.w[i]);
            if x != cur_x {
                cur_x = x;
                xt = self.x_terms(&k, x, grad);
            }
            let (ltx, lt) = (self.time_terms(tx, grad), self.time_terms(t, grad));
            if grad {
                self.add_row::<true>(&mut acc, w, x, &xt, ltx, lt);
            } else {
                self.add_row::<false>(&mut acc, w, x, &xt, ltx, lt);
            }
        }
        acc
    }
}

/// Per-evaluation constants of the BG/NBD sums.
struct EvalConsts {
    ln_alpha: f64,
    ln_a: f64,
    base: f64,
    psi_r: f64,
    psi_ab: f64,
    psi_b: f64,
}

/// Per-x constants of a BG/NBD row: LL part, ln(a/(b+x−1)) (0 for x = 0), ∂r, ∂a, ∂b parts.
#[derive(Debug, Clone, Copy, Default)]
struct XTerms {
    ll: f64,
    big_b: f64,
    dr: f64,
    da: f64,
    db: f64,
}

impl BgNbd {
    fn eval_consts(&self, grad: bool) -> EvalConsts {
        let BgNbd { r, alpha, a, b } = *self;
        let (ln_alpha, ln_a) = (alpha.ln(), a.ln());
        let base = -ln_gamma(r) + r * ln_alpha - ln_beta(a, b);
        let (psi_r, psi_ab, psi_b) = if grad {
            (digamma(r), digamma(a + b), digamma(b))
        } else {
            (0.0, 0.0, 0.0)
        };
        EvalConsts {
            ln_alpha,
            ln_a,
            base,
            psi_r,
            psi_ab,
            psi_b,
        }
    }

    fn x_terms(&self, k: &EvalConsts, x: f64, grad: bool) -> XTerms {
        let BgNbd { r, a, b, .. } = *self;
        let mut xt = XTerms {
            ll: ln_gamma(r + x) + ln_beta(a, b + x) + k.base,
            big_b: if x > 0.0 {
                k.ln_a - (b + x - 1.0).ln()
            } else {
                0.0
            },
            ..XTerms::default()
        };
        if grad {
            let psi_abx = digamma(a + b + x);
            xt.dr = digamma(r + x) - k.psi_r + k.ln_alpha;
            xt.da = k.psi_ab - psi_abx;
            xt.db = digamma(b + x) - psi_abx - k.psi_b + k.psi_ab;
        }
        xt
    }

    /// (ln(α+τ), 1/(α+τ)) for a time τ (tₓ or T); the reciprocal only with `grad`.
    fn time_terms(&self, tau: f64, grad: bool) -> (f64, f64) {
        let s = self.alpha + tau;
        (s.ln(), if grad { 1.0 / s } else { 0.0 })
    }

    /// Adds one row's weighted LL (and with `GRAD` its gradient) from its precomputed terms.
    #[inline(always)]
    fn add_row<const GRAD: bool>(
        &self,
        acc: &mut [f64; 5],
        w: f64,
        x: f64,
        xt: &XTerms,
        (l_tx, i_tx): (f64, f64),
        (l_t, i_t): (f64, f64),
    ) {
        let BgNbd { r, alpha, a, b } = *self;
        let l_ratio = l_tx - l_t;
        let big_a = (r + x) * l_ratio;
        let big_b = xt.big_b;
        // ln D = ln(e^A + e^B) (B absent for x = 0) and the weights e^A/D, e^B/D.
        let (ln_d, w_a, w_b) = if x > 0.0 {
            let d = big_a - big_b;
            let e = (-d.abs()).exp();
            let (hi, lo) = (1.0 / (1.0 + e), e / (1.0 + e));
            let (w_a, w_b) = if d >= 0.0 { (hi, lo) } else { (lo, hi) };
            (big_a.max(big_b) + e.ln_1p(), w_a, w_b)
        } else {
            (big_a, 1.0, 0.0)
        };
        acc[0] += w * (xt.ll - (r + x) * l_tx + ln_d);
        if GRAD {
            acc[1] += w * (xt.dr - l_tx + w_a * l_ratio);
            acc[2] += w * (r / alpha - (r + x) * i_tx + w_a * (r + x) * (i_tx - i_t));
            acc[3] += w * (xt.da + w_b / a);
            acc[4] += w * (xt.db - if x > 0.0 { w_b / (b + x - 1.0) } else { 0.0 });
        }
    }
}

/// BG/NBD sums over a [`RowIndex`]: an evaluation computes the x, tₓ and T terms once per
/// distinct value, in parallel for long lists, then sums the rows in `fit::chunked_sum`'s fixed
/// chunks, each row only combining its table entries (one exp and one log1p). Same values as
/// `sum_rows` bit for bit, for any number of threads.
impl BgNbd {
    /// `[LL, ∂LL/∂(r, α, a, b)]` (gradient only with `grad`) over `rows`, the rows `index` was
    /// built from.
    fn indexed_sum(&self, index: &RowIndex, rows: Rows<'_>, grad: bool) -> [f64; 5] {
        let m = self;
        let k = m.eval_consts(grad);
        let xt = fit::table(&index.xs, |&x| m.x_terms(&k, x, grad));
        let ltx = fit::table(&index.txs, |&tx| m.time_terms(tx, grad));
        let lt = fit::table(&index.ts, |&t| m.time_terms(t, grad));
        let tables = (&xt[..], &ltx[..], &lt[..]);
        if grad {
            fit::chunked_sum(rows.a.len(), |range| {
                m.indexed_range::<true>(index, rows, tables, range)
            })
        } else {
            fit::chunked_sum(rows.a.len(), |range| {
                m.indexed_range::<false>(index, rows, tables, range)
            })
        }
    }

    /// Weighted sums over `rows[range]` from the per-evaluation tables (x terms, tₓ terms, T
    /// terms).
    #[allow(clippy::type_complexity)]
    fn indexed_range<const GRAD: bool>(
        &self,
        index: &RowIndex,
        rows: Rows<'_>,
        (xt, ltx, lt): (&[XTerms], &[(f64, f64)], &[(f64, f64)]),
        range: std::ops::Range<usize>,
    ) -> [f64; 5] {
        let mut acc = [0.0; 5];
        for i in range {
            let [xi, txi, ti] = index.rows[i];
            self.add_row::<GRAD>(
                &mut acc,
                rows.w[i],
                rows.a[i],
                &xt[xi as usize],
                ltx[txi as usize],
                lt[ti as usize],
            );
        }
        acc
    }
}

impl BgNbd {
    fn row_grad_impl(&self, x: f64, tx: f64, t: f64, grad: bool) -> (f64, [f64; MAXP]) {
        let BgNbd { r, alpha, a, b } = *self;
        let l_ratio = (alpha + tx).ln() - (alpha + t).ln();
        let big_a = (r + x) * l_ratio;
        let (ln_d, w_a, w_b) = if x > 0.0 {
            let big_b = a.ln() - (b + x - 1.0).ln();
            let ln_d = log_add_exp(big_a, big_b);
            (ln_d, (big_a - ln_d).exp(), (big_b - ln_d).exp())
        } else {
            (big_a, 1.0, 0.0)
        };
        let ll = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_beta(a, b + x)
            - ln_beta(a, b)
            - (r + x) * (alpha + tx).ln()
            + ln_d;
        if !grad {
            return (ll, [0.0; MAXP]);
        }
        let dr = digamma(r + x) - digamma(r) + alpha.ln() - (alpha + tx).ln() + w_a * l_ratio;
        let dalpha = r / alpha - (r + x) / (alpha + tx)
            + w_a * (r + x) * (1.0 / (alpha + tx) - 1.0 / (alpha + t));
        let (dab, dabx) = (digamma(a + b), digamma(a + b + x));
        let da = dab - dabx + w_b / a;
        let db = digamma(b + x) - dabx - digamma(b) + dab
            - if x > 0.0 { w_b / (b + x - 1.0) } else { 0.0 };
        (ll, [dr, dalpha, da, db])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> BgNbd {
        BgNbd::new(0.242593, 4.413532, 0.792886, 2.425752).unwrap()
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let m = model();
        for &(x, tx, t) in &[(0.0, 0.0, 38.0), (2.0, 30.43, 38.86), (40.0, 35.0, 39.0)] {
            let g = m.row_grad(x, tx, t).1;
            let p = m.params();
            for i in 0..4 {
                let h = 1e-6 * p[i];
                let mut up = p;
                up[i] += h;
                let mut dn = p;
                dn[i] -= h;
                let fd = (BgNbd::from_slice(&up).unwrap().row_ll(x, tx, t)
                    - BgNbd::from_slice(&dn).unwrap().row_ll(x, tx, t))
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() < 1e-6 * (1.0 + g[i].abs()),
                    "{i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn batched_sums_equal_row_sums() {
        let m = model();
        let (x, tx, t) = (
            vec![0.0, 0.0, 1.0, 1.0, 2.0, 7.0, 40.0],
            vec![0.0, 0.0, 3.5, 20.0, 30.43, 35.0, 38.0],
            vec![30.0, 38.0, 38.0, 38.5, 38.86, 39.0, 39.0],
        );
        let w = vec![3.0, 1.0, 2.0, 1.0, 1.0, 4.0, 1.0];
        let rows = Rows {
            a: &x,
            b: &tx,
            c: &t,
            w: &w,
        };
        let got = m.sum_rows(rows, 0..x.len(), true);
        let want = crate::fit::row_sums(&m, rows);
        for k in 0..5 {
            assert!(
                (got[k] - want[k]).abs() < 1e-12 * (1.0 + want[k].abs()),
                "{k}: {got:?} vs {want:?}"
            );
        }
        assert!((m.sum_rows(rows, 0..x.len(), false)[0] - want[0]).abs() < 1e-12 * want[0].abs());
    }

    #[test]
    fn indexed_sums_equal_batched_sums_bitwise() {
        let n = 20_000;
        let [x, tx, t, w] = fit::repeated_rows(n);
        let rows = Rows {
            a: &x,
            b: &tx,
            c: &t,
            w: &w,
        };
        let index = RowIndex::new(rows);
        for m in [model(), BgNbd::new(2.5, 0.7, 3.1, 0.4).unwrap()] {
            for grad in [false, true] {
                let want = fit::chunked_sum(n, |range| m.sum_rows(rows, range, grad));
                assert_eq!(m.indexed_sum(&index, rows, grad), want);
            }
        }
    }

    #[test]
    fn expectation_is_smooth_through_a_equal_one() {
        let at = |a: f64| {
            BgNbd::new(0.24, 4.4, a, 2.4)
                .unwrap()
                .expected_purchases(39.0, 2.0, 30.43, 38.86)
        };
        let (lo, mid, hi) = (at(1.0 - 1e-9), at(1.0), at(1.0 + 1e-9));
        assert!(mid.is_finite() && mid > 0.0);
        assert!((lo - mid).abs() < 1e-8 * mid && (hi - mid).abs() < 1e-8 * mid);
    }

    #[test]
    fn expectation_is_finite_when_a_and_b_run_off_together() {
        let at = |k: f64, x: f64| {
            BgNbd::new(0.9958, 8.654, 1.295e6 * k, 1.250e7 * k)
                .unwrap()
                .expected_purchases(52.2, x, 3.43 * x.min(1.0), 4.57)
        };
        for x in [0.0, 1.0, 30.0] {
            let (v, w) = (at(1.0, x), at(10.0, x));
            assert!(v.is_finite() && v > 0.0, "{x}: {v}");
            assert!((v / w - 1.0).abs() < 1e-5, "{x}: {v} vs {w}");
        }
    }

    #[test]
    fn pmf_sums_to_one() {
        let m = model();
        let s: f64 = (0..400).map(|n| m.prob_purchases(n, 39.0)).sum();
        assert!((s - 1.0).abs() < 1e-9, "{s}");
    }
}
