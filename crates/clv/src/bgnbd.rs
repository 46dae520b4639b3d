//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): Poisson purchases
//! at rate λ ~ Gamma(r, α) while alive; after each repeat purchase the customer drops out with
//! probability p ~ Beta(a, b).

use serde::Serialize;
use statrs::function::beta::checked_beta_reg;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::data::CalibrationData;
use crate::error::{Result, positive};
use crate::fit::{self, FitOptions, Fitted, MAXP, Mle, Rows};
use crate::hyp2f1::bg_bracket;
use crate::special::{ln_beta, log_add_exp, logistic};

/// BG/NBD parameters (r, α: purchase-rate Gamma; a, b: dropout Beta), α in model time units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgNbd {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
}

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
        fit::fit_mle(rows, opts, starts)
    }

    /// Log-likelihood of one customer (FHL 2005 §7, the log-sum-exp form of note 027).
    pub fn row_log_likelihood(&self, x: f64, tx: f64, t: f64) -> f64 {
        self.row_ll(x, tx, t)
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
        let BgNbd { r, alpha, a, b } = *self;
        if h <= 0.0 {
            return 0.0;
        }
        let c = a + b + x - 1.0;
        let ln_1mz = -(h / (alpha + t)).ln_1p();
        let z = h / (alpha + t + h);
        c * bg_bracket(a, a + b - r - 1.0, c, z, ln_1mz) * self.p_alive(x, tx, t)
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
    fn pmf_sums_to_one() {
        let m = model();
        let s: f64 = (0..400).map(|n| m.prob_purchases(n, 39.0)).sum();
        assert!((s - 1.0).abs() < 1e-9, "{s}");
    }
}
