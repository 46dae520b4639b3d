//! Calibration/holdout validation of the CLV model: fit on the data up to the calibration
//! end, predict each customer's purchases in the holdout, and compare with what they did.

use clientele_clv::{CalibrationData, FitOptions, HoldoutReport, holdout_validation};
use clientele_core::{ClvSummary, Day, TimeUnit};
use clientele_ingest::{Progress, load, refold};

use crate::pipeline::Kept;
use serde::{Deserialize, Serialize};

use crate::{Config, EngineError};

/// The validation result (per-customer vectors are not serialized).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Validation {
    /// Last day of the calibration period.
    pub calibration_end: Day,
    /// Last day of the holdout period.
    pub observation_end: Day,
    /// Model time unit.
    pub unit: TimeUnit,
    /// Customers in the calibration period.
    pub customers: usize,
    /// The model fitted on the calibration period.
    pub fit: clientele_clv::FitReport,
    /// Errors of the model and of the naive baseline, overall and by calibration frequency.
    pub report: HoldoutReport,
    /// With `[clv] model = "auto"`: every candidate's holdout error and the choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<clientele_clv::ModelComparison>,
}

/// Fits the configured CLV model up to `calibration_end` and validates it on the purchases
/// after it, up to the config's as-of date (default: the last date in the data).
pub fn validate(
    config: &Config,
    calibration_end: Day,
    progress: &dyn Progress,
) -> Result<Validation, EngineError> {
    validate_with(config, calibration_end, Kept::None, progress)
}

/// [`validate`] from rows an analysis already read or staged on its cluster (`analyze` with a
/// calibration end), or reading the input when there are none.
pub(crate) fn validate_with(
    config: &Config,
    calibration_end: Day,
    kept: Kept<'_>,
    progress: &dyn Progress,
) -> Result<Validation, EngineError> {
    let mut ingest = config.ingest_options()?;
    let observation_end = ingest.as_of;
    ingest.as_of = Some(calibration_end);
    ingest.holdout_end = Some(observation_end.unwrap_or(Day(i32::MAX)));
    let data = match (kept, &config.engine.cluster) {
        (Kept::Rows(rows), _) => refold(rows, &ingest, progress)?,
        (Kept::Staged(s), _) => s.load(&ingest, progress)?,
        (Kept::None, Some(url)) => {
            clientele_distributed::load(url, &ingest, config.engine.cluster_options(), progress)?
        }
        (Kept::None, None) => load(&ingest, progress)?,
    };
    let obs_end = match observation_end {
        Some(d) => d,
        None => data.stats.last_date.unwrap_or(calibration_end),
    };
    if obs_end <= calibration_end {
        return Err(EngineError::InvalidConfig(format!(
            "calibration end {calibration_end} must be before the end of the data ({obs_end}): choose an earlier calibration end"
        )));
    }
    let actual = data.holdout.unwrap_or_default();
    let summary = ClvSummary::from_table(&data.table)?;
    let cal = CalibrationData::from_summary(&summary)?;
    let opts = FitOptions {
        penalizer: config.clv.penalizer,
        ..FitOptions::default()
    };
    let unit = config.time.unit;
    let duration = match config.time.periods {
        crate::config::PeriodCounting::Elapsed => {
            f64::from(obs_end.0 - calibration_end.0) / unit.days()
        }
        // the holdout counts the periods after the calibration end's
        crate::config::PeriodCounting::Calendar => {
            (unit.period_of(obs_end) - unit.period_of(calibration_end)) as f64
        }
    };
    let (kind, comparison) = match config.clv.model.kind() {
        Some(kind) => (kind, None),
        None => {
            let c = clientele_clv::compare_on_holdout(&cal, duration, &actual, &opts)?;
            (c.chosen, Some(c))
        }
    };
    let fitted = clientele_clv::fit(kind, &cal.compress(), &opts)?;
    let report = holdout_validation(&fitted.model, &cal, duration, &actual)?;
    Ok(Validation {
        calibration_end,
        observation_end: obs_end,
        unit: config.time.unit,
        customers: data.table.len(),
        fit: fitted.report,
        report,
        comparison,
    })
}
