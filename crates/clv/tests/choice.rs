//! `model = "auto"` on CDNOW: every candidate fitted, the choice follows the documented rule.

#![allow(clippy::unwrap_used)]

mod common;

use clientele_clv::choice::{AUTO_CANDIDATES, BIC_TIE, MAE_TIE};
use clientele_clv::*;
use common::cdnow;

#[test]
fn bic_compares_every_candidate_and_returns_the_chosen_fit() {
    let (x, tx, t) = cdnow();
    let data = CalibrationData::new(x, tx, t).unwrap();
    let (cmp, fitted) = compare_by_bic(&data.compress(), &FitOptions::default()).unwrap();
    assert_eq!(cmp.criterion, Criterion::Bic);
    let models: Vec<ModelKind> = cmp.candidates.iter().map(|c| c.model).collect();
    assert_eq!(models, AUTO_CANDIDATES);
    assert!(cmp.candidates.iter().all(|c| c.error.is_none()), "{cmp:#?}");
    assert_eq!(fitted.model.kind(), cmp.chosen);
    let n = data.len() as f64;
    for c in &cmp.candidates {
        let ll = c.log_likelihood.unwrap();
        assert!((c.bic.unwrap() - (4.0 * n.ln() - 2.0 * ll)).abs() < 1e-9);
        // the same fit as asking for the model alone
        let alone = fit(c.model, &data.compress(), &FitOptions::default()).unwrap();
        assert!(
            (alone.report.log_likelihood - ll).abs() < 1e-6,
            "{:?}",
            c.model
        );
    }
    let bic = |k: ModelKind| {
        cmp.candidates
            .iter()
            .find(|c| c.model == k)
            .unwrap()
            .bic
            .unwrap()
    };
    let best = bic(cmp.best);
    assert!(cmp.candidates.iter().all(|c| c.bic.unwrap() >= best));
    assert!(bic(cmp.chosen) - best <= BIC_TIE);
    // the first model in the preferred order within the margin
    let first = AUTO_CANDIDATES
        .iter()
        .find(|k| bic(**k) - best <= BIC_TIE)
        .unwrap();
    assert_eq!(cmp.chosen, *first);
    assert_eq!(
        cmp.chosen_candidate().unwrap().log_likelihood,
        Some(fitted.report.log_likelihood)
    );
}

#[test]
fn holdout_compares_by_mae_and_prefers_the_default_order_within_one_percent() {
    let (x, tx, t) = cdnow();
    let data = CalibrationData::new(x.clone(), tx, t.clone()).unwrap();
    // a made-up holdout: each customer's calibration rate over 39 weeks, rounded
    let actual: Vec<f64> = x
        .iter()
        .zip(&t)
        .map(|(x, t)| (x / t.max(1.0) * 39.0).round())
        .collect();
    let cmp = compare_on_holdout(&data, 39.0, &actual, &FitOptions::default()).unwrap();
    assert_eq!(cmp.criterion, Criterion::HoldoutMae);
    let mae = |k: ModelKind| {
        cmp.candidates
            .iter()
            .find(|c| c.model == k)
            .unwrap()
            .holdout_mae
            .unwrap()
    };
    let best = mae(cmp.best);
    let first = AUTO_CANDIDATES
        .iter()
        .find(|k| mae(**k) <= best * (1.0 + MAE_TIE))
        .unwrap();
    assert_eq!(cmp.chosen, *first);
    for c in &cmp.candidates {
        let alone = fit(c.model, &data.compress(), &FitOptions::default()).unwrap();
        let r = holdout_validation(&alone.model, &data, 39.0, &actual).unwrap();
        assert!((r.model.mae - c.holdout_mae.unwrap()).abs() < 1e-9);
    }
}
