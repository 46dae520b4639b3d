//! BG/BB (Fader, Hardie & Shang 2010) for discrete transaction opportunities: at each
//! opportunity a live customer buys with probability p ~ Beta(α, β) and then dies with
//! probability θ ~ Beta(γ, δ). Data: x purchases, tₓ = opportunity of the last one, n
//! opportunities (the `T` column), all whole numbers.

use serde::Serialize;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::data::CalibrationData;
use crate::error::{Result, positive};
use crate::fit::{self, FitOptions, Fitted, MAXP, Mle, Rows};
use crate::special::ln_beta;

/// BG/BB parameters (α, β: purchase Beta; γ, δ: dropout Beta).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BgBb {
    alpha: f64,
    beta: f64,
    gamma: f64,
    delta: f64,
}

deserialize_via_new!(BgBb {
    alpha,
    beta,
    gamma,
    delta
});

impl BgBb {
    /// Validated parameters (all finite and > 0).
    pub fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> Result<Self> {
        Ok(BgBb {
            alpha: positive("alpha", alpha)?,
            beta: positive("beta", beta)?,
            gamma: positive("gamma", gamma)?,
            delta: positive("delta", delta)?,
        })
    }

    /// Parameters as `[alpha, beta, gamma, delta]`.
    pub fn params(&self) -> [f64; 4] {
        [self.alpha, self.beta, self.gamma, self.delta]
    }

    /// Fits by maximum likelihood (BFGS, analytic gradient). The data must follow the
    /// discrete rules ([`CalibrationData::check_discrete`]).
    pub fn fit(data: &CalibrationData, opts: &FitOptions) -> Result<Fitted<BgBb>> {
        data.check_discrete()?;
        fit::check_transaction_data::<BgBb>(data, opts)?;
        let c = data.compress();
        let rows = Rows {
            a: c.frequency(),
            b: c.recency(),
            c: c.age(),
            w: c.weights(),
        };
        let starts = vec![
            vec![1.0, 1.0, 1.0, 1.0],
            vec![0.5, 2.0, 0.5, 3.0],
            vec![2.0, 1.0, 2.0, 8.0],
        ];
        fit::fit_mle(rows, opts, starts)
    }

    /// Log-likelihood of one (x, tₓ, n) pattern (FHS 2010 eq. 5).
    pub fn row_log_likelihood(&self, x: f64, tx: f64, n: f64) -> f64 {
        self.row_ll(x, tx, n)
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

    /// P(alive at opportunity n + m | x, tₓ, n) (FHS 2010 eq. A10, lifetimes semantics).
    pub fn p_alive_at(&self, m: f64, x: f64, tx: f64, n: f64) -> f64 {
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        (ln_beta(alpha + x, beta + n - x) - ln_beta(alpha, beta) + ln_beta(gamma, delta + n + m)
            - ln_beta(gamma, delta)
            - self.row_ll(x, tx, n))
        .exp()
    }

    /// P(alive at n | x, tₓ, n).
    pub fn p_alive(&self, x: f64, tx: f64, n: f64) -> f64 {
        self.p_alive_at(0.0, x, tx, n)
    }

    /// E[X(n, n+m) | x, tₓ, n] (FHS 2010 eq. 13), finite at γ = 1.
    pub fn expected_purchases(&self, m: f64, x: f64, tx: f64, n: f64) -> f64 {
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        if m <= 0.0 {
            return 0.0;
        }
        let d = |k: f64| ln_gamma(1.0 + delta + k) - ln_gamma(gamma + delta + k);
        let eps = gamma - 1.0;
        // ratio = [e^d(n) − e^d(n+m)] / ((γ−1) e^d(n)). For whole m, d(n+m) − d(n) =
        // −Σ ln1p(ε/(1+δ+n+k)) is summed directly: no cancellation near γ = 1.
        let ratio = if m.fract() == 0.0 && m <= 1e5 {
            let mut over_eps = 0.0; // Δ/ε
            for k in 0..m as u64 {
                let u = 1.0 + delta + n + k as f64;
                over_eps -= if eps == 0.0 {
                    1.0 / u
                } else {
                    (eps / u).ln_1p() / eps
                };
            }
            let big_d = over_eps * eps;
            let em1_over = if big_d == 0.0 {
                1.0
            } else {
                big_d.exp_m1() / big_d
            };
            -em1_over * over_eps
        } else if eps == 0.0 {
            digamma(1.0 + delta + n + m) - digamma(1.0 + delta + n)
        } else {
            -(d(n + m) - d(n)).exp_m1() / eps
        };
        let ln = -self.row_ll(x, tx, n) + ln_beta(alpha + x + 1.0, beta + n - x)
            - ln_beta(alpha, beta)
            + delta.ln()
            + ln_gamma(gamma + delta)
            - ln_gamma(1.0 + delta)
            + d(n);
        ln.exp() * ratio
    }

    /// E[X(m)] for a new customer over m opportunities.
    pub fn expected_purchases_new(&self, m: f64) -> f64 {
        self.expected_purchases(m, 0.0, 0.0, 0.0)
    }

    /// P(X(n) = x) for a new customer over n opportunities (FHS 2010 eq. 7).
    pub fn prob_purchases(&self, x: u32, n: u32) -> f64 {
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        if x > n {
            return 0.0;
        }
        let (xf, nf) = (f64::from(x), f64::from(n));
        let ln_choose =
            |n: f64, k: f64| ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0);
        let (lab, lgd) = (ln_beta(alpha, beta), ln_beta(gamma, delta));
        let mut p = (ln_choose(nf, xf) + ln_beta(alpha + xf, beta + nf - xf) - lab
            + ln_beta(gamma, delta + nf)
            - lgd)
            .exp();
        for i in x..n {
            let i = f64::from(i);
            p += (ln_choose(i, xf) + ln_beta(alpha + xf, beta + i - xf) - lab
                + ln_beta(gamma + 1.0, delta + i)
                - lgd)
                .exp();
        }
        p
    }

    fn row_impl(&self, x: f64, tx: f64, n: f64, grad: bool) -> (f64, [f64; MAXP]) {
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (lab, lgd) = (ln_beta(alpha, beta), ln_beta(gamma, delta));
        // Terms: k = 0 alive through n; k = 1.. died after opportunity tₓ + i.
        let count = (n - tx).max(0.0) as usize;
        let mut logs = Vec::with_capacity(count + 1);
        logs.push(ln_beta(alpha + x, beta + n - x) - lab + ln_beta(gamma, delta + n) - lgd);
        for i in 0..count {
            let i = i as f64;
            logs.push(
                ln_beta(alpha + x, beta + tx - x + i) - lab + ln_beta(gamma + 1.0, delta + tx + i)
                    - lgd,
            );
        }
        let m = logs.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let s: f64 = logs.iter().map(|l| (l - m).exp()).sum();
        let ll = m + s.ln();
        if !grad {
            return (ll, [0.0; MAXP]);
        }
        let (pab, pgd) = (digamma(alpha + beta), digamma(gamma + delta));
        let base = [
            pab - digamma(alpha),
            pab - digamma(beta),
            pgd - digamma(gamma),
            pgd - digamma(delta),
        ];
        let pax = digamma(alpha + x);
        let mut g = [0.0; MAXP];
        for (k, l) in logs.iter().enumerate() {
            let w = (l - ll).exp();
            let d = if k == 0 {
                let pabn = digamma(alpha + beta + n);
                let pgdn = digamma(gamma + delta + n);
                [
                    pax - pabn,
                    digamma(beta + n - x) - pabn,
                    digamma(gamma) - pgdn,
                    digamma(delta + n) - pgdn,
                ]
            } else {
                let i = (k - 1) as f64;
                let pabi = digamma(alpha + beta + tx + i);
                let pgdi = digamma(gamma + delta + tx + i + 1.0);
                [
                    pax - pabi,
                    digamma(beta + tx - x + i) - pabi,
                    digamma(gamma + 1.0) - pgdi,
                    digamma(delta + tx + i) - pgdi,
                ]
            };
            for j in 0..MAXP {
                g[j] += w * (d[j] + base[j]);
            }
        }
        (ll, g)
    }
}

impl Mle for BgBb {
    const NAME: &'static str = "bg_bb";
    const NAMES: &'static [&'static str] = &["alpha", "beta", "gamma", "delta"];
    const ANALYTIC: bool = true;

    fn from_slice(p: &[f64]) -> Result<Self> {
        BgBb::new(p[0], p[1], p[2], p[3])
    }

    fn row_ll(&self, x: f64, tx: f64, n: f64) -> f64 {
        self.row_impl(x, tx, n, false).0
    }

    fn row_grad(&self, x: f64, tx: f64, n: f64) -> (f64, [f64; MAXP]) {
        self.row_impl(x, tx, n, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> BgBb {
        BgBb::new(1.20352, 0.74972, 0.65672, 2.78344).unwrap()
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let m = model();
        for &(x, tx, n) in &[(0.0, 0.0, 6.0), (2.0, 4.0, 6.0), (6.0, 6.0, 6.0)] {
            let g = m.row_grad(x, tx, n).1;
            let p = m.params();
            for i in 0..4 {
                let h = 1e-6 * p[i];
                let (mut up, mut dn) = (p, p);
                up[i] += h;
                dn[i] -= h;
                let fd = (BgBb::from_slice(&up).unwrap().row_ll(x, tx, n)
                    - BgBb::from_slice(&dn).unwrap().row_ll(x, tx, n))
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
    fn pmf_sums_to_one_and_matches_the_expectation() {
        let m = model();
        let p: Vec<f64> = (0..=6).map(|x| m.prob_purchases(x, 6)).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mean: f64 = p.iter().enumerate().map(|(x, p)| x as f64 * p).sum();
        assert!((mean - m.expected_purchases_new(6.0)).abs() < 1e-12);
    }

    #[test]
    fn expectation_is_finite_at_gamma_one() {
        let at = |g: f64| {
            BgBb::new(1.2, 0.75, g, 2.8)
                .unwrap()
                .expected_purchases(5.0, 2.0, 4.0, 6.0)
        };
        assert!((at(1.0) - at(1.0 + 1e-8)).abs() < 1e-7 * at(1.0));
    }
}
