//! Parameter recovery at 100k customers: data from `../shared/bench/gen_transactions.py`
//! (seed 7; truth r 0.25, α 20 days, a 0.8, b 2.5; Gamma-Gamma p 6, q 4, γ 15), summarised by
//! lifetimes' `summary_data_from_transaction_data(freq='D')` (fixtures and lifetimes' fits:
//! `tests/reference/recovery_reference.py`).
//!
//! Fitted parameters must lie within 10 % of the truth (rounding event times to days biases α
//! by a few percent), and the fit must be the exact maximum of the likelihood: our LL at least
//! lifetimes' on the same summary, parameters equal to lifetimes' and a vanishing gradient
//! (checked here by finite differences of the public log-likelihood, independent of the
//! optimiser's own gradient).

#![allow(clippy::unwrap_used)]

mod common;

use clientele_clv::*;
use common::{read_csv, rel};

const TRUTH_BG: [f64; 4] = [0.25, 20.0, 0.8, 2.5];
const TRUTH_GG: [f64; 3] = [6.0, 4.0, 15.0];
/// lifetimes 0.11.3 BetaGeoFitter (weights = row counts) and GammaGammaFitter on the fixture.
const LIFETIMES_BG: [f64; 4] = [
    0.2537322155613659,
    21.440290018402294,
    0.8121165545934289,
    2.5593529465848155,
];
const LIFETIMES_BG_LL: f64 = -1054225.1681383809;
const LIFETIMES_GG: [f64; 3] = [5.7122925717446185, 4.068598004340108, 16.251871756407017];
const LIFETIMES_GG_LL: f64 = -210589.86540905002;

/// Central differences of `ll` in log-parameters, per customer.
fn fd_gradient(ll: &dyn Fn(&[f64]) -> f64, p: &[f64], n: f64) -> Vec<f64> {
    let h = 1e-5;
    (0..p.len())
        .map(|i| {
            let at = |s: f64| {
                let mut q = p.to_vec();
                q[i] *= (s * h).exp();
                ll(&q)
            };
            (at(1.0) - at(-1.0)) / (2.0 * h) / n
        })
        .collect()
}

#[test]
fn bg_nbd_recovers_the_truth_at_the_exact_maximum() {
    let (_, c) = read_csv("recovery_100k_bgnbd.csv");
    let d = CalibrationData::with_weights(c[0].clone(), c[1].clone(), c[2].clone(), c[3].clone())
        .unwrap();
    let n = d.total_weight();
    assert_eq!(n, 100_000.0);
    let fitted = BgNbd::fit(&d, &FitOptions::default()).unwrap();
    let r = &fitted.report;
    assert!(r.converged, "{r:?}");
    assert!(r.gradient_norm <= 1e-8, "{r:?}");
    let p = fitted.model.params();
    for i in 0..4 {
        assert!(
            rel(p[i], TRUTH_BG[i]) < 0.10,
            "param {i}: {} vs truth {}",
            p[i],
            TRUTH_BG[i]
        );
        assert!(
            rel(p[i], LIFETIMES_BG[i]) < 1e-4,
            "param {i}: {} vs lifetimes {}",
            p[i],
            LIFETIMES_BG[i]
        );
    }
    assert!(
        r.log_likelihood >= LIFETIMES_BG_LL - 1e-6 * n,
        "{} vs {LIFETIMES_BG_LL}",
        r.log_likelihood
    );
    let ll = |q: &[f64]| {
        BgNbd::new(q[0], q[1], q[2], q[3])
            .unwrap()
            .log_likelihood(&d)
    };
    assert!((ll(&p) - r.log_likelihood).abs() < 1e-9 * n);
    let g = fd_gradient(&ll, &p, n);
    assert!(
        g.iter().all(|v| v.abs() < 1e-7),
        "finite-difference gradient {g:?}"
    );
}

#[test]
fn gamma_gamma_recovers_the_truth_at_the_exact_maximum() {
    let (_, c) = read_csv("recovery_100k_gg.csv");
    let (x, m) = (&c[0], &c[1]);
    let (fitted, report) = GammaGamma::fit(x, m, &FitOptions::default()).unwrap();
    assert_eq!(report.used, x.len());
    let r = &report.fit;
    let n = x.len() as f64;
    assert!(r.converged, "{r:?}");
    assert!(r.gradient_norm <= 1e-8, "{r:?}");
    let p = fitted.model.params();
    for i in 0..3 {
        assert!(
            rel(p[i], TRUTH_GG[i]) < 0.10,
            "param {i}: {} vs truth {}",
            p[i],
            TRUTH_GG[i]
        );
        assert!(
            rel(p[i], LIFETIMES_GG[i]) < 1e-4,
            "param {i}: {} vs lifetimes {}",
            p[i],
            LIFETIMES_GG[i]
        );
    }
    let ours = fitted.model.log_likelihood(x, m);
    assert!(
        ours >= LIFETIMES_GG_LL - 1e-6 * n,
        "{ours} vs {LIFETIMES_GG_LL}"
    );
    let ll = |q: &[f64]| {
        GammaGamma::new(q[0], q[1], q[2])
            .unwrap()
            .log_likelihood(x, m)
    };
    let g = fd_gradient(&ll, &p, n);
    assert!(
        g.iter().all(|v| v.abs() < 1e-7),
        "finite-difference gradient {g:?}"
    );
}
