//! Random degenerate summaries (ties, zeros, huge values, single customers) fed to every fit:
//! no panic, and either a typed error or finite parameters and predictions.
//! `PROPTEST_CASES` sets the number of cases (default 6: these fits are the slow part of
//! the crate's tests).

#![allow(clippy::unwrap_used)]

use clientele_clv::*;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// One customer: (x, tₓ as a share of T, T, mean spend), from a few awkward values each.
fn customer() -> impl Strategy<Value = (f64, f64, f64, f64)> {
    (
        prop_oneof![
            Just(0.0),
            Just(1.0),
            Just(2.0),
            (0u32..30).prop_map(f64::from),
            Just(1e6)
        ],
        prop_oneof![Just(0.0), Just(1.0), 0.0f64..1.0],
        prop_oneof![Just(0.0), Just(1.0), Just(36_500.0), 1.0f64..400.0],
        prop_oneof![Just(0.0), Just(-5.0), Just(1e12), Just(1e-9), 1.0f64..500.0],
    )
}

fn summary() -> impl Strategy<Value = Vec<(f64, f64, f64, f64)>> {
    prop_oneof![
        prop::collection::vec(customer(), 1..4),
        prop::collection::vec(customer(), 10..40),
        // ties: one customer repeated
        (customer(), 10usize..60).prop_map(|(c, n)| vec![c; n]),
    ]
}

fn columns(rows: &[(f64, f64, f64, f64)], whole_t: bool) -> [Vec<f64>; 4] {
    let mut out: [Vec<f64>; 4] = Default::default();
    for &(x, share, t, m) in rows {
        let t = if whole_t { t.round() } else { t };
        let tx = if x == 0.0 { 0.0 } else { share * t };
        let (x, tx) = if whole_t {
            // BG/BB: whole opportunities, x ≤ tₓ
            let tx = tx.round();
            (x.min(tx), tx)
        } else {
            (x, tx)
        };
        for (col, v) in out.iter_mut().zip([x, tx, t, m]) {
            col.push(v);
        }
    }
    out
}

fn check_model(model: &Model, data: &CalibrationData) {
    let params = model.params();
    assert!(
        params.iter().all(|p| p.is_finite() && *p > 0.0),
        "{model:?}"
    );
    for p in model.p_alive_all(data) {
        assert!((0.0..=1.0).contains(&p), "{model:?}: p_alive {p}");
    }
    for e in model.expected_purchases_all(365.0, data) {
        assert!(e.is_finite() && e >= 0.0, "{model:?}: expected {e}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn transaction_fits_give_typed_errors_or_finite_models(rows in summary(), k in 0usize..4) {
        let kind = [ModelKind::BgNbd, ModelKind::MbgNbd, ModelKind::ParetoNbd, ModelKind::BgBb][k];
        let [x, tx, t, _] = columns(&rows, kind == ModelKind::BgBb);
        let Ok(data) = CalibrationData::new(x, tx, t) else {
            return Ok(());
        };
        let opts = FitOptions { standard_errors: false, max_iterations: 100, ..FitOptions::default() };
        if let Ok(f) = fit(kind, &data.compress(), &opts) {
            prop_assert!(f.report.log_likelihood.is_finite());
            check_model(&f.model, &data);
        }
    }

    #[test]
    fn spend_fits_give_typed_errors_or_finite_values(rows in summary()) {
        let [x, _, _, m] = columns(&rows, false);
        if let Ok((gg, report)) = GammaGamma::fit(&x, &m, &FitOptions::default()) {
            let [p, q, v] = gg.model.params();
            prop_assert!(p.is_finite() && q > 1.0 && v.is_finite() && v > 0.0, "{p} {q} {v}");
            let values = gg
                .model
                .expected_average_values_with(&x, &m, report.own_mean_above())
                .unwrap();
            prop_assert!(values.iter().all(|v| v.is_finite()), "{:?}", values);
        }
    }
}

#[test]
fn single_customer_and_nan_inputs_are_errors() {
    let one = CalibrationData::new(vec![3.0], vec![10.0], vec![20.0]).unwrap();
    for kind in [
        ModelKind::BgNbd,
        ModelKind::MbgNbd,
        ModelKind::ParetoNbd,
        ModelKind::BgBb,
    ] {
        assert!(matches!(
            fit(kind, &one, &FitOptions::default()),
            Err(ClvError::TooFewCustomers { found: 1, .. })
        ));
    }
    assert!(matches!(
        CalibrationData::new(vec![f64::NAN], vec![0.0], vec![1.0]),
        Err(ClvError::NonFinite { .. })
    ));
    assert!(matches!(
        GammaGamma::fit(
            &[1.0, 2.0, 3.0],
            &[5.0, f64::NAN, 2.0],
            &FitOptions::default()
        ),
        Err(ClvError::NonFinite { .. })
    ));
}
