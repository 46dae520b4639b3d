//! Small numeric helpers: log-Beta, log-sum-exp and the Tricomi function U(s, s; z).

use statrs::function::gamma::ln_gamma;

/// ln B(a, b) for a, b > 0 (no panics: parameters are validated by the callers).
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ln(e^a + e^b) without overflow.
pub(crate) fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// Logistic function 1/(1+e^(−x)), stable for large |x|.
pub(crate) fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// ln(1 + e^x), stable for large |x|.
pub(crate) fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// [`softplus`] and [`logistic`] of `x` from one exponential (both take e^(−|x|)): the same
/// values as the two functions, bit for bit.
pub(crate) fn softplus_logistic(x: f64) -> (f64, f64) {
    if x > 0.0 {
        let e = (-x).exp();
        (x + e.ln_1p(), 1.0 / (1.0 + e))
    } else {
        let e = x.exp();
        // x = ±0: e = 1, and `logistic` takes its first branch
        let sig = if x >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        };
        (e.ln_1p(), sig)
    }
}

/// Tricomi's confluent hypergeometric function U(s, s; z) for s > 0, z > 0, needed by the
/// Pareto/NBD DERT.
///
/// Uses the integral U(s, s; z) = 1/Γ(s) ∫₀^∞ e^(−zt) t^(s−1) / (1+t) dt with exp-sinh
/// (double-exponential) quadrature, t = exp(π/2·sinh u), which handles the t^(s−1) endpoint
/// singularity and the exponential tail; the step is halved until two levels agree to 1e-14.
pub fn tricomi_u_ss(s: f64, z: f64) -> f64 {
    if !(s > 0.0 && z > 0.0 && s.is_finite() && z.is_finite()) {
        return f64::NAN;
    }
    let half_pi = std::f64::consts::FRAC_PI_2;
    let log_g = |u: f64| {
        let ln_t = half_pi * u.sinh();
        let t = ln_t.exp();
        let ln_1pt = if ln_t > 36.0 { ln_t } else { t.ln_1p() };
        -z * t + s * ln_t - ln_1pt + (half_pi * u.cosh()).ln()
    };
    // Sum over a grid of step h with offset `off`, walking outwards until terms vanish.
    let grid_sum = |h: f64, off: f64| {
        let mut total = 0.0;
        for dir in [1.0, -1.0] {
            let mut k = if dir > 0.0 { 0.0 } else { 1.0 };
            loop {
                let u = dir * (k * h + if dir > 0.0 { off } else { -off });
                let g = log_g(u).exp();
                total += g;
                if (g <= 1e-18 * total && k * h > 1.0) || u.abs() > 12.0 {
                    break;
                }
                k += 1.0;
            }
        }
        total
    };
    let mut h = 0.5;
    let mut sum = grid_sum(h, 0.0);
    let mut integral = h * sum;
    for _ in 0..10 {
        // Halving the step: the new points are the midpoints of the old grid.
        sum += grid_sum(h, h / 2.0);
        h /= 2.0;
        let next = h * sum;
        let done = (next - integral).abs() <= 1e-14 * next.abs();
        integral = next;
        if done {
            break;
        }
    }
    (integral.ln() - ln_gamma(s)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_and_logistic_together_are_each_alone() {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300,
            -1e-300,
        ];
        xs.extend((-4000..=4000).map(|i| f64::from(i) * 0.0173));
        for x in xs {
            let (sp, sig) = softplus_logistic(x);
            assert_eq!(sp.to_bits(), softplus(x).to_bits(), "softplus({x})");
            assert_eq!(sig.to_bits(), logistic(x).to_bits(), "logistic({x})");
        }
    }

    #[test]
    fn tricomi_matches_scipy_hyperu() {
        // scipy.special.hyperu(s, s, z), scipy 1.10.1
        let cases = [
            (0.5, 1.0, 0.7578721561413122),
            (0.5, 0.01, 1.5889286263174072),
            (0.5, 30.0, 0.17967204003103004),
            (0.606, 0.05, 1.5601098301881318),
            (0.606, 1.5, 0.6079000514187228),
            (1.0, 1.0, 0.5963473623231941),
            (2.5, 0.3, 3.0219820691228505),
            (0.05, 0.02, 1.026424814173772),
            (5.0, 0.001, 249916708291.93076),
        ];
        for (s, z, e) in cases {
            let u = tricomi_u_ss(s, z);
            assert!((u / e - 1.0).abs() < 1e-12, "s={s} z={z}: {u} vs {e}");
        }
        assert!(tricomi_u_ss(0.0, 1.0).is_nan());
    }

    #[test]
    fn helpers_are_stable() {
        assert_eq!(log_add_exp(f64::NEG_INFINITY, 0.0), 0.0);
        assert!((log_add_exp(1000.0, 1000.0) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(logistic(-1000.0), 0.0);
        assert_eq!(logistic(1000.0), 1.0);
        assert!((softplus(800.0) - 800.0).abs() < 1e-12);
    }
}
