//! Calibration/holdout validation as a pure function: model predictions for the holdout
//! period against actual counts, next to a naive baseline.

use serde::{Deserialize, Serialize};

use crate::data::{CalibrationData, check_rows};
use crate::error::{ClvError, Result, non_negative_arg};
use crate::model::Model;

/// Error summary of one predictor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorSummary {
    /// Customers.
    pub n: usize,
    /// Mean absolute error per customer.
    pub mae: f64,
    /// Root mean squared error per customer.
    pub rmse: f64,
    /// Σ predicted holdout purchases.
    pub sum_predicted: f64,
    /// Σ actual holdout purchases.
    pub sum_actual: f64,
}

/// Customers grouped by calibration frequency (0, 1, …, 6, "7+").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FrequencyGroup {
    /// Group label.
    pub frequency: String,
    /// Customers in the group.
    pub n: usize,
    /// Mean actual holdout purchases.
    pub mean_actual: f64,
    /// Mean model prediction.
    pub mean_predicted: f64,
    /// Mean baseline prediction.
    pub mean_baseline: f64,
    /// Model errors within the group.
    pub model: ErrorSummary,
    /// Baseline errors within the group.
    pub baseline: ErrorSummary,
}

/// Result of [`holdout_validation`]; per-customer vectors are in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HoldoutReport {
    /// Holdout length in model time units.
    pub duration: f64,
    /// Model prediction per customer (not serialized: empty in a report read back).
    #[serde(skip)]
    pub predicted: Vec<f64>,
    /// Baseline prediction per customer: calibration rate x/T × duration (0 when T = 0); not
    /// serialized either.
    #[serde(skip)]
    pub baseline_predicted: Vec<f64>,
    /// Model errors over all customers.
    pub model: ErrorSummary,
    /// Baseline errors over all customers.
    pub baseline: ErrorSummary,
    /// The same by calibration frequency.
    pub by_frequency: Vec<FrequencyGroup>,
}

fn summarize(pred: &[f64], actual: &[f64]) -> ErrorSummary {
    let n = pred.len();
    let nf = n.max(1) as f64;
    let mae = pred
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).abs())
        .sum::<f64>()
        / nf;
    let mse = pred
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).powi(2))
        .sum::<f64>()
        / nf;
    ErrorSummary {
        n,
        mae,
        rmse: mse.sqrt(),
        sum_predicted: pred.iter().sum(),
        sum_actual: actual.iter().sum(),
    }
}

/// Compares the model's conditional expected purchases over `duration` with `actual`
/// holdout counts (one per calibration row; use unweighted per-customer data).
pub fn holdout_validation(
    model: &Model,
    calibration: &CalibrationData,
    duration: f64,
    actual: &[f64],
) -> Result<HoldoutReport> {
    non_negative_arg("duration", duration)?;
    let (x, tx, t) = (
        calibration.frequency(),
        calibration.recency(),
        calibration.age(),
    );
    check_rows(x, tx, t)?;
    if actual.len() != x.len() {
        return Err(ClvError::LengthMismatch {
            column: "actual",
            expected: x.len(),
            actual: actual.len(),
        });
    }
    let bad = actual
        .iter()
        .filter(|a| !(a.is_finite() && **a >= 0.0))
        .count();
    if bad > 0 {
        return Err(ClvError::InvalidArgument {
            name: "actual",
            value: bad as f64,
            rule: "holdout counts must be finite and >= 0 (value = offending rows)",
        });
    }
    let predicted = model.expected_purchases_all(duration, calibration);
    let baseline: Vec<f64> = x
        .iter()
        .zip(t)
        .map(|(&x, &t)| if t > 0.0 { x / t * duration } else { 0.0 })
        .collect();
    let mut by_frequency = Vec::new();
    for g in 0..=7u32 {
        let idx: Vec<usize> = (0..x.len())
            .filter(|&i| {
                let f = x[i];
                if g == 7 { f >= 7.0 } else { f == f64::from(g) }
            })
            .collect();
        if idx.is_empty() {
            continue;
        }
        let pick = |v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let (p, b, a) = (pick(&predicted), pick(&baseline), pick(actual));
        let nf = idx.len() as f64;
        by_frequency.push(FrequencyGroup {
            frequency: if g == 7 { "7+".into() } else { g.to_string() },
            n: idx.len(),
            mean_actual: a.iter().sum::<f64>() / nf,
            mean_predicted: p.iter().sum::<f64>() / nf,
            mean_baseline: b.iter().sum::<f64>() / nf,
            model: summarize(&p, &a),
            baseline: summarize(&b, &a),
        });
    }
    Ok(HoldoutReport {
        duration,
        model: summarize(&predicted, actual),
        baseline: summarize(&baseline, actual),
        predicted,
        baseline_predicted: baseline,
        by_frequency,
    })
}
