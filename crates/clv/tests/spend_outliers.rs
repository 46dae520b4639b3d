//! One extreme spender must not break the spend model for everyone: the Gamma-Gamma fit
//! falls back to a fit without the extreme spenders and says so; normal data is untouched.

#![allow(clippy::unwrap_used)]

mod common;

use clientele_clv::*;
use common::read_csv;

/// The first `n` repeat customers of the recovery fixture (GG truth p 6, q 4, γ 15) and one
/// customer with 100 orders (99 repeats) of 1,000,000 each.
fn with_whale(n: usize) -> (Vec<f64>, Vec<f64>) {
    let (_, c) = read_csv("recovery_100k_gg.csv");
    let (mut x, mut m) = (c[0][..n].to_vec(), c[1][..n].to_vec());
    x.push(99.0);
    m.push(1e6);
    (x, m)
}

#[test]
fn one_heavy_buyer_gets_a_reported_fallback_not_a_failed_fit() {
    let (x, m) = with_whale(200);
    let (gg, report) = GammaGamma::fit(&x, &m, &FitOptions::default()).unwrap();
    let extreme = report.extreme_spenders.clone().expect("fallback reported");
    assert_eq!(extreme.customers, 1);
    assert!(extreme.mean_spend_above > 100.0 && extreme.mean_spend_above < 1e6);
    assert_eq!(report.used, 200);
    let [p, q, v] = gg.model.params();
    assert!(q > 1.0 && p < 1e3 && v > 1e-3, "{p} {q} {v}");
    let note = report.note().unwrap().en;
    assert!(
        note.starts_with("Gamma-Gamma fitted without 1 extreme spender (mean spend > "),
        "{note}"
    );
    assert!(
        note.contains("their expected spend is their own mean"),
        "{note}"
    );
    let values = gg
        .model
        .expected_average_values_with(&x, &m, report.own_mean_above())
        .unwrap();
    assert_eq!(values[200], 1e6);
    assert!(
        values[..200]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0 && *v < 1e3)
    );
    // The population mean (customers without repeats) is the fitted one, finite.
    assert!(gg.model.population_mean().unwrap() < 100.0);
}

#[test]
fn normal_data_is_fitted_on_everyone() {
    let (_, c) = read_csv("cdnow_customers_summary_with_transactions.csv");
    let (_, report) = GammaGamma::fit(&c[1], &c[4], &FitOptions::default()).unwrap();
    assert_eq!(report.extreme_spenders, None);
    assert_eq!(report.note(), None);
    assert_eq!(report.used, 946);
}

#[test]
fn a_population_of_heavy_tails_is_an_error_with_its_reason() {
    // 10 whales among 60: not a few outliers, and the tail makes q <= 1.
    let (_, c) = read_csv("recovery_100k_gg.csv");
    let (mut x, mut m) = (c[0][..60].to_vec(), c[1][..60].to_vec());
    for _ in 0..10 {
        x.push(99.0);
        m.push(1e6);
    }
    let e = GammaGamma::fit(&x, &m, &FitOptions::default()).unwrap_err();
    assert!(matches!(e, ClvError::FitFailed { .. }), "{e}");
}
