//! Full CDNOW (23,570 customers, weekly fractional summary, observation end 1998-06-30):
//! the BG/NBD fit must end at the optimum lifetimes finds and say so (`converged`).
//! Fixture and reference numbers: `tests/reference/cdnow_full_reference.py`.

#![allow(clippy::unwrap_used)]

mod common;

use clientele_clv::*;
use common::{read_csv, rel};

/// lifetimes 0.11.3 BetaGeoFitter on the same summary; LL in original (weekly) units.
const LIFETIMES: [f64; 4] = [
    0.267127774557681,
    5.986492517523865,
    0.4835169148280212,
    2.111608102583357,
];
const LIFETIMES_LL: f64 = -173425.91629321745;

fn data() -> CalibrationData {
    let (_, c) = read_csv("cdnow_full_weekly.csv");
    CalibrationData::with_weights(c[0].clone(), c[1].clone(), c[2].clone(), c[3].clone()).unwrap()
}

#[test]
fn bg_nbd_converges_on_full_cdnow_and_matches_lifetimes() {
    let d = data();
    assert_eq!(d.total_weight(), 23570.0);
    let fitted = BgNbd::fit(&d, &FitOptions::default()).unwrap();
    let r = &fitted.report;
    eprintln!("{r:?}");
    assert!(r.converged, "{r:?}");
    let p = fitted.model.params();
    for i in 0..4 {
        assert!(
            rel(p[i], LIFETIMES[i]) <= 1e-4,
            "param {i}: {} vs {}",
            p[i],
            LIFETIMES[i]
        );
    }
    assert!(
        r.log_likelihood >= LIFETIMES_LL - 1e-6 * r.n_customers,
        "{}",
        r.log_likelihood
    );
    assert!(r.gradient_norm <= 1e-7, "{}", r.gradient_norm);
}
