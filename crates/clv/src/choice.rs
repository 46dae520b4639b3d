//! `model = "auto"`: fit the applicable transaction models, compare them and pick one by a
//! rule a user can check.
//!
//! The rule. Without a holdout, the lowest BIC = k·ln n − 2·LL (n customers, k parameters);
//! with one, the lowest holdout MAE per customer. A difference too small to matter (ΔBIC ≤ 2,
//! "not worth more than a bare mention" in Kass & Raftery 1995; or a holdout MAE within 1 %
//! of the best) is not a reason to leave the preferred order MBG/NBD, Pareto/NBD, BG/NBD:
//! MBG/NBD has closed forms and lets one-time buyers lapse, Pareto/NBD lets them lapse too
//! but costs hypergeometric functions, BG/NBD keeps every one-time buyer alive
//! (docs/MODEL_CHOICE.md).
//!
//! BG/BB is not a candidate: its likelihood is a probability of discrete opportunities, not a
//! density in continuous time, so its log-likelihood does not compare with the others'.

use serde::{Deserialize, Serialize};

use crate::data::CalibrationData;
use crate::error::{ClvError, FitHint, FitTrouble, Result};
use crate::fit::FitOptions;
use crate::model::{FittedModel, ModelKind, fit};
use crate::validation::holdout_validation;

/// The candidates of `model = "auto"`, in the order preferred when the criterion ties.
pub const AUTO_CANDIDATES: [ModelKind; 3] =
    [ModelKind::MbgNbd, ModelKind::ParetoNbd, ModelKind::BgNbd];

/// ΔBIC at or below which two models count as equally good.
pub const BIC_TIE: f64 = 2.0;

/// Iteration cap of each candidate's fit (the default is 1,000). A Pareto/NBD whose dropout
/// shows no heterogeneity (s, β → ∞) can otherwise run for minutes before failing; a model
/// that needs more than this is left out of the comparison with its reason.
pub const AUTO_MAX_ITERATIONS: usize = 150;

/// Relative holdout-MAE difference at or below which two models count as equally good.
pub const MAE_TIE: f64 = 0.01;

/// What the models were compared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Bayesian information criterion on the whole data (no calibration end given).
    Bic,
    /// Mean absolute error of each customer's purchases in the holdout period.
    HoldoutMae,
}

/// One model's line in the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Candidate {
    /// The model.
    pub model: ModelKind,
    /// Log-likelihood of the data it was fitted on; None when the fit failed.
    pub log_likelihood: Option<f64>,
    /// Number of parameters.
    pub parameters: usize,
    /// BIC; None when the fit failed.
    pub bic: Option<f64>,
    /// Holdout MAE per customer (holdout comparisons only).
    pub holdout_mae: Option<f64>,
    /// Holdout RMSE per customer (holdout comparisons only).
    pub holdout_rmse: Option<f64>,
    /// Why the model could not be fitted (the clv crate's words).
    pub error: Option<String>,
    /// The same in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_zh: Option<String>,
}

/// The comparison `model = "auto"` made, and its choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ModelComparison {
    /// What the models were compared by.
    pub criterion: Criterion,
    /// Every candidate, in the preferred order.
    pub candidates: Vec<Candidate>,
    /// The model with the best value of the criterion.
    pub best: ModelKind,
    /// The model chosen: `best`, or a model preferred before it whose criterion is within
    /// the tie margin ([`BIC_TIE`], [`MAE_TIE`]).
    pub chosen: ModelKind,
    /// The tie margin used (ΔBIC, or relative MAE).
    pub tie_margin: f64,
}

impl ModelComparison {
    /// The chosen candidate's line.
    pub fn chosen_candidate(&self) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.model == self.chosen)
    }
}

fn parameters(kind: ModelKind) -> usize {
    match kind {
        ModelKind::BgNbd | ModelKind::MbgNbd | ModelKind::ParetoNbd | ModelKind::BgBb => 4,
    }
}

/// Fits every candidate on `data` and picks by BIC. Returns the comparison and the chosen
/// model's fit; an error only when no candidate could be fitted (the first one's error).
pub fn compare_by_bic(
    data: &CalibrationData,
    opts: &FitOptions,
) -> Result<(ModelComparison, FittedModel)> {
    let n = data.total_weight();
    let opts = &capped(opts);
    let mut fits = Vec::new();
    let mut candidates = Vec::new();
    for kind in AUTO_CANDIDATES {
        let k = parameters(kind);
        match fit(kind, data, opts) {
            Ok(f) => {
                let ll = f.report.log_likelihood;
                candidates.push(Candidate {
                    model: kind,
                    log_likelihood: Some(ll),
                    parameters: k,
                    bic: Some(k as f64 * n.ln() - 2.0 * ll),
                    holdout_mae: None,
                    holdout_rmse: None,
                    error: None,
                    error_zh: None,
                });
                fits.push(Some(f));
            }
            Err(e) => {
                candidates.push(failed(kind, &e));
                fits.push(None);
            }
        }
    }
    let scores: Vec<Option<f64>> = candidates.iter().map(|c| c.bic).collect();
    let (best, chosen) =
        pick(&scores, |best, v| v - best <= BIC_TIE).ok_or_else(|| first_error(&candidates))?;
    let fitted = fits[chosen].take().expect("a chosen candidate has a fit");
    Ok((
        ModelComparison {
            criterion: Criterion::Bic,
            best: AUTO_CANDIDATES[best],
            chosen: AUTO_CANDIDATES[chosen],
            candidates,
            tie_margin: BIC_TIE,
        },
        fitted,
    ))
}

/// Fits every candidate on the calibration period and picks by holdout MAE per customer
/// (`actual`: each customer's purchases in the `duration` after it). The chosen kind is
/// then fitted on the whole data by the caller.
pub fn compare_on_holdout(
    calibration: &CalibrationData,
    duration: f64,
    actual: &[f64],
    opts: &FitOptions,
) -> Result<ModelComparison> {
    let n = calibration.total_weight();
    let opts = &capped(opts);
    let compressed = calibration.compress();
    let mut candidates = Vec::new();
    for kind in AUTO_CANDIDATES {
        let k = parameters(kind);
        let line = fit(kind, &compressed, opts).and_then(|f| {
            let report = holdout_validation(&f.model, calibration, duration, actual)?;
            let ll = f.report.log_likelihood;
            Ok(Candidate {
                model: kind,
                log_likelihood: Some(ll),
                parameters: k,
                bic: Some(k as f64 * n.ln() - 2.0 * ll),
                holdout_mae: Some(report.model.mae),
                holdout_rmse: Some(report.model.rmse),
                error: None,
                error_zh: None,
            })
        });
        candidates.push(line.unwrap_or_else(|e| failed(kind, &e)));
    }
    let scores: Vec<Option<f64>> = candidates.iter().map(|c| c.holdout_mae).collect();
    let (best, chosen) = pick(&scores, |best, v| v <= best * (1.0 + MAE_TIE))
        .ok_or_else(|| first_error(&candidates))?;
    Ok(ModelComparison {
        criterion: Criterion::HoldoutMae,
        best: AUTO_CANDIDATES[best],
        chosen: AUTO_CANDIDATES[chosen],
        candidates,
        tie_margin: MAE_TIE,
    })
}

fn capped(opts: &FitOptions) -> FitOptions {
    FitOptions {
        max_iterations: opts.max_iterations.min(AUTO_MAX_ITERATIONS),
        ..opts.clone()
    }
}

impl Candidate {
    /// [`Candidate::error`] in `lang` (English where no Chinese was given).
    pub fn error_in(&self, lang: clientele_core::Lang) -> Option<&str> {
        let zh = self.error_zh.as_deref();
        self.error
            .as_deref()
            .map(|en| lang.pick(zh.unwrap_or(en), en))
    }
}

fn failed(kind: ModelKind, e: &ClvError) -> Candidate {
    Candidate {
        model: kind,
        log_likelihood: None,
        parameters: parameters(kind),
        bic: None,
        holdout_mae: None,
        holdout_rmse: None,
        error: Some(e.to_string()),
        error_zh: Some(e.zh()),
    }
}

fn first_error(candidates: &[Candidate]) -> ClvError {
    let each =
        |f: fn(&Candidate) -> Option<&String>| candidates.iter().filter_map(f).cloned().collect();
    ClvError::FitFailed {
        model: "auto",
        reason: FitTrouble::EveryCandidate {
            en: each(|c| c.error.as_ref()),
            zh: each(|c| c.error_zh.as_ref()),
        },
        hint: FitHint::ChooseModel,
    }
}

/// (index of the lowest score, index of the first score in preferred order that ties with
/// it); None when no score is finite.
fn pick(scores: &[Option<f64>], ties: impl Fn(f64, f64) -> bool) -> Option<(usize, usize)> {
    let best = scores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.filter(|v| v.is_finite()).map(|v| (i, v)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let chosen = scores
        .iter()
        .position(|s| s.is_some_and(|v| v.is_finite() && ties(best.1, v)))
        .unwrap_or(best.0);
    Some((best.0, chosen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_score_wins_unless_a_preferred_model_ties() {
        let tie = |best: f64, v: f64| v - best <= 2.0;
        assert_eq!(pick(&[Some(10.0), Some(5.0), Some(9.0)], tie), Some((1, 1)));
        assert_eq!(pick(&[Some(6.5), Some(5.0), Some(9.0)], tie), Some((1, 0)));
        assert_eq!(pick(&[None, Some(5.0), Some(4.0)], tie), Some((2, 1)));
        assert_eq!(pick(&[None, Some(f64::NAN), None], tie), None);
    }
}
