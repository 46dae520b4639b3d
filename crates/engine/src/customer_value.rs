//! The CLV step: fit the transaction model (or compare them, `model = "auto"`), then per
//! customer P(alive), expected purchases, purchase chances and the next purchase, CLV with
//! its interval, and the forecast per month; the section of `summary.json` that says how.

use clientele_clv::{CalibrationData, ClvOptions, FitOptions, GammaGamma};
use clientele_core::columns as col;
use clientele_core::{ClvSummary, ColumnData, CustomerTable, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::EngineError;
use crate::config::{ClvConfig, MonthLength, SpendModel};

/// The CLV step's result for `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClvSection {
    /// The transaction model's fit (params, SEs, LL in the data's units, convergence).
    pub model: clientele_clv::FitReport,
    /// The Gamma-Gamma fit, when spend was modelled.
    pub spend: Option<clientele_clv::SpendFitReport>,
    /// Horizon and discounting used.
    pub options: ClvOptions,
    /// Time unit of the model.
    pub unit: TimeUnit,
    /// Name of the expected-purchases column.
    pub expected_purchases_column: String,
    /// Σ expected purchases over the horizon.
    pub expected_purchases_total: f64,
    /// Σ CLV.
    pub clv_total: Option<f64>,
    /// Mean CLV.
    pub clv_mean: Option<f64>,
    /// Median CLV.
    pub clv_median: Option<f64>,
    /// Mean P(alive).
    pub p_alive_mean: f64,
    /// Distribution of CLV: customers and Σ CLV per bin (bins at quantile-rounded edges).
    pub clv_distribution: Vec<ClvBin>,
    /// Why there is no CLV although the purchase model was fitted (the spend model or the
    /// CLV sum failed, in the clv crate's words);
    /// `p_alive` and expected purchases are still in the table.
    pub clv_skipped: Option<String>,
    /// What the user must know about how CLV was computed, e.g. "Gamma-Gamma fitted without
    /// 1 extreme spender (mean spend > 357.24); their expected spend is their own mean (…)"
    /// (the typed detail is `spend.extreme_spenders`).
    #[serde(default)]
    pub notes: Vec<String>,
    /// With `[clv] model = "auto"`: the candidates, the criterion and the choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<clientele_clv::ModelComparison>,
    /// Expected purchases (and value, with a spend model) in each month of the horizon,
    /// summed over customers; undiscounted, so they add up to the horizon's totals.
    #[serde(default)]
    pub forecast: Vec<ForecastMonth>,
}

/// One month of [`ClvSection::forecast`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ForecastMonth {
    /// 1 for the first month after the as-of date.
    pub month: u32,
    /// First day of the month (the day after the as-of date for month 1).
    pub from: clientele_core::Day,
    /// Last day of the month (months are the model's month length: 30 days, or lifetimes'
    /// 4.345 weeks).
    pub to: clientele_core::Day,
    /// Σ expected purchases in the month.
    pub expected_purchases: f64,
    /// Σ expected value of those purchases (expected spend per purchase × purchases);
    /// None without a spend model.
    pub expected_value: Option<f64>,
}

/// The forecast months from per-month totals: month k ends k model months after `as_of`.
fn forecast_months(
    as_of: clientele_core::Day,
    days_per_month: f64,
    purchases: &[f64],
    value: Option<&[f64]>,
) -> Vec<ForecastMonth> {
    let end = |k: usize| clientele_core::Day(as_of.0 + (k as f64 * days_per_month).round() as i32);
    purchases
        .iter()
        .enumerate()
        .map(|(i, p)| ForecastMonth {
            month: (i + 1) as u32,
            from: clientele_core::Day(end(i).0 + 1),
            to: end(i + 1),
            expected_purchases: *p,
            expected_value: value.map(|v| v[i]),
        })
        .collect()
}

/// One bin of the CLV distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClvBin {
    /// Lower edge (inclusive).
    pub from: f64,
    /// Upper edge (exclusive; the last bin includes it).
    pub to: f64,
    /// Customers in the bin.
    pub customers: usize,
    /// Σ CLV of those customers.
    pub clv: f64,
    /// `clv` / Σ CLV of all bins; `None` when that total is not positive (absent from version 1
    /// summaries).
    #[serde(default)]
    pub clv_share: Option<f64>,
}

/// Bins with "nice" edges (1-2-5 steps) over the 0–99th percentile range, plus an open top bin,
/// so a few huge customers do not squash the chart. `sorted` is in `total_cmp` order;
/// non-finite values (which the CLV step rejects before) are left out rather than allowed to
/// turn the edges into NaN, which left no bins and indexed into the empty list.
pub(crate) fn clv_bins(sorted: &[f64]) -> Vec<ClvBin> {
    let sorted: Vec<f64> = sorted.iter().copied().filter(|v| v.is_finite()).collect();
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let lo = sorted[0].min(0.0);
    let p99 = sorted[((n as f64 * 0.99) as usize).min(n - 1)];
    let span = (p99 - lo).max(1e-9);
    let raw = span / 12.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    if !step.is_finite() || step <= 0.0 {
        // A range beyond f64 (±1e308 spans): one bin holds everyone.
        let clv: f64 = sorted.iter().sum();
        return vec![ClvBin {
            from: sorted[0],
            to: sorted[n - 1],
            customers: n,
            clv,
            clv_share: (clv > 0.0).then_some(1.0),
        }];
    }
    // Never above the lowest value (rounding of lo/step could put it one ulp above).
    let start = ((lo / step).floor() * step).min(lo);
    let mut bins: Vec<ClvBin> = Vec::new();
    let mut edge = start;
    while (bins.is_empty() || edge <= p99) && bins.len() < 40 {
        bins.push(ClvBin {
            from: edge,
            to: edge + step,
            customers: 0,
            clv: 0.0,
            clv_share: None,
        });
        edge += step;
    }
    let max = sorted[n - 1];
    if max >= edge {
        bins.push(ClvBin {
            from: edge,
            to: max,
            customers: 0,
            clv: 0.0,
            clv_share: None,
        });
    }
    for &v in &sorted {
        let i = (((v - start) / step).floor().max(0.0) as usize).min(bins.len() - 1);
        bins[i].customers += 1;
        bins[i].clv += v;
    }
    let total: f64 = bins.iter().map(|b| b.clv).sum();
    if total > 0.0 {
        for b in &mut bins {
            b.clv_share = Some(b.clv / total);
        }
    }
    bins
}

pub(crate) fn clv_step(
    table: &mut CustomerTable,
    cfg: &ClvConfig,
    unit: TimeUnit,
    as_of: clientele_core::Day,
    holdout_choice: Option<&clientele_clv::ModelComparison>,
) -> Result<ClvSection, EngineError> {
    let summary = ClvSummary::from_table(table)?;
    let data = CalibrationData::from_summary(&summary)?;
    let fit_opts = FitOptions {
        penalizer: cfg.penalizer,
        ..FitOptions::default()
    };
    let (fitted, comparison) = match (cfg.model.kind(), holdout_choice) {
        (Some(kind), _) => (clientele_clv::fit(kind, &data.compress(), &fit_opts)?, None),
        (None, Some(c)) => (
            clientele_clv::fit(c.chosen, &data.compress(), &fit_opts)?,
            Some(c.clone()),
        ),
        (None, None) => {
            let (c, f) = clientele_clv::compare_by_bic(&data.compress(), &fit_opts)?;
            (f, Some(c))
        }
    };
    let model = &fitted.model;
    let periods = match cfg.month {
        MonthLength::ThirtyDays => clientele_clv::clv::periods_per_month_30_days(unit),
        MonthLength::Lifetimes => clientele_clv::clv::periods_per_month_lifetimes(unit),
    };
    let options = ClvOptions::new(cfg.horizon_months, cfg.monthly_discount, periods)?;
    let horizon = f64::from(cfg.horizon_months) * periods;
    let p_alive = model.p_alive_all(&data);
    let expected = model.expected_purchases_all(horizon, &data);
    let col = format!("expected_purchases_{}m", cfg.horizon_months);
    let push = |t: &mut CustomerTable, name: &str, v: &[f64]| {
        t.set(
            name,
            ColumnData::Float(v.iter().map(|x| Some(*x)).collect()),
        )
    };
    // A NaN here would reach the table and the summary, whose JSON then does not read back
    // (null for a number), and stop a `--history monthly` run at some early month end.
    let bad = p_alive
        .iter()
        .chain(&expected)
        .filter(|v| !v.is_finite())
        .count();
    if bad > 0 {
        return Err(EngineError::Internal(format!(
            "the fitted {} model ({:?}) gives {bad} non-finite values of P(alive) or expected \
             purchases",
            fitted.report.model, fitted.report.params
        )));
    }
    push(table, col::P_ALIVE, &p_alive)?;
    push(table, &col, &expected)?;
    let mut section = ClvSection {
        model: fitted.report.clone(),
        spend: None,
        options,
        unit,
        expected_purchases_total: expected.iter().sum(),
        expected_purchases_column: col,
        clv_total: None,
        clv_mean: None,
        clv_median: None,
        p_alive_mean: p_alive.iter().sum::<f64>() / p_alive.len() as f64,
        clv_distribution: Vec::new(),
        clv_skipped: None,
        notes: Vec::new(),
        comparison,
        forecast: Vec::new(),
    };
    let months = cfg.horizon_months as usize;
    let days_per_month = periods * unit.days();
    let purchases_only = |section: &mut ClvSection| -> Result<(), EngineError> {
        let (purchases, _) =
            clientele_clv::forecast::period_totals(model, &data, periods, months, None)?;
        section.forecast = forecast_months(as_of, days_per_month, &purchases, None);
        Ok(())
    };
    if cfg.spend == SpendModel::GammaGamma {
        // The purchase model stands on its own: a spend model that cannot be fitted costs
        // the CLV column, not p_alive and the expected purchases already in the table.
        let spent = GammaGamma::fit(&summary.frequency, &summary.monetary_value, &fit_opts)
            .and_then(|(gg, spend)| {
                let value = gg.model.expected_average_values_with(
                    &summary.frequency,
                    &summary.monetary_value,
                    spend.own_mean_above(),
                )?;
                let clv = clientele_clv::clv::clv(model, &data, &value, &options)?;
                Ok((spend, value, clv))
            });
        let (spend, value, clv) = match spent {
            Ok(v) => v,
            Err(e) => {
                section.clv_skipped = Some(e.to_string());
                purchases_only(&mut section)?;
                return Ok(section);
            }
        };
        section.notes.extend(spend.note());
        let (purchases, money) =
            clientele_clv::forecast::period_totals(model, &data, periods, months, Some(&value))?;
        section.forecast = forecast_months(as_of, days_per_month, &purchases, money.as_deref());
        push(table, col::EXPECTED_VALUE, &value)?;
        push(table, col::CLV, &clv)?;
        let mut sorted = clv.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        section.clv_total = Some(clv.iter().sum());
        section.clv_mean = Some(clv.iter().sum::<f64>() / n as f64);
        section.clv_median = Some(if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        });
        section.spend = Some(spend);
        section.clv_distribution = clv_bins(&sorted);
    } else {
        purchases_only(&mut section)?;
    }
    Ok(section)
}

