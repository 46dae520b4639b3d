//! MBG/NBD (Batislam, Denizel & Filiztekin 2007): the BG/NBD with a dropout chance also at
//! time 0, so P(alive) < 1 even without repeat purchases.

use serde::Serialize;
use statrs::function::beta::checked_beta_reg;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::bgnbd::mean_time_per_purchase;
use crate::data::CalibrationData;
use crate::error::{Result, positive};
use crate::fit::{self, FitOptions, Fitted, MAXP, Mle, RowIndex, Rows};
use crate::hyp2f1::bg_bracket;
use crate::special::{ln_beta, logistic, softplus, softplus_logistic};

/// MBG/NBD parameters (r, α, a, b), same meaning as BG/NBD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MbgNbd {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
}

deserialize_via_new!(MbgNbd { r, alpha, a, b });

impl MbgNbd {
    /// Validated parameters (all finite and > 0).
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
        Ok(MbgNbd {
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
    pub fn fit(data: &CalibrationData, opts: &FitOptions) -> Result<Fitted<MbgNbd>> {
        fit::check_transaction_data::<MbgNbd>(data, opts)?;
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
        fit::fit_mle_with(rows, opts, starts, &|m: &MbgNbd, grad| {
            m.indexed_sum(&index, rows, grad)
        })
    }

    /// Log-likelihood of one customer.
    pub fn row_log_likelihood(&self, x: f64, tx: f64, t: f64) -> f64 {
        self.row_ll(x, tx, t)
    }

    /// Total log-likelihood (weighted sum over rows).
    pub fn log_likelihood(&self, data: &CalibrationData) -> f64 {
        let rows = Rows {
            a: data.frequency(),
            b: data.recency(),
            c: data.age(),
            w: data.weights(),
        };
        fit::total_ll(self, rows)
    }

    fn alive_logit(&self, x: f64, tx: f64, t: f64) -> f64 {
        let MbgNbd { r, alpha, a, b } = *self;
        a.ln() - (b + x).ln() + (r + x) * ((alpha + t).ln() - (alpha + tx).ln())
    }

    /// P(alive at T | x, tₓ, T) (Batislam et al. appendix A eq. 5).
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        logistic(-self.alive_logit(x, tx, t))
    }

    /// E[X(T, T+h] | x, tₓ, T], in the cancellation-free form (clv.md §5.3).
    pub fn expected_purchases(&self, h: f64, x: f64, tx: f64, t: f64) -> f64 {
        if h <= 0.0 {
            return 0.0;
        }
        self.expected_purchases_if_alive(h, x, t) * self.p_alive(x, tx, t)
    }

    /// E[X(T, T+h] | alive at T, x, T]: the expectation without the P(alive) factor (h > 0).
    pub(crate) fn expected_purchases_if_alive(&self, h: f64, x: f64, t: f64) -> f64 {
        let MbgNbd { r, alpha, a, b } = *self;
        let c = a + b + x;
        let ln_1mz = -(h / (alpha + t)).ln_1p();
        let z = h / (alpha + t + h);
        c * bg_bracket(a, a + b - r, c, [r + x, b + x + 1.0], z, ln_1mz)
    }

    /// E[X(t)] for a new customer: b/(a−1)·[1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))].
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        self.expected_purchases(t, 0.0, 0.0, 0.0)
    }

    /// P(X(t) = n) for a new customer (lifetimes `probability_of_n_purchases_up_to_time`).
    pub fn prob_purchases(&self, n: u32, t: f64) -> f64 {
        let MbgNbd { r, alpha, a, b } = *self;
        let n = f64::from(n);
        let ln_q = (alpha / (alpha + t)).ln();
        let z = t / (alpha + t);
        let nb = if n == 0.0 {
            r * ln_q
        } else {
            ln_gamma(r + n) - ln_gamma(r) - ln_gamma(n + 1.0) + r * ln_q + n * z.ln()
        };
        let first = (ln_beta(a, b + n + 1.0) - ln_beta(a, b) + nb).exp();
        let tail = if n == 0.0 {
            1.0
        } else {
            checked_beta_reg(n, r, z).unwrap_or(f64::NAN)
        };
        first + (ln_beta(a + 1.0, b + n) - ln_beta(a, b)).exp() * tail
    }
}

impl Mle for MbgNbd {
    const NAME: &'static str = "mbg_nbd";
    const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];
    const ANALYTIC: bool = true;

    fn from_slice(p: &[f64]) -> Result<Self> {
        MbgNbd::new(p[0], p[1], p[2], p[3])
    }

    fn row_ll(&self, x: f64, tx: f64, t: f64) -> f64 {
        let MbgNbd { r, alpha, a, b } = *self;
        ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x + 1.0)
            - ln_gamma(b)
            - ln_gamma(a + b + x + 1.0)
            - (r + x) * (alpha + t).ln()
            + softplus(self.alive_logit(x, tx, t))
    }

    fn row_grad(&self, x: f64, tx: f64, t: f64) -> (f64, [f64; MAXP]) {
        let MbgNbd { r, alpha, a, b } = *self;
        let sig = logistic(self.alive_logit(x, tx, t));
        let l_ratio = (alpha + t).ln() - (alpha + tx).ln();
        let dr = digamma(r + x) - digamma(r) + alpha.ln() - (alpha + t).ln() + sig * l_ratio;
        let dalpha = r / alpha - (r + x) / (alpha + t)
            + sig * (r + x) * (1.0 / (alpha + t) - 1.0 / (alpha + tx));
        let (dab, dabx) = (digamma(a + b), digamma(a + b + x + 1.0));
        let da = dab - dabx + sig / a;
        let db = dab + digamma(b + x + 1.0) - digamma(b) - dabx - sig / (b + x);
        (self.row_ll(x, tx, t), [dr, dalpha, da, db])
    }

    /// Same sums as `row_ll`/`row_grad`, with the lnΓ/ψ terms (functions of x only) computed
    /// once per run of equal x (compressed rows are sorted by x). The lnΓ/ψ differences are
    /// taken as sums ([`rising`]), which stay exact when a and b run off to 1e6 together. A
    /// fit sums through [`MbgNbd::indexed_sum`] instead: the same values bit for bit.
    fn sum_rows(&self, rows: Rows<'_>, range: std::ops::Range<usize>, grad: bool) -> [f64; 5] {
        let k = self.eval_consts();
        let mut acc = [0.0; 5];
        let mut cur_x = f64::NAN;
        let mut xt = [0.0; 5];
        for i in range {
            let (x, tx, t, w) = (rows.a[i], rows.b[i], rows.c[i], rows.w[i]);
            if x != cur_x {
                cur_x = x;
                xt = self.x_terms(x, grad);
            }
            let (ltx, lt) = (self.time_terms(tx, grad), self.time_terms(t, grad));
            if grad {
                self.add_row::<true>(&mut acc, &k, w, x, &xt, ltx, lt);
            } else {
                self.add_row::<false>(&mut acc, &k, w, x, &xt, ltx, lt);
            }
        }
        acc
    }
}

/// Per-evaluation constants of the MBG/NBD sums: ln α, ln a, r ln α.
struct EvalConsts {
    ln_alpha: f64,
    ln_a: f64,
    r_ln_alpha: f64,
}

/// MBG/NBD sums over a [`RowIndex`]: the x terms (three lnΓ/ψ sums and a log), the tₓ and T
/// terms (a log and a reciprocal) once per distinct value, the rows left with one exp and one
/// log1p where they had three logs and two exps: at 1.8M customers (832k distinct rows) the
/// fit was the largest part of the CLV step.
impl MbgNbd {
    fn eval_consts(&self) -> EvalConsts {
        let (ln_alpha, ln_a) = (self.alpha.ln(), self.a.ln());
        EvalConsts {
            ln_alpha,
            ln_a,
            r_ln_alpha: self.r * ln_alpha,
        }
    }

    /// LL part, ln(b+x), ψ(r+x)−ψ(r), ψ(a+b+x+1)−ψ(a+b), ψ(b+x+1)−ψ(b) (ψ only with `grad`).
    fn x_terms(&self, x: f64, grad: bool) -> [f64; 5] {
        let MbgNbd { r, a, b, .. } = *self;
        let (lr, pr) = rising(r, x, grad);
        let (lab, pab) = rising(a + b, x + 1.0, grad);
        let (lb, pb) = rising(b, x + 1.0, grad);
        [lr + lb - lab, (b + x).ln(), pr, pab, pb]
    }

    /// (ln(α+τ), α+τ, 1/(α+τ)) for a time τ (tₓ or T); the reciprocal only with `grad`.
    fn time_terms(&self, tau: f64, grad: bool) -> [f64; 3] {
        let s = self.alpha + tau;
        [s.ln(), s, if grad { 1.0 / s } else { 0.0 }]
    }

    /// Adds one row's weighted LL (and with `GRAD` its gradient) from its terms.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn add_row<const GRAD: bool>(
        &self,
        acc: &mut [f64; 5],
        k: &EvalConsts,
        w: f64,
        x: f64,
        xt: &[f64; 5],
        [ltx, _, inv_tx]: [f64; 3],
        [lt, s_t, inv_t]: [f64; 3],
    ) {
        let MbgNbd { r, alpha, a, b } = *self;
        let l_ratio = lt - ltx;
        let logit = k.ln_a - xt[1] + (r + x) * l_ratio;
        if GRAD {
            let (alive, sig) = softplus_logistic(logit);
            acc[0] += w * (xt[0] + k.r_ln_alpha - (r + x) * lt + alive);
            acc[1] += w * (xt[2] + k.ln_alpha - lt + sig * l_ratio);
            acc[2] += w * (r / alpha - (r + x) / s_t + sig * (r + x) * (inv_t - inv_tx));
            acc[3] += w * (sig / a - xt[3]);
            acc[4] += w * (xt[4] - xt[3] - sig / (b + x));
        } else {
            acc[0] += w * (xt[0] + k.r_ln_alpha - (r + x) * lt + softplus(logit));
        }
    }

    /// `[LL, ∂LL/∂(r, α, a, b)]` (gradient only with `grad`) over `rows`, the rows `index` was
    /// built from, in `fit::chunked_sum`'s fixed chunks: the same for any number of threads.
    fn indexed_sum(&self, index: &RowIndex, rows: Rows<'_>, grad: bool) -> [f64; 5] {
        let k = self.eval_consts();
        let xt = fit::table(&index.xs, |&x| self.x_terms(x, grad));
        let ltx = fit::table(&index.txs, |&tx| self.time_terms(tx, grad));
        let lt = fit::table(&index.ts, |&t| self.time_terms(t, grad));
        let range_sum = |range: std::ops::Range<usize>| {
            let mut acc = [0.0; 5];
            for i in range {
                let [xi, txi, ti] = index.rows[i];
                let terms = (&xt[xi as usize], ltx[txi as usize], lt[ti as usize]);
                if grad {
                    self.add_row::<true>(
                        &mut acc, &k, rows.w[i], rows.a[i], terms.0, terms.1, terms.2,
                    );
                } else {
                    self.add_row::<false>(
                        &mut acc, &k, rows.w[i], rows.a[i], terms.0, terms.1, terms.2,
                    );
                }
            }
            acc
        };
        fit::chunked_sum(rows.a.len(), range_sum)
    }
}

/// lnΓ(z+n) − lnΓ(z) and (with `grad`) ψ(z+n) − ψ(z): for a whole n up to 10,000 as the sums
/// Σ ln(z+k) and Σ 1/(z+k), k < n, which do not lose the difference between two lnΓ of 1e8
/// when z is large; else by the functions themselves.
fn rising(z: f64, n: f64, grad: bool) -> (f64, f64) {
    if (0.0..=10_000.0).contains(&n) && n.fract() == 0.0 {
        let (mut l, mut p) = (0.0, 0.0);
        for k in 0..n as u32 {
            let v = z + f64::from(k);
            l += v.ln();
            if grad {
                p += 1.0 / v;
            }
        }
        (l, p)
    } else {
        let p = if grad {
            digamma(z + n) - digamma(z)
        } else {
            0.0
        };
        (ln_gamma(z + n) - ln_gamma(z), p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fit's sums through the row index are the row-by-row sums, to the bit, with and
    /// without the gradient (several chunks, the parallel path, repeated x, tₓ and T).
    #[test]
    fn indexed_sums_equal_row_sums_bitwise() {
        let n = 20_000;
        let [x, tx, t, w] = fit::repeated_rows(n);
        let rows = Rows {
            a: &x,
            b: &tx,
            c: &t,
            w: &w,
        };
        let index = RowIndex::new(rows);
        let models = [
            MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap(),
            MbgNbd::new(2.5, 0.7, 3.1, 0.4).unwrap(),
            MbgNbd::new(1.3, 11.9, 1e6, 7e6).unwrap(),
        ];
        for m in models {
            for grad in [false, true] {
                let want = fit::chunked_sum(n, |range| m.sum_rows(rows, range, grad));
                let got = m.indexed_sum(&index, rows, grad);
                let bits = |v: [f64; 5]| v.map(f64::to_bits);
                assert_eq!(bits(got), bits(want), "{m:?} grad {grad}");
            }
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let m = MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
        for &(x, tx, t) in &[(0.0, 0.0, 38.0), (2.0, 30.43, 38.86), (40.0, 35.0, 39.0)] {
            let g = m.row_grad(x, tx, t).1;
            let p = m.params();
            for i in 0..4 {
                let h = 1e-6 * p[i];
                let (mut up, mut dn) = (p, p);
                up[i] += h;
                dn[i] -= h;
                let fd = (MbgNbd::from_slice(&up).unwrap().row_ll(x, tx, t)
                    - MbgNbd::from_slice(&dn).unwrap().row_ll(x, tx, t))
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
    fn hoisted_sums_equal_the_row_sums() {
        let m = MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
        let (x, tx, t, w) = (
            [0.0, 0.0, 1.0, 1.0, 2.0, 7.0, 40.0],
            [0.0, 0.0, 3.5, 20.0, 30.43, 31.0, 35.0],
            [38.0, 20.0, 38.0, 39.0, 38.86, 39.0, 39.0],
            [3.0, 1.0, 2.0, 1.0, 1.0, 4.0, 1.0],
        );
        let rows = Rows {
            a: &x,
            b: &tx,
            c: &t,
            w: &w,
        };
        for grad in [false, true] {
            let got = m.sum_rows(rows, 0..x.len(), grad);
            let want = fit::row_sums(&m, rows);
            let n = if grad { 5 } else { 1 };
            for k in 0..n {
                assert!(
                    (got[k] - want[k]).abs() < 1e-10 * (1.0 + want[k].abs()),
                    "{grad} {k}: {} vs {}",
                    got[k],
                    want[k]
                );
            }
        }
    }

    #[test]
    fn expectation_is_finite_when_a_and_b_run_off_together() {
        // A fit on three months of a shop: a and b near 1e6, their ratio (the drop-out
        // probability) pinned down. The bracket's direct series gave NaN for every customer.
        let at = |k: f64, x: f64| {
            MbgNbd::new(0.9958, 8.654, 1.295e6 * k, 1.250e7 * k)
                .unwrap()
                .expected_purchases(52.2, x, 3.43 * x.min(1.0), 4.57)
        };
        for x in [0.0, 1.0, 30.0] {
            let (v, w) = (at(1.0, x), at(10.0, x));
            assert!(v.is_finite() && v > 0.0, "{x}: {v}");
            // the limit a, b → ∞ with a/(a+b) fixed is a model too: the values converge to it
            assert!((v / w - 1.0).abs() < 1e-5, "{x}: {v} vs {w}");
        }
    }

    #[test]
    fn pmf_sums_to_one() {
        let m = MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
        let s: f64 = (0..400).map(|n| m.prob_purchases(n, 39.0)).sum();
        assert!((s - 1.0).abs() < 1e-9, "{s}");
    }
}
