//! The results that go into `summary.json` read back as they were written: serialize, parse,
//! serialize again gives the same text, so the summary is a contract and not a one-way dump.

#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Debug;

use clientele_clv::*;
use common::{cdnow, read_csv};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The value read back from its JSON, after checking the second write equals the first.
fn round_trip<T: Serialize + DeserializeOwned + Debug>(v: &T) -> T {
    let text = serde_json::to_string(v).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    back
}

#[test]
fn fitted_models_and_fit_reports_round_trip() {
    let (x, tx, t) = cdnow();
    let data = CalibrationData::new(x.clone(), tx, t).unwrap();
    for kind in [ModelKind::BgNbd, ModelKind::ParetoNbd] {
        let fitted = fit(kind, &data, &FitOptions::default()).unwrap();
        assert!(fitted.report.std_errors.is_some());
        assert_eq!(round_trip(&fitted), fitted);
        assert_eq!(round_trip(&fitted.report), fitted.report);
    }

    let (_, c) = read_csv("donations.csv");
    let discrete =
        CalibrationData::with_weights(c[0].clone(), c[1].clone(), c[2].clone(), c[3].clone())
            .unwrap();
    let bgbb = fit(ModelKind::BgBb, &discrete, &FitOptions::default()).unwrap();
    assert_eq!(round_trip(&bgbb), bgbb);
    let mbg = Model::MbgNbd(MbgNbd::new(0.5, 4.0, 0.8, 2.5).unwrap());
    assert_eq!(round_trip(&mbg), mbg);

    let fitted = fit(ModelKind::BgNbd, &data, &FitOptions::default()).unwrap();
    let actual: Vec<f64> = x.iter().map(|v| (v / 2.0).floor()).collect();
    let holdout = holdout_validation(&fitted.model, &data, 39.0, &actual).unwrap();
    let back = round_trip(&holdout);
    // The per-customer vectors are not part of the summary.
    assert!(back.predicted.is_empty() && back.baseline_predicted.is_empty());
    assert_eq!(back.by_frequency, holdout.by_frequency);
}

#[test]
fn spend_fit_reports_round_trip_with_and_without_extreme_spenders() {
    let (_, c) = read_csv("cdnow_customers_summary_with_transactions.csv");
    let (gg, report) = GammaGamma::fit(&c[1], &c[4], &FitOptions::default()).unwrap();
    assert_eq!(report.extreme_spenders, None);
    assert_eq!(round_trip(&report), report);
    assert_eq!(round_trip(&gg.model), gg.model);

    let (_, r) = read_csv("recovery_100k_gg.csv");
    let (mut x, mut m) = (r[0][..200].to_vec(), r[1][..200].to_vec());
    x.push(99.0);
    m.push(1e6);
    let (_, report) = GammaGamma::fit(&x, &m, &FitOptions::default()).unwrap();
    assert!(report.extreme_spenders.is_some());
    assert_eq!(round_trip(&report), report);
}

#[test]
fn parameters_read_back_are_validated() {
    let bad = r#"{"model":"bg_nbd","params":{"r":-1.0,"alpha":4.0,"a":0.8,"b":2.5}}"#;
    let err = serde_json::from_str::<Model>(bad).unwrap_err().to_string();
    assert!(err.contains("must be finite and > 0"), "{err}");
    assert!(serde_json::from_str::<GammaGamma>(r#"{"p":1.0,"q":0.0,"v":1.0}"#).is_err());
}

#[test]
fn log_covariance_is_recorded_and_gives_the_standard_errors() {
    let (x, tx, t) = cdnow();
    let data = CalibrationData::new(x, tx, t).unwrap();
    let fitted = fit(ModelKind::BgNbd, &data, &FitOptions::default()).unwrap();
    let r = &fitted.report;
    let cov = r.log_covariance.as_ref().unwrap();
    let se = r.std_errors.as_ref().unwrap();
    assert_eq!(cov.len(), 4);
    for i in 0..4 {
        assert_eq!(cov[i].len(), 4);
        // Bit for bit the delta-method SEs: se(θ) = θ·sqrt(var(ln θ)).
        assert_eq!(r.params[i] * cov[i][i].sqrt(), se[i]);
        for (j, row) in cov.iter().enumerate() {
            assert_eq!(cov[i][j], row[i]);
        }
    }

    let opts = FitOptions {
        standard_errors: false,
        ..FitOptions::default()
    };
    let without = fit(ModelKind::BgNbd, &data, &opts).unwrap();
    assert_eq!(without.report.log_covariance, None);
    let text = serde_json::to_string(&without.report).unwrap();
    assert!(!text.contains("log_covariance"), "{text}");

    let (_, c) = read_csv("cdnow_customers_summary_with_transactions.csv");
    let (_, spend) = GammaGamma::fit(&c[1], &c[4], &FitOptions::default()).unwrap();
    assert_eq!(spend.log_covariance().unwrap().len(), 3);
}

#[test]
fn fit_reports_written_before_the_covariance_still_read() {
    let (x, tx, t) = cdnow();
    let data = CalibrationData::new(x, tx, t).unwrap();
    let fitted = fit(ModelKind::BgNbd, &data, &FitOptions::default()).unwrap();
    let mut value = serde_json::to_value(&fitted.report).unwrap();
    value.as_object_mut().unwrap().remove("log_covariance");
    let old: FitReport = serde_json::from_value(value).unwrap();
    assert_eq!(old.log_covariance, None);
    assert_eq!(old.std_errors, fitted.report.std_errors);
}
