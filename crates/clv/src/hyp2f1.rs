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
        if r < 1.0 && term.abs() * r / (1.0 - r) <= 1e-17 * sum.abs() {
            if nf + 1.0 > past {
                break;
            }
            // Before n passes p and q the ratio may still grow, except where it is bounded for
            // all later terms: with p, q, c > 0, (p+m)/(m+1) and (q+m)/(c+m) are monotone in m
            // and tend to 1. Without this, q = b ≈ 6e7 (a fit whose a and b ran off) summed
            // all MAX_TERMS terms, the last ones stuck at the smallest subnormal.
            if p > 0.0 && q > 0.0 && c > 0.0 {
                let (m, m1) = (nf + 1.0, nf + 2.0);
                let later = z * ((p + m) / m1).max(1.0) * ((q + m) / (c + m)).max(1.0);
                if later < 1.0 && term.abs() * later / (1.0 - later) <= 1e-17 * sum.abs() {
                    break;
                }
            }
        }
    }
    (scale, sum)
}

/// Whether ₂F₁(a, b; c; z) is summed after Euler's transformation: the series whose "growth"
/// |pq|/c is smaller, except that a series with a negative parameter (terms alternating in sign)
/// that grows is never taken over one with positive terms, since its sum cancels: ₂F₁(5.95e8,
/// 2.3e6; 3.4e6; 3.5e-6) from MBG/NBD parameters that ran off gave e^620 instead of e^1400
/// through (c−a) = −5.9e8.
fn takes_euler(a: f64, b: f64, c: f64) -> bool {
    let direct = (a * b).abs() / c;
    let euler = ((c - a) * (c - b)).abs() / c;
    let cancels = |p: f64, q: f64, growth: f64| p.min(q) < 0.0 && growth > 1.0;
    match (cancels(a, b, direct), cancels(c - a, c - b, euler)) {
        (true, false) => true,
        (false, true) => false,
        _ => euler < direct,
    }
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
    let (prefactor, (scale, sum)) = if takes_euler(a, b, c) {
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

/// The series of [`series`] with its derivatives: (ln scale, sum, [∂sum/∂p, ∂sum/∂q, ∂sum/∂c,
/// ∂sum/∂z]), all four in the same scale as the sum. Needs z > 0 and p, q, c > 0.
///
/// Term n is tₙ = (p)ₙ(q)ₙ zⁿ / ((c)ₙ n!), so ∂tₙ/∂p = tₙ Σ_{j<n} 1/(p+j) (likewise q, and c
/// with a minus sign) and ∂tₙ/∂z = n tₙ / z: the running digamma differences ride along in the
/// same loop. The tail bound of the value (geometric with ratio ρ) is widened for the
/// derivative sums, whose terms carry those factors: Σ_{m>n} tₘ·(Dₙ + (m−n)/(p+n)) and
/// Σ_{m>n} m tₘ are at most tₙ·ρ/(1−ρ)·(Dₙ + 1/((1−ρ)(p+n))) and tₙ·ρ/(1−ρ)·(n + 1/(1−ρ)).
pub(crate) fn series_grad(p: f64, q: f64, c: f64, z: f64) -> (f64, f64, [f64; 4]) {
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    let mut scale = 0.0_f64;
    // Running ∂ ln tₙ / ∂(p, q, c) and the weighted sums Σ tₙ·(those, n).
    let (mut dp, mut dq, mut dc) = (0.0_f64, 0.0_f64, 0.0_f64);
    let mut g = [0.0_f64; 4];
    let past = p.abs().max(q.abs());
    let low = p.min(q).min(c);
    for n in 0..MAX_TERMS {
        let nf = n as f64;
        // One division per term: the ratio and the three reciprocals share 1/((p+n)(q+n)(c+n)(n+1)).
        let (pn, qn, cn, n1) = (p + nf, q + nf, c + nf, nf + 1.0);
        let (pq, cn1) = (pn * qn, cn * n1);
        let inv = 1.0 / (pq * cn1);
        let ratio = pq * pq * inv * z;
        term *= ratio;
        dp += qn * cn1 * inv;
        dq += pn * cn1 * inv;
        dc -= pq * n1 * inv;
        sum += term;
        g[0] += term * dp;
        g[1] += term * dq;
        g[2] += term * dc;
        g[3] += term * n1;
        if term == 0.0 {
            break;
        }
        if sum.abs() > BIG {
            sum /= BIG;
            term /= BIG;
            for v in &mut g {
                *v /= BIG;
            }
            scale += BIG.ln();
        }
        let r = ratio.abs().max(z);
        // The value's own bound (without divisions) first: it is necessary for the full one.
        if n1 > past && r < 1.0 && term.abs() * r <= 1e-17 * sum.abs() * (1.0 - r) {
            let geo = r / (1.0 - r);
            let d_max = dp.abs().max(dq.abs()).max(dc.abs()) + 1.0 / ((1.0 - r) * (low + n1));
            let n_max = (n1 + 1.0 / (1.0 - r)) / z;
            if term.abs() * geo * (1.0 + d_max.max(n_max)) <= 1e-17 * sum.abs() {
                break;
            }
        }
    }
    g[3] /= z;
    (scale, sum, g)
}

/// ln ₂F₁(a, b; c; z) and its partial derivatives [∂/∂a, ∂/∂b, ∂/∂c, ∂/∂z], for a, b > 0,
/// c > 0, 0 ≤ z < 1 (NaN outside). Same choice between the direct series and Euler's
/// transformation as [`ln_hyp2f1`]; in the Euler case the prefactor (c−a−b)·ln(1−z) and the
/// parameters (c−a, c−b) are differentiated by the chain rule. Used by the Pareto/NBD
/// likelihood gradient, whose ₂F₁ parameters depend on (r, s).
pub(crate) fn ln_hyp2f1_grad(a: f64, b: f64, c: f64, z: f64) -> (f64, [f64; 4]) {
    if !(c > 0.0 && (0.0..1.0).contains(&z) && a.is_finite() && b.is_finite() && c.is_finite()) {
        return (f64::NAN, [f64::NAN; 4]);
    }
    if z == 0.0 {
        return (0.0, [0.0, 0.0, 0.0, a * b / c]);
    }
    let (value, grad) = if takes_euler(a, b, c) {
        let l1z = (-z).ln_1p();
        let (scale, sum, g) = series_grad(c - a, c - b, c, z);
        let (gp, gq, gc, gz) = (g[0] / sum, g[1] / sum, g[2] / sum, g[3] / sum);
        (
            (c - a - b) * l1z + scale + sum.ln(),
            [
                -l1z - gp,
                -l1z - gq,
                l1z + gp + gq + gc,
                -(c - a - b) / (1.0 - z) + gz,
            ],
        )
    } else {
        let (scale, sum, g) = series_grad(a, b, c, z);
        (scale + sum.ln(), g.map(|v| v / sum))
    };
    if value.is_finite() {
        (value, grad)
    } else {
        (f64::NAN, [f64::NAN; 4])
    }
}

/// ₂F₁(a, b; c; z) = exp(ln ₂F₁); +∞ when the value exceeds double range.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    ln_hyp2f1(a, b, c, z).exp()
}

/// Largest (a−1)·(−ln(1−z)) at which [`bg_bracket`] sums its direct series: (1−z)^(a−1) is then
/// at least e^−600 and the series at most about e^600, both well inside f64.
const BRACKET_DIRECT_MAX: f64 = 600.0;

/// The cancellation-free BG/NBD bracket (clv.md §5.3):
/// [1 − (1−z)^(a−1)·₂F₁(p, a−1; c; z)] / (a−1)
///   = −expm1((a−1)L)/(a−1) − e^((a−1)L)·S,  S = Σ_{n≥1} (p)_n (a)_{n−1} zⁿ / ((c)_n n!),
/// with L = ln(1−z) passed in separately (callers have it without rounding). Finite and
/// smooth through a = 1, where −expm1((a−1)L)/(a−1) → −L.
///
/// For large a (a fit whose a and b ran off together, about 1e6 on a few months of data) that
/// form is 0·∞ = NaN: (1−z)^(a−1) underflows and the series overflows. Past
/// (a−1)·(−L) = [`BRACKET_DIRECT_MAX`] the bracket is taken from Euler's transformation
/// (1−z)^(a−1)·₂F₁(p, a−1; c; z) = (1−z)^(c−p)·₂F₁(c−p, c−a+1; c; z) instead, as
/// −expm1(ln of that)/(a−1), with no cancellation there. `euler` is (c−p, c−a+1), given by the
/// callers exactly (r+x and b+x or b+x+1), not as differences of large numbers.
pub(crate) fn bg_bracket(a: f64, p: f64, c: f64, euler: [f64; 2], z: f64, ln_1mz: f64) -> f64 {
    let e = a - 1.0;
    if e * -ln_1mz > BRACKET_DIRECT_MAX || alternates_with_growth(e, p, c, z) {
        return bracket_euler(e, c, euler, z, ln_1mz);
    }
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

/// Whether the direct series of [`bg_bracket`] would cancel: with p < 0 its terms alternate in
/// sign, and when the second term is already larger than the first they grow (to e^600 for
/// r ≈ 6e8, a ≈ 1e6, a fit that ran off on 16 identical customers) before they shrink, so their
/// sum loses every digit. Euler's form has only positive terms there. Its division by a − 1 is
/// exact only away from a = 1, hence e > 1.
fn alternates_with_growth(e: f64, p: f64, c: f64, z: f64) -> bool {
    e > 1.0 && p < 0.0 && -p * (e + 1.0) * z / c > 1.0
}

/// [`bg_bracket`] from Euler's transformation: −expm1(ln((1−z)^(c−p)·₂F₁(c−p, c−a+1; c; z)))/(a−1).
fn bracket_euler(e: f64, c: f64, euler: [f64; 2], z: f64, ln_1mz: f64) -> f64 {
    let [cp, ca] = euler;
    -(cp * ln_1mz + ln_hyp2f1(cp, ca, c, z)).exp_m1() / e
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
    fn parameter_gradient_matches_finite_differences() {
        // Direct and Euler branches, small and large parameters, z from 0 to near 1.
        let cases = [
            (0.7, 1.6, 1.7, 0.3),
            (2.5, 0.4, 3.5, 0.9),
            (301.2, 1.6, 302.2, 0.2),
            (301.2, 300.5, 302.2, 0.55),
            (12.0, 1.3, 13.0, 0.995),
            (1.1, 2.2, 3.3, 1e-4),
        ];
        for &(a, b, c, z) in &cases {
            let (v, g) = ln_hyp2f1_grad(a, b, c, z);
            assert!((v - ln_hyp2f1(a, b, c, z)).abs() <= 1e-14 * v.abs().max(1.0));
            let x = [a, b, c, z];
            for i in 0..4 {
                let h = 1e-4 * if i == 3 { z.min(1.0 - z) } else { x[i] };
                let at = |d: f64| {
                    let mut y = x;
                    y[i] += d;
                    ln_hyp2f1(y[0], y[1], y[2], y[3])
                };
                let d1 = (at(h) - at(-h)) / (2.0 * h);
                let d2 = (at(h / 2.0) - at(-h / 2.0)) / h;
                let fd = (4.0 * d2 - d1) / 3.0;
                assert!(
                    (fd - g[i]).abs() <= 1e-7 * g[i].abs().max(1.0),
                    "{x:?} d{i}: {} vs fd {fd}",
                    g[i]
                );
            }
        }
        assert_eq!(
            ln_hyp2f1_grad(2.0, 3.0, 4.0, 0.0),
            (0.0, [0.0, 0.0, 0.0, 1.5])
        );
    }

    #[test]
    fn bracket_is_continuous_where_it_switches_to_euler() {
        // MBG/NBD's bracket with b = 9a, r = 1, x = 2, h/(α+T) = 4, on both sides of the switch
        let (r, x, q) = (1.0, 2.0, 4.0_f64);
        let ln_1mz = -q.ln_1p();
        let z = q / (1.0 + q);
        let at = |a: f64| {
            let (b, c) = (9.0 * a, 10.0 * a + x);
            c * bg_bracket(a, 10.0 * a - r, c, [r + x, b + x + 1.0], z, ln_1mz)
        };
        let a0 = 1.0 + BRACKET_DIRECT_MAX / -ln_1mz;
        let (direct, euler) = (at(a0 * (1.0 - 1e-12)), at(a0 * (1.0 + 1e-12)));
        assert!(direct.is_finite() && direct > 0.0, "{direct}");
        assert!((euler / direct - 1.0).abs() < 1e-10, "{direct} vs {euler}");
    }

    #[test]
    fn bracket_with_growing_alternating_terms_takes_euler_and_agrees_near_the_switch() {
        // MBG/NBD's bracket (p = a + b − r) with r past a + b: on both sides of the switch
        // −p·a·z/c = 1 the two forms agree; far past it the direct sum would be ±1e257.
        let (a, b, x, z) = (50.0_f64, 5.0, 0.0, 0.01_f64);
        let c = a + b + x;
        let ln_1mz = (-z).ln_1p();
        let at = |r: f64| c * bg_bracket(a, a + b - r, c, [r + x, b + x + 1.0], z, ln_1mz);
        let r0 = a + b + c / (z * a);
        let (direct, euler) = (at(r0 * (1.0 - 1e-9)), at(r0 * (1.0 + 1e-9)));
        assert!(direct.is_finite() && direct > 0.0, "{direct}");
        assert!((euler / direct - 1.0).abs() < 1e-9, "{direct} vs {euler}");
        let (r, alpha, a, b) = (5.95e8, 1.04e8, 1.08e6, 2.30e6);
        let m = crate::MbgNbd::new(r, alpha, a, b).unwrap();
        let e = m.expected_purchases(365.0, 2.0, 0.32, 1.0);
        // ≈ λ·dropout: r/α ≈ 5.7 purchases per day, each the last with chance a/(a+b) ≈ 0.32
        assert!(e.is_finite() && (0.0..10.0).contains(&e), "{e}");
    }

    #[test]
    fn out_of_domain_is_nan() {
        assert!(ln_hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
        assert!(ln_hyp2f1(1.0, 1.0, -2.0, 0.5).is_nan());
        assert_eq!(ln_hyp2f1(3.0, 4.0, 5.0, 0.0), 0.0);
    }
}
