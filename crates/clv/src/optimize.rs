//! Unconstrained minimisers used for maximum likelihood on log-parameters: BFGS with a
//! strong-Wolfe line search (analytic or numeric gradients) and Nelder-Mead (for a model
//! without a gradient; every model here now has an analytic one), plus the numeric Hessian
//! used for standard errors.

/// Outcome of a minimisation.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub grad_inf: f64,
    pub iterations: usize,
    /// Gradient below the tolerance.
    pub converged: bool,
}

/// Stopping rules for BFGS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tolerances {
    pub gtol: f64,
    pub max_iter: usize,
}

/// Value-and-gradient function.
pub(crate) type ValueGrad<'a> = &'a dyn Fn(&[f64]) -> (f64, Vec<f64>);
/// Gradient function.
pub(crate) type GradFn<'a> = &'a dyn Fn(&[f64]) -> Vec<f64>;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn axpy(x: &[f64], a: f64, d: &[f64]) -> Vec<f64> {
    x.iter().zip(d).map(|(xi, di)| xi + a * di).collect()
}

/// Central-difference gradient of `f`.
pub(crate) fn numeric_gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        let xi = x[i];
        xp[i] = xi + h;
        let fp = f(&xp);
        xp[i] = xi - h;
        let fm = f(&xp);
        xp[i] = xi;
        g[i] = (fp - fm) / (2.0 * h);
    }
    g
}

/// Strong-Wolfe line search (Nocedal & Wright alg. 3.5/3.6) with Hager & Zhang's
/// approximate-Wolfe safeguard: once the function change is below the rounding noise of `f`
/// (`noise`), sufficient decrease can no longer be judged from values, so a step whose value is
/// within the noise is judged by its directional derivative alone. Without this, BFGS stalls
/// near the optimum of large sums (full CDNOW: gradient 2.6e-8 where 1e-9 is asked) because
/// every step looks "not lower". Non-finite values count as "too far". Returns (step, f,
/// gradient) or None when no acceptable step was found.
fn line_search(
    fg: ValueGrad<'_>,
    x: &[f64],
    d: &[f64],
    f0: f64,
    g0: &[f64],
    a_init: f64,
) -> Option<(f64, f64, Vec<f64>)> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let noise = NOISE * f0.abs().max(1.0);
    let d0 = dot(g0, d);
    let eval = |a: f64| {
        let (f, g) = fg(&axpy(x, a, d));
        let f = if f.is_finite() { f } else { f64::INFINITY };
        let dd = if f.is_finite() { dot(&g, d) } else { f64::NAN };
        (f, dd, g)
    };
    // Value too high to accept the step: above the Armijo line and not within the noise.
    let too_high = |a: f64, fa: f64| fa > f0 + C1 * a * d0 && fa > f0 + noise;
    // Higher than `f_ref` beyond the noise (within it, values cannot be ordered).
    let higher = |fa: f64, f_ref: f64| fa >= f_ref && fa > f0 + noise;
    let zoom = |mut lo: (f64, f64, f64), mut hi: (f64, f64, f64)| {
        // lo/hi: (step, f, directional derivative)
        let mut best: Option<(f64, f64, Vec<f64>)> = None;
        for _ in 0..40 {
            let (a_lo, f_lo, d_lo) = lo;
            let (a_hi, f_hi, _) = hi;
            let w = a_hi - a_lo;
            let mut a = if f_hi.is_finite() {
                let denom = 2.0 * (f_hi - f_lo - d_lo * w);
                if denom > 0.0 {
                    a_lo - d_lo * w * w / denom
                } else {
                    a_lo + 0.5 * w
                }
            } else {
                a_lo + 0.5 * w
            };
            let (lo_b, hi_b) = (a_lo.min(a_hi), a_lo.max(a_hi));
            let margin = 0.1 * (hi_b - lo_b);
            if !(a > lo_b + margin && a < hi_b - margin) {
                a = a_lo + 0.5 * w;
            }
            let (fa, da, ga) = eval(a);
            if too_high(a, fa) || higher(fa, f_lo) || da.is_nan() {
                hi = (a, fa, da);
            } else {
                if da.abs() <= -C2 * d0 {
                    return Some((a, fa, ga));
                }
                if fa <= f0 + C1 * a * d0 {
                    best = Some((a, fa, ga));
                }
                if da * (a_hi - a_lo) >= 0.0 {
                    hi = lo;
                }
                lo = (a, fa, da);
            }
            if (hi.0 - lo.0).abs() < 1e-16 * lo.0.abs().max(1e-300) {
                break;
            }
        }
        best
    };
    let mut prev = (0.0, f0, d0);
    let mut a = a_init;
    for i in 0..40 {
        let (fa, da, ga) = eval(a);
        if too_high(a, fa) || (i > 0 && higher(fa, prev.1)) || da.is_nan() {
            return zoom(prev, (a, fa, da));
        }
        if da.abs() <= -C2 * d0 {
            return Some((a, fa, ga));
        }
        if da >= 0.0 {
            return zoom((a, fa, da), prev);
        }
        prev = (a, fa, da);
        a *= 2.0;
    }
    None
}

/// Relative rounding noise assumed in objective values (sums over many rows): changes below
/// `NOISE·|f|` are not trusted by the line search.
const NOISE: f64 = 1e-13;

/// BFGS on `fg` (value and gradient) from `x0`.
pub(crate) fn bfgs(fg: ValueGrad<'_>, x0: &[f64], tol: Tolerances) -> Minimum {
    let n = x0.len();
    let mut x = x0.to_vec();
    let (mut f, mut g) = fg(&x);
    let mut h = identity(n);
    let mut it = 0;
    let mut first = true;
    while it < tol.max_iter && f.is_finite() && inf_norm(&g) > tol.gtol {
        it += 1;
        let mut d: Vec<f64> = (0..n).map(|i| -dot(&h[i], &g)).collect();
        if dot(&d, &g) >= 0.0 {
            h = identity(n);
            d = g.iter().map(|v| -v).collect();
        }
        let a0 = if first {
            (1.0 / inf_norm(&g).max(1e-12)).min(1.0)
        } else {
            1.0
        };
        let Some((a, f_new, g_new)) = line_search(fg, &x, &d, f, &g, a0) else {
            if first {
                break;
            }
            // Restart from steepest descent once before giving up.
            h = identity(n);
            first = true;
            continue;
        };
        let s: Vec<f64> = d.iter().map(|v| a * v).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        x = axpy(&x, 1.0, &s);
        let f_change = f - f_new;
        f = f_new;
        g = g_new;
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            if first {
                let scale = sy / dot(&y, &y);
                h = identity(n);
                for (i, row) in h.iter_mut().enumerate() {
                    row[i] = scale;
                }
            }
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n).map(|i| dot(&h[i], &y)).collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
        first = false;
        if f_change.abs() <= 1e-16 * f.abs().max(1.0) && inf_norm(&s) < 1e-12 {
            break;
        }
    }
    let grad_inf = inf_norm(&g);
    // Precision-limited stop: the quasi-Newton model predicts a further decrease below the
    // rounding noise of f (for the mean −LL: an LL change below NOISE·|LL|), so no better point
    // can be told apart; with a small gradient that is an optimum too (clv.md §5.8).
    let hg: Vec<f64> = (0..n).map(|i| dot(&h[i], &g)).collect();
    let predicted = 0.5 * dot(&g, &hg);
    let at_noise = f.is_finite()
        && (0.0..=NOISE * f.abs().max(1.0)).contains(&predicted)
        && grad_inf <= tol.gtol.max(1e-6);
    Minimum {
        converged: grad_inf <= tol.gtol || at_noise,
        x,
        f,
        grad_inf,
        iterations: it,
    }
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}

/// Nelder-Mead simplex (standard coefficients) from `x0` with initial step `step`.
/// Stops when the function spread is below `ftol` (relative) and the simplex size below
/// `xtol`.
pub(crate) fn nelder_mead(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    step: f64,
    max_evals: usize,
    (ftol, xtol): (f64, f64),
) -> (Vec<f64>, f64, usize) {
    let n = x0.len();
    let val = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((x0.to_vec(), val(x0)));
    for i in 0..n {
        let mut x = x0.to_vec();
        x[i] += step;
        let v = val(&x);
        simplex.push((x, v));
    }
    let mut evals = n + 1;
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        let size = simplex[1..]
            .iter()
            .map(|(x, _)| inf_norm(&axpy(x, -1.0, &simplex[0].0)))
            .fold(0.0, f64::max);
        if (worst - best).abs() <= ftol * best.abs().max(1e-10) && size < xtol {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|(x, _)| x[j]).sum::<f64>() / n as f64)
            .collect();
        let towards = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&simplex[n].0)
                .map(|(c, w)| c + t * (w - c))
                .collect()
        };
        let xr = towards(-1.0);
        let fr = val(&xr);
        evals += 1;
        if fr < simplex[0].1 {
            let xe = towards(-2.0);
            let fe = val(&xe);
            evals += 1;
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let (xc, fc) = if fr < worst {
                let xc = towards(-0.5);
                let fc = val(&xc);
                (xc, fc)
            } else {
                let xc = towards(0.5);
                let fc = val(&xc);
                (xc, fc)
            };
            evals += 1;
            if fc < fr.min(worst) {
                simplex[n] = (xc, fc);
            } else {
                let x_best = simplex[0].0.clone();
                for (x, v) in simplex.iter_mut().skip(1) {
                    *x = x
                        .iter()
                        .zip(&x_best)
                        .map(|(a, b)| b + 0.5 * (a - b))
                        .collect();
                    *v = val(x);
                }
                evals += n;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, v) = simplex.swap_remove(0);
    (x, v, evals)
}

/// Symmetric numeric Hessian: from gradient differences when a gradient is available,
/// otherwise from second differences of the value.
#[allow(clippy::needless_range_loop)] // index form mirrors the formulas
pub(crate) fn numeric_hessian(
    f: &dyn Fn(&[f64]) -> f64,
    grad: Option<GradFn<'_>>,
    x: &[f64],
) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut hm = vec![vec![0.0; n]; n];
    let mut xp = x.to_vec();
    if let Some(g) = grad {
        let h = 1e-6;
        for i in 0..n {
            xp[i] = x[i] + h;
            let gp = g(&xp);
            xp[i] = x[i] - h;
            let gm = g(&xp);
            xp[i] = x[i];
            for (j, v) in hm[i].iter_mut().enumerate() {
                *v = (gp[j] - gm[j]) / (2.0 * h);
            }
        }
    } else {
        let h = 1e-4;
        let f0 = f(x);
        for i in 0..n {
            for j in 0..=i {
                let mut at = |di: f64, dj: f64| {
                    xp.copy_from_slice(x);
                    xp[i] += di;
                    xp[j] += dj;
                    f(&xp)
                };
                hm[i][j] = if i == j {
                    (at(h, 0.0) - 2.0 * f0 + at(-h, 0.0)) / (h * h)
                } else {
                    (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4.0 * h * h)
                };
                // Only the lower triangle is computed: mirror it, or the averaging below
                // would halve every off-diagonal entry.
                hm[j][i] = hm[i][j];
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            let m = 0.5 * (hm[i][j] + hm[j][i]);
            hm[i][j] = m;
            hm[j][i] = m;
        }
    }
    hm
}

/// Inverse of a symmetric positive-definite matrix via Cholesky; None if not positive definite.
#[allow(clippy::needless_range_loop)]
pub(crate) fn spd_inverse(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    // Solve L Lᵀ X = I column by column.
    let mut inv = vec![vec![0.0; n]; n];
    for c in 0..n {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let rhs = if i == c { 1.0 } else { 0.0 };
            y[i] = (rhs - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
        }
        for (row, xi) in inv.iter_mut().zip(&x) {
            row[c] = *xi;
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64]) -> (f64, Vec<f64>) {
        let (a, b) = (x[0], x[1]);
        let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let g = vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ];
        (f, g)
    }

    #[test]
    fn bfgs_solves_rosenbrock() {
        let m = bfgs(
            &rosenbrock,
            &[-1.2, 1.0],
            Tolerances {
                gtol: 1e-10,
                max_iter: 500,
            },
        );
        assert!(m.converged, "{m:?}");
        assert!((m.x[0] - 1.0).abs() < 1e-8 && (m.x[1] - 1.0).abs() < 1e-8);
    }

    #[test]
    fn nelder_mead_solves_rosenbrock() {
        let (x, _, _) = nelder_mead(
            &|x| rosenbrock(x).0,
            &[-1.2, 1.0],
            0.5,
            20_000,
            (1e-13, 1e-9),
        );
        assert!(
            (x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6,
            "{x:?}"
        );
    }

    #[test]
    fn numeric_hessian_has_the_off_diagonal_entries() {
        // f = x² + 3xy + 2y² + x³: Hessian [[2 + 6x, 3], [3, 4]].
        let f = |v: &[f64]| v[0] * v[0] + 3.0 * v[0] * v[1] + 2.0 * v[1] * v[1] + v[0].powi(3);
        let g = |v: &[f64]| {
            vec![
                2.0 * v[0] + 3.0 * v[1] + 3.0 * v[0] * v[0],
                3.0 * v[0] + 4.0 * v[1],
            ]
        };
        let x = [0.5, -1.0];
        let want = [[5.0, 3.0], [3.0, 4.0]];
        for h in [
            numeric_hessian(&f, None, &x),
            numeric_hessian(&f, Some(&g), &x),
        ] {
            for i in 0..2 {
                for j in 0..2 {
                    assert!((h[i][j] - want[i][j]).abs() < 1e-6, "{h:?}");
                }
            }
        }
    }

    #[test]
    fn spd_inverse_inverts() {
        let a = vec![vec![4.0, 1.0], vec![1.0, 3.0]];
        let inv = spd_inverse(&a).unwrap();
        assert!((inv[0][0] - 3.0 / 11.0).abs() < 1e-15);
        assert!((inv[0][1] + 1.0 / 11.0).abs() < 1e-15);
        assert!(spd_inverse(&[vec![-1.0]]).is_none());
    }
}
