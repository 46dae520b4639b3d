//! Gauss hypergeometric function ₂F₁(a, b; c; z) for the region the BTYD models use
//! (c > 0, 0 ≤ z < 1), evaluated in log space so heavy buyers do not overflow.
//!
//! The Taylor series is summed either directly or after Euler's transformation
//! ₂F₁(a,b;c;z) = (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z), whichever has the smaller
//! "growth" |ab|/c. In BG/NBD eq. 10 the direct parameters grow with x while the Euler ones stay
//! small, which is what keeps x in the hundreds finite (clv.md §5.2).

/// Hard cap on series terms: z = 0.9999 still converges well within it.
const MAX_TERMS: usize = 2_000_000;
/// Rescaling threshold for the running sum (kept in double, scale in log).
const BIG: f64 = 1e250;

/// Sum of the Taylor series of ₂F₁(p, q; c; z) as (ln scale, sum) with value = sum·e^scale.
///
/// Stops when the remaining tail, bounded geometrically by the current term ratio (or z,
/// whichever is larger), is below 1e-17 of the sum.
pub(crate) fn series(p: f64, q: f64, c: f64, z: f64) -> (f64, f64) {
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    let mut scale = 0.0_f64;
    let past = p.abs().max(q.abs());
    for n in 0..MAX_TERMS {
        let nf = n as f64;
        let ratio = (p + nf) * (q + nf) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        if term == 0.0 {
            break;
        }
        if sum.abs() > BIG {
            sum /= BIG;
            term /= BIG;
            scale += BIG.ln();
        }
        let r = ratio.abs().max(z);
        if nf + 1.0 > past && r < 1.0 && term.abs() * r / (1.0 - r) <= 1e-17 * sum.abs() {
            break;
        }
    }
    (scale, sum)
}

/// ln ₂F₁(a, b; c; z) for c > 0, 0 ≤ z < 1, where the function is positive (always the case
/// when a, b > 0). Returns NaN outside that domain.
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(c > 0.0 && (0.0..1.0).contains(&z) && a.is_finite() && b.is_finite() && c.is_finite()) {
        return f64::NAN;
    }
    if z == 0.0 {
        return 0.0;
    }
    let direct = (a * b).abs() / c;
    let euler = ((c - a) * (c - b)).abs() / c;
    let (prefactor, (scale, sum)) = if euler < direct {
        ((c - a - b) * (-z).ln_1p(), series(c - a, c - b, c, z))
    } else {
        (0.0, series(a, b, c, z))
    };
    if sum > 0.0 {
        prefactor + scale + sum.ln()
    } else {
        f64::NAN
    }
}

/// ₂F₁(a, b; c; z) = exp(ln ₂F₁); +∞ when the value exceeds double range.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    ln_hyp2f1(a, b, c, z).exp()
}

/// The cancellation-free BG/NBD bracket (clv.md §5.3):
/// [1 − (1−z)^(a−1)·₂F₁(p, a−1; c; z)] / (a−1)
///   = −expm1((a−1)L)/(a−1) − e^((a−1)L)·S,  S = Σ_{n≥1} (p)_n (a)_{n−1} zⁿ / ((c)_n n!),
/// with L = ln(1−z) passed in separately (callers have it without rounding). Finite and
/// smooth through a = 1, where −expm1((a−1)L)/(a−1) → −L.
pub(crate) fn bg_bracket(a: f64, p: f64, c: f64, z: f64, ln_1mz: f64) -> f64 {
    let e = a - 1.0;
    let first = if e == 0.0 {
        -ln_1mz
    } else {
        -(e * ln_1mz).exp_m1() / e
    };
    if z == 0.0 {
        return first;
    }
    let mut term = p * z / c;
    let mut sum = term;
    let past = p.abs().max(a.abs());
    for n in 1..MAX_TERMS {
        let nf = n as f64;
        let ratio = (p + nf) * (a + nf - 1.0) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        let r = ratio.abs().max(z);
        if term == 0.0
            || (nf + 1.0 > past && r < 1.0 && term.abs() * r / (1.0 - r) <= 1e-17 * sum.abs())
        {
            break;
        }
    }
    first - (e * ln_1mz).exp() * sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elementary_closed_forms() {
        // 2F1(1,1;2;z) = -ln(1-z)/z
        for z in [0.1_f64, 0.5, 0.9, 0.99] {
            let v = hyp2f1(1.0, 1.0, 2.0, z);
            let e = -(-z).ln_1p() / z;
            assert!((v / e - 1.0).abs() < 1e-14, "{z}: {v} vs {e}");
        }
        // 2F1(a,b;b;z) = (1-z)^-a
        let v = hyp2f1(2.5, 3.0, 3.0, 0.7);
        assert!((v / 0.3_f64.powf(-2.5) - 1.0).abs() < 1e-14);
    }

    #[test]
    fn out_of_domain_is_nan() {
        assert!(ln_hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
        assert!(ln_hyp2f1(1.0, 1.0, -2.0, 0.5).is_nan());
        assert_eq!(ln_hyp2f1(3.0, 4.0, 5.0, 0.0), 0.0);
    }
}
