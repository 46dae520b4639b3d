//! The CLV step: fit the transaction model (or compare them, `model = "auto"`), then per
//! customer P(alive), expected purchases, purchase chances and the next purchase, CLV with
//! its interval, and the forecast per month; the section of `summary.json` that says how.

use clientele_clv::{CalibrationData, ClvOptions, FitOptions, GammaGamma};
use clientele_core::columns as col;
use clientele_core::{ClvSummary, ColumnData, CustomerTable, Note, TimeUnit};
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
    /// The same in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clv_skipped_zh: Option<String>,
    /// What the user must know about how CLV was computed, e.g. "Gamma-Gamma fitted without
    /// 1 extreme spender (mean spend > 357.24); their expected spend is their own mean (…)"
    /// (the typed detail is `spend.extreme_spenders`).
    #[serde(default)]
    pub notes: Vec<clientele_core::Note>,
    /// With `[clv] model = "auto"`: the candidates, the criterion and the choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<clientele_clv::ModelComparison>,
    /// Expected purchases (and value, with a spend model) in each whole month of the horizon,
    /// summed over customers; undiscounted, so over a horizon of whole months they add up to
    /// its totals.
    #[serde(default)]
    pub forecast: Vec<ForecastMonth>,
    /// The purchase chances per window (`[clv] purchase_windows`).
    #[serde(default)]
    pub purchase_windows: Vec<PurchaseWindow>,
    /// The next-purchase dates.
    #[serde(default)]
    pub next_purchase: Option<NextPurchase>,
    /// The date of the `p_alive_on` column (`[clv] alive_on`).
    #[serde(default)]
    pub alive_on: Option<clientele_core::Day>,
    /// How the CLV and expected-purchase intervals were drawn, and the totals' intervals.
    #[serde(default)]
    pub intervals: Option<clientele_clv::IntervalReport>,
    /// Why there are no intervals although they were asked for.
    #[serde(default)]
    pub intervals_skipped: Option<String>,
    /// The same in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals_skipped_zh: Option<String>,
    /// The covariates of the purchase model, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariates: Option<CovariateSection>,
    /// Who buys next: per group of the main RFM scheme (else the lifecycle stages), the
    /// customers likely to buy in the first purchase window.
    #[serde(default)]
    pub buy_next: Vec<BuyNextGroup>,
    /// Per-customer forecast for `forecast.parquet` (`[clv] forecast_per_customer`).
    #[serde(skip)]
    #[schemars(skip)]
    pub forecast_file: Option<ForecastFile>,
}

impl ClvSection {
    /// [`ClvSection::clv_skipped`] in `lang` (English where no Chinese was given).
    pub fn clv_skipped_in(&self, lang: clientele_core::Lang) -> Option<&str> {
        in_lang(lang, &self.clv_skipped, &self.clv_skipped_zh)
    }

    /// [`ClvSection::intervals_skipped`] in `lang` (English where no Chinese was given).
    pub fn intervals_skipped_in(&self, lang: clientele_core::Lang) -> Option<&str> {
        in_lang(lang, &self.intervals_skipped, &self.intervals_skipped_zh)
    }
}

fn in_lang<'a>(
    lang: clientele_core::Lang,
    en: &'a Option<String>,
    zh: &'a Option<String>,
) -> Option<&'a str> {
    en.as_deref()
        .map(|en| lang.pick(zh.as_deref().unwrap_or(en), en))
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

/// One purchase window of [`ClvSection::purchase_windows`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PurchaseWindow {
    /// The window in days after the as-of date.
    pub days: u32,
    /// Its column: `p_purchase_<days>d`.
    pub column: String,
    /// Σ of the chances: the customers expected to buy at least once in the window.
    pub expected_buyers: f64,
    /// Mean chance per customer.
    pub mean: f64,
    /// Customers whose chance is at least 50 %.
    pub likely_buyers: usize,
}

/// The next-purchase dates: how many customers have one, and why the others do not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NextPurchase {
    /// The column: `next_purchase_date`, the day by which the chance of having bought again
    /// reaches 50 %.
    pub column: String,
    /// How far ahead it looks (`[clv] next_purchase_max`).
    pub max: clientele_core::Span,
    /// Customers with a date.
    pub dated: usize,
    /// Customers without one: their chance of buying again within `max` stays below 50 %
    /// (mostly customers the model thinks have lapsed).
    pub empty: usize,
}

/// The covariates of the purchase model (`[clv] covariates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CovariateSection {
    /// The fit: coefficients, standard errors, likelihood-ratio test against no covariates.
    pub fit: clientele_clv::CovariateFit,
    /// Text columns: the level the others are compared with (the most common one).
    pub baselines: Vec<CovariateBaseline>,
}

/// A text covariate's baseline level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CovariateBaseline {
    /// The attribute column.
    pub column: String,
    /// Its level without a coefficient.
    pub baseline: String,
}

/// Each customer's expected purchases per month, for `forecast.parquet` (not serialized).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForecastFile {
    /// Months per customer.
    pub months: usize,
    /// Expected purchases, customer-major (`months` values per customer, table order).
    pub by_customer: Vec<f64>,
    /// Expected value per purchase per customer, with a spend model.
    pub value: Option<Vec<f64>>,
}

/// One group of [`ClvSection::buy_next`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BuyNextGroup {
    /// The grouping's key (`rfm_cn8`, `lifecycle`).
    pub grouping: String,
    /// The group, as in the table.
    pub group: String,
    /// The purchase window, in days.
    pub days: u32,
    /// Customers in the group.
    pub customers: usize,
    /// Of them, those with a chance of at least 50 % to buy in the window.
    pub likely_buyers: usize,
    /// Σ chances: the group's customers expected to buy in the window.
    pub expected_buyers: f64,
}

/// [`ClvSection::buy_next`] from the table's first purchase-chance column, grouped by the
/// main RFM segments or, without them, the lifecycle stages; groups with most expected
/// buyers first.
pub(crate) fn buy_next(table: &CustomerTable, clv: &ClvSection) -> Vec<BuyNextGroup> {
    let Some(window) = clv.purchase_windows.first() else {
        return Vec::new();
    };
    let Some(ColumnData::Float(p)) = table.get(&window.column) else {
        return Vec::new();
    };
    let grouping = [
        clientele_core::Grouping::Rfm(col::CN8_SCHEME.to_string()),
        clientele_core::Grouping::Lifecycle,
    ]
    .into_iter()
    .find(|g| matches!(table.get(&g.column()), Some(ColumnData::Text(_))));
    let Some(grouping) = grouping else {
        return Vec::new();
    };
    let Some(ColumnData::Text(groups)) = table.get(&grouping.column()) else {
        return Vec::new();
    };
    // added up by the group's code (each group's sum in row order, as by its name), then
    // named: no lookup of a name per customer (18M of them at 100M rows)
    let mut per_code = vec![(0usize, 0usize, 0.0f64); groups.labels().len()];
    for (i, p) in p.iter().enumerate() {
        let (Some(c), Some(p)) = (groups.code(i), p) else {
            continue;
        };
        let e = &mut per_code[c as usize];
        e.0 += 1;
        e.1 += usize::from(p >= 0.5);
        e.2 += p;
    }
    let mut by: std::collections::BTreeMap<&str, (usize, usize, f64)> = Default::default();
    for (label, e) in groups.labels().iter().zip(per_code) {
        if e.0 > 0 {
            by.insert(label, e);
        }
    }
    let key = grouping.key();
    let mut out: Vec<BuyNextGroup> = by
        .into_iter()
        .map(|(g, (customers, likely, expected))| BuyNextGroup {
            grouping: key.clone(),
            group: g.to_string(),
            days: window.days,
            customers,
            likely_buyers: likely,
            expected_buyers: expected,
        })
        .collect();
    out.sort_by(|a, b| {
        b.expected_buyers
            .total_cmp(&a.expected_buyers)
            .then_with(|| a.group.cmp(&b.group))
    });
    out
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

/// The fitted purchase model as each customer sees it: one model for everyone, or (with
/// covariates) each customer's own parameters.
enum Predictor {
    Shared(clientele_clv::Model),
    PerCustomer(Vec<clientele_clv::Model>),
}

/// Some of the customers, scored together: rows `rows` of the table and their histories (the
/// table's whole calibration data when the part is all of it).
struct Part<'a> {
    rows: std::ops::Range<usize>,
    data: std::borrow::Cow<'a, CalibrationData>,
}

impl Part<'_> {
    /// The part of rows `rows` of `data`: `data` itself when they are all of its rows, else a
    /// copy of theirs (made when the part is scored, so one part's copy is held at a time).
    fn of(
        data: &CalibrationData,
        rows: std::ops::Range<usize>,
    ) -> Result<Part<'_>, clientele_clv::ClvError> {
        if rows == (0..data.len()) {
            return Ok(Part {
                rows,
                data: std::borrow::Cow::Borrowed(data),
            });
        }
        let r = rows.clone();
        let d = CalibrationData::new(
            data.frequency()[r.clone()].to_vec(),
            data.recency()[r.clone()].to_vec(),
            data.age()[r].to_vec(),
        )?;
        Ok(Part {
            rows,
            data: std::borrow::Cow::Owned(d),
        })
    }
}

/// `start` plus `v` added in order: sums over parts equal to one sum over all the values, to
/// the last bit.
fn add_up(start: f64, v: &[f64]) -> f64 {
    v.iter().fold(start, |a, b| a + b)
}

/// What `[f64]::iter().sum()` starts from.
fn sum_start() -> f64 {
    std::iter::empty::<f64>().sum()
}

impl Predictor {
    /// `f(model, i)` for every customer of `part`, in parallel.
    fn each<T: Send>(
        models: &[clientele_clv::Model],
        part: &Part<'_>,
        f: impl Fn(&clientele_clv::Model, usize) -> T + Sync + Send,
    ) -> Vec<T> {
        use rayon::prelude::*;
        let models = &models[part.rows.clone()];
        (0..models.len())
            .into_par_iter()
            .map(|i| f(&models[i], i))
            .collect()
    }

    fn p_alive(&self, part: &Part<'_>) -> Vec<f64> {
        let d = part.data.as_ref();
        match self {
            Predictor::Shared(m) => m.p_alive_all(d),
            Predictor::PerCustomer(ms) => {
                let (x, tx, t) = (d.frequency(), d.recency(), d.age());
                Self::each(ms, part, |m, i| m.p_alive(x[i], tx[i], t[i]))
            }
        }
    }

    fn expected(&self, h: f64, part: &Part<'_>) -> Vec<f64> {
        let d = part.data.as_ref();
        match self {
            Predictor::Shared(m) => m.expected_purchases_all(h, d),
            Predictor::PerCustomer(ms) => {
                let (x, tx, t) = (d.frequency(), d.recency(), d.age());
                Self::each(ms, part, |m, i| m.expected_purchases(h, x[i], tx[i], t[i]))
            }
        }
    }

    fn p_purchase(&self, tau: f64, part: &Part<'_>) -> Result<Vec<f64>, EngineError> {
        let d = part.data.as_ref();
        Ok(match self {
            Predictor::Shared(m) => m.p_purchase_all(tau, d)?,
            Predictor::PerCustomer(ms) => {
                let (x, tx, t) = (d.frequency(), d.recency(), d.age());
                Self::each(ms, part, |m, i| m.p_purchase(tau, x[i], tx[i], t[i]))
                    .into_iter()
                    .collect::<Result<_, _>>()?
            }
        })
    }

    fn next_purchase(&self, max: f64, part: &Part<'_>) -> Result<Vec<Option<f64>>, EngineError> {
        let d = part.data.as_ref();
        Ok(match self {
            Predictor::Shared(m) => m.next_purchase_time_all(max, d)?,
            Predictor::PerCustomer(ms) => {
                let (x, tx, t) = (d.frequency(), d.recency(), d.age());
                Self::each(ms, part, |m, i| {
                    m.next_purchase_time(x[i], tx[i], t[i], max)
                })
                .into_iter()
                .collect::<Result<_, _>>()?
            }
        })
    }

    fn p_alive_at(&self, tau: f64, part: &Part<'_>) -> Result<Vec<f64>, EngineError> {
        let d = part.data.as_ref();
        Ok(match self {
            Predictor::Shared(m) => m.p_alive_at_all(tau, d)?,
            Predictor::PerCustomer(ms) => {
                let (x, tx, t) = (d.frequency(), d.recency(), d.age());
                Self::each(ms, part, |m, i| m.p_alive_at(tau, x[i], tx[i], t[i]))
                    .into_iter()
                    .collect::<Result<_, _>>()?
            }
        })
    }

    /// CLV of `part`'s customers, `value` their expected spend per purchase.
    fn clv(
        &self,
        part: &Part<'_>,
        value: &[f64],
        opts: &ClvOptions,
    ) -> Result<Vec<f64>, clientele_clv::ClvError> {
        let d = part.data.as_ref();
        match self {
            Predictor::Shared(m) => clientele_clv::clv::clv(m, d, value, opts),
            Predictor::PerCustomer(ms) => {
                let (x, tx, t) = (d.frequency(), d.recency(), d.age());
                Ok(Self::each(ms, part, |m, i| {
                    clientele_clv::clv::customer_clv(m, x[i], tx[i], t[i], value[i], opts)
                }))
            }
        }
    }

    /// Σ expected purchases (and value) per period of `length`, over all customers.
    fn forecast(
        &self,
        d: &CalibrationData,
        length: f64,
        periods: usize,
        value: Option<&[f64]>,
    ) -> Result<(Vec<f64>, Option<Vec<f64>>), EngineError> {
        match self {
            Predictor::Shared(m) => Ok(clientele_clv::forecast::period_totals(
                m, d, length, periods, value,
            )?),
            Predictor::PerCustomer(_) => {
                let by = self.by_period(d, length, periods)?;
                let mut purchases = vec![0.0; periods];
                let mut money = value.map(|_| vec![0.0; periods]);
                for (i, row) in by.chunks_exact(periods.max(1)).enumerate() {
                    for (k, v) in row.iter().enumerate() {
                        purchases[k] += v;
                        if let (Some(m), Some(val)) = (money.as_mut(), value) {
                            m[k] += v * val[i];
                        }
                    }
                }
                Ok((purchases, money))
            }
        }
    }

    /// Each customer's expected purchases per period, customer-major, for all customers.
    fn by_period(
        &self,
        d: &CalibrationData,
        length: f64,
        periods: usize,
    ) -> Result<Vec<f64>, EngineError> {
        match self {
            Predictor::Shared(m) => Ok(clientele_clv::forecast::expected_purchases_by_period(
                m, d, length, periods,
            )?),
            Predictor::PerCustomer(ms) => {
                let (x, tx, t) = (d.frequency(), d.recency(), d.age());
                let whole = Part {
                    rows: 0..d.len(),
                    data: std::borrow::Cow::Borrowed(d),
                };
                let rows = Self::each(ms, &whole, |m, i| {
                    let mut prev = 0.0;
                    (1..=periods)
                        .map(|k| {
                            let c = m.expected_purchases(k as f64 * length, x[i], tx[i], t[i]);
                            let inc = c - prev;
                            prev = c;
                            inc
                        })
                        .collect::<Vec<f64>>()
                });
                Ok(rows.into_iter().flatten().collect())
            }
        }
    }
}

/// The covariate matrix of `names` from the table: numbers as they are, text one-hot against
/// its most common value (the baseline, reported). A missing value or a date is an error
/// naming the column.
fn covariate_design(
    table: &CustomerTable,
    names: &[String],
) -> Result<(clientele_clv::Covariates, Vec<CovariateBaseline>), EngineError> {
    let mut columns = Vec::new();
    let mut baselines = Vec::new();
    for name in names {
        let bad = |why: String| {
            EngineError::InvalidConfig(format!("[clv] covariates: column `{name}` {why}"))
        };
        let data = table.get(name).ok_or_else(|| {
            bad(
                "is not in the customer table: name an attribute column (see `columns` in \
                 summary.json)"
                    .to_string(),
            )
        })?;
        let missing = |n: usize| {
            bad(format!(
                "is empty for {n} customers: fill it in the attributes file, or leave the \
                 column out of the covariates"
            ))
        };
        match data {
            ColumnData::Float(v) => {
                let vals: Vec<f64> = v.iter().flatten().collect();
                if vals.len() < v.len() {
                    return Err(missing(v.len() - vals.len()));
                }
                columns.push((name.clone(), vals));
            }
            ColumnData::Int(v) => {
                let vals: Vec<f64> = v.iter().flatten().map(|i| i as f64).collect();
                if vals.len() < v.len() {
                    return Err(missing(v.len() - vals.len()));
                }
                columns.push((name.clone(), vals));
            }
            ColumnData::Text(v) => {
                let vals: Vec<&str> = (0..v.len()).filter_map(|i| v.get(i)).collect();
                if vals.len() < v.len() {
                    return Err(missing(v.len() - vals.len()));
                }
                let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
                for l in &vals {
                    *counts.entry(l).or_default() += 1;
                }
                // the most common level is the baseline; ties go to the first in order
                let base = counts
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(l, _)| l.to_string())
                    .unwrap_or_default();
                if counts.len() > 50 {
                    return Err(bad(format!(
                        "has {} distinct values: a covariate with that many levels would add a \
                         coefficient each; group them first",
                        counts.len()
                    )));
                }
                for level in counts.keys().filter(|l| **l != base) {
                    columns.push((
                        format!("{name}={level}"),
                        vals.iter()
                            .map(|v| f64::from(u8::from(v == level)))
                            .collect(),
                    ));
                }
                if counts.len() == 1 {
                    // one level: let the clv crate say it cannot be used
                    columns.push((name.clone(), vec![1.0; vals.len()]));
                }
                baselines.push(CovariateBaseline {
                    column: name.clone(),
                    baseline: base,
                });
            }
            ColumnData::Date(_) => {
                return Err(bad(
                    "holds dates: use a number derived from it (e.g. an age in years)".to_string(),
                ));
            }
        }
    }
    Ok((clientele_clv::Covariates::from_columns(columns)?, baselines))
}

/// The covariate fit as the section's fit report: base parameters, then the coefficients.
fn covariate_report(f: &clientele_clv::CovariateFit) -> clientele_clv::FitReport {
    let mut report = f.without_covariates.clone();
    report.param_names = f
        .param_names
        .iter()
        .chain(&f.coefficient_names)
        .cloned()
        .collect();
    report.params = f.params.iter().chain(&f.coefficients).copied().collect();
    report.std_errors = match (&f.param_std_errors, &f.coefficient_std_errors) {
        (Some(a), Some(b)) => Some(a.iter().chain(b).copied().collect()),
        _ => None,
    };
    report.log_likelihood = f.log_likelihood;
    report.iterations = f.iterations;
    report.converged = f.converged;
    report.gradient_norm = f.gradient_norm;
    report.n_rows = f.n_rows;
    report.log_covariance = None;
    report
}

/// The horizon in months (whole or not) and its label in the expected-purchases column
/// (`12m`, `95w`, `2y`): `[clv] horizon` when set, else `horizon_months`. `days_per_month` is
/// the model's month (30 days, or lifetimes' 4.345 weeks).
fn horizon_of(cfg: &ClvConfig, days_per_month: f64) -> Result<(f64, String), EngineError> {
    use clientele_core::TimeUnit as U;
    let Some(span) = cfg.horizon else {
        return Ok((
            f64::from(cfg.horizon_months),
            format!("{}m", cfg.horizon_months),
        ));
    };
    if cfg.horizon_months != ClvConfig::default().horizon_months {
        return Err(EngineError::InvalidConfig(format!(
            "[clv] sets both horizon = \"{span}\" and horizon_months = {}: keep one",
            cfg.horizon_months
        )));
    }
    let months = match span.unit() {
        U::Months => span.count(),
        _ => span.days() / days_per_month,
    };
    let letter = match span.unit() {
        U::Days | U::NDays(_) => "d",
        U::Weeks => "w",
        U::Months => "m",
        U::Quarters => "q",
        U::Years => "y",
    };
    let count = if span.count().fract() == 0.0 {
        format!("{}", span.count())
    } else {
        format!("{:.2}", span.count())
            .trim_end_matches('0')
            .replace('.', "_")
    };
    Ok((months, format!("{count}{letter}")))
}

/// How many parts the customers were scored in, when more than one (a table kept on disk is
/// scored a batch of its columns at a time; the numbers are those of one pass).
fn parts_note(parts: &[std::ops::Range<usize>]) -> Option<Note> {
    let most = parts.iter().map(|r| r.len()).max()?;
    (parts.len() > 1).then(|| {
        Note::new(
            format!("分 {} 部分评分，每部分至多 {most} 位客户", parts.len()),
            format!(
                "scored in {} parts of at most {most} customers",
                parts.len()
            ),
        )
    })
}

/// What the predictions beyond P(alive) and expected purchases cost is worth only in a run
/// people read: a month end of `--history monthly` leaves them out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Predictions {
    /// Purchase chances, next purchase, intervals, forecasts.
    pub full: bool,
}

pub(crate) fn clv_step(
    table: &mut CustomerTable,
    cfg: &ClvConfig,
    unit: TimeUnit,
    as_of: clientele_core::Day,
    holdout_choice: Option<&clientele_clv::ModelComparison>,
    predictions: Predictions,
    laps: &mut crate::models::Laps,
) -> Result<ClvSection, EngineError> {
    let mut summary = ClvSummary::from_table(table)?;
    // a table kept on disk lets go of the columns just copied (600 MB at 18M customers)
    table.release();
    let data = CalibrationData::from_summary(&summary)?;
    // recency and age live on in `data`; the spend model reads frequency and spend only
    summary.recency = Vec::new();
    summary.t = Vec::new();
    let fit_opts = FitOptions {
        penalizer: cfg.penalizer,
        ..FitOptions::default()
    };
    let mut covariates = None;
    let (report, predictor, comparison) = if cfg.covariates.is_empty() {
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
        (fitted.report, Predictor::Shared(fitted.model), comparison)
    } else {
        use clientele_clv::{CovariateModel, ModelKind};
        let kind = match cfg.model.kind() {
            Some(ModelKind::ParetoNbd) => CovariateModel::ParetoNbd,
            Some(ModelKind::BgNbd) => CovariateModel::BgNbd,
            _ => {
                return Err(EngineError::InvalidConfig(format!(
                    "[clv] covariates work with model = \"pareto_nbd\" or \"bg_nbd\" (as in \
                     CLVTools), not \"{}\": set one of them, or remove the covariates",
                    serde_json::to_value(cfg.model)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )));
            }
        };
        let (design, baselines) = covariate_design(table, &cfg.covariates)?;
        let cov_opts = clientele_clv::CovariateOptions {
            on: cfg.covariates_on,
            ..Default::default()
        };
        let fit = clientele_clv::fit_with_covariates(kind, &data, &design, &cov_opts, &fit_opts)?;
        let models = fit.customer_models(&design)?;
        let report = covariate_report(&fit);
        covariates = Some(CovariateSection { fit, baselines });
        (report, Predictor::PerCustomer(models), None)
    };
    let periods = match cfg.month {
        MonthLength::ThirtyDays => clientele_clv::clv::periods_per_month_30_days(unit),
        MonthLength::Lifetimes => clientele_clv::clv::periods_per_month_lifetimes(unit),
    };
    let (model, iterations, rows) = (&report.model, report.iterations, report.n_rows);
    let (chosen_zh, chosen_en) = if comparison.is_some() {
        ("，在比较的模型中选定", ", chosen among the models compared")
    } else {
        ("", "")
    };
    laps.lap(
        Note::new("CLV 拟合", "CLV fit"),
        Some(Note::new(
            format!("{model}，在 {rows} 种不同历史上迭代 {iterations} 次{chosen_zh}"),
            format!("{model}, {iterations} iterations on {rows} distinct histories{chosen_en}"),
        )),
    );
    let (months_f, label) = horizon_of(cfg, periods * unit.days())?;
    let options = ClvOptions::new(cfg.horizon_months, cfg.monthly_discount, periods)?
        .with_horizon(months_f)?;
    let horizon = options.horizon_months() * periods;
    let col = format!("expected_purchases_{label}");
    let floats = |v: &[f64]| ColumnData::Float(v.iter().map(|x| Some(*x)).collect());
    // Each part of the customers scored with the fitted model and written; the sums run on
    // over the parts in row order, so they are those of one pass over every customer.
    // the parts the table is scored in (CustomerTable::part_ranges): a table kept on disk a
    // batch of its store at a time, one in memory whole
    let parts = table.part_ranges();
    let mut made = table.part_columns();
    let (mut expected_purchases_total, mut p_alive_sum, mut bad) = (sum_start(), sum_start(), 0);
    for rows in &parts {
        let part = &Part::of(&data, rows.clone())?;
        let p_alive = predictor.p_alive(part);
        let expected = predictor.expected(horizon, part);
        bad += p_alive
            .iter()
            .chain(&expected)
            .filter(|v| !v.is_finite())
            .count();
        p_alive_sum = add_up(p_alive_sum, &p_alive);
        expected_purchases_total = add_up(expected_purchases_total, &expected);
        made.append(col::P_ALIVE, ColumnData::Float(p_alive.into()))?;
        made.append(&col, ColumnData::Float(expected.into()))?;
    }
    // A NaN here would reach the table and the summary, whose JSON then does not read back
    // (null for a number), and stop a `--history monthly` run at some early month end.
    if bad > 0 {
        return Err(EngineError::Internal(format!(
            "the fitted {} model ({:?}) gives {bad} non-finite values of P(alive) or expected \
             purchases",
            report.model, report.params
        )));
    }
    table.set_parts(made)?;
    let p_alive_mean = p_alive_sum / data.len() as f64;
    laps.lap(
        Note::new(
            "CLV 存活概率与预期购买",
            "CLV P(alive) and expected purchases",
        ),
        parts_note(&parts),
    );
    let mut section = ClvSection {
        model: report,
        spend: None,
        options,
        unit,
        expected_purchases_total,
        expected_purchases_column: col.clone(),
        clv_total: None,
        clv_mean: None,
        clv_median: None,
        p_alive_mean,
        clv_distribution: Vec::new(),
        clv_skipped: None,
        clv_skipped_zh: None,
        notes: Vec::new(),
        comparison,
        forecast: Vec::new(),
        purchase_windows: Vec::new(),
        next_purchase: None,
        alive_on: None,
        intervals: None,
        intervals_skipped: None,
        intervals_skipped_zh: None,
        covariates,
        forecast_file: None,
        buy_next: Vec::new(),
    };
    if predictions.full {
        purchase_chances(
            table,
            cfg,
            unit,
            as_of,
            &predictor,
            (&data, &parts),
            &mut section,
        )?;
        laps.lap(
            Note::new(
                "CLV 购买概率与下次购买",
                "CLV purchase chances and next purchase",
            ),
            None,
        );
    }
    let n = cfg.interval_draws;
    let draws = |section: &ClvSection| {
        Some(match &section.intervals {
            Some(r) if r.linear => Note::new(
                "线性化：参数各方向 ±1 个标准差（delta 方法）",
                "linearised: ±1 standard deviation along each parameter axis (delta method)",
            ),
            _ => Note::new(format!("{n} 次参数抽样"), format!("{n} parameter draws")),
        })
    };
    let intervals_step = || Note::new("CLV 区间", "CLV intervals");
    // the forecast covers the whole months of the horizon
    let months = options.months as usize;
    let days_per_month = periods * unit.days();
    let forecast = |section: &mut ClvSection, value: Option<&[f64]>| -> Result<(), EngineError> {
        if !predictions.full {
            return Ok(());
        }
        let (purchases, money) = predictor.forecast(&data, periods, months, value)?;
        section.forecast = forecast_months(as_of, days_per_month, &purchases, money.as_deref());
        Ok(())
    };
    let mut value_per_purchase = None;
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
                let mut clv = Vec::with_capacity(value.len());
                for rows in &parts {
                    let part = Part::of(&data, rows.clone())?;
                    clv.extend(predictor.clv(&part, &value[rows.clone()], &options)?);
                }
                Ok((gg.model, spend, value, clv))
            });
        match spent {
            Ok((gg, spend, value, clv)) => {
                section.notes.extend(spend.note());
                forecast(&mut section, Some(&value))?;
                table.set_all(vec![
                    (col::EXPECTED_VALUE.to_string(), floats(&value)),
                    (col::CLV.to_string(), floats(&clv)),
                ])?;
                // kept only for `forecast.parquet`
                let value = (predictions.full && cfg.forecast_per_customer).then_some(value);
                let n = clv.len();
                section.clv_total = Some(clv.iter().sum());
                section.clv_mean = Some(clv.iter().sum::<f64>() / n as f64);
                // sorted in place (the column is in the table already), on every core: values
                // equal under `total_cmp` are the same bits, so any sort gives this order
                let mut sorted = clv;
                rayon::slice::ParallelSliceMut::par_sort_unstable_by(
                    &mut sorted[..],
                    f64::total_cmp,
                );
                section.clv_median = Some(if n % 2 == 1 {
                    sorted[n / 2]
                } else {
                    (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
                });
                section.clv_distribution = clv_bins(&sorted);
                drop(sorted);
                laps.lap(
                    Note::new(
                        "CLV 消费模型、价值与预测",
                        "CLV spend model, values and forecast",
                    ),
                    None,
                );
                if predictions.full && cfg.intervals {
                    let input = clientele_clv::SpendInput {
                        model: &gg,
                        log_covariance: spend.log_covariance(),
                        frequency: &summary.frequency,
                        monetary: &summary.monetary_value,
                        own_mean_above: spend.own_mean_above(),
                    };
                    intervals(
                        table,
                        cfg,
                        &predictor,
                        Some(&input),
                        &data,
                        horizon,
                        &mut section,
                    )?;
                    laps.lap(intervals_step(), draws(&section));
                }
                section.spend = Some(spend);
                value_per_purchase = value;
            }
            Err(e) => {
                section.clv_skipped = Some(e.to_string());
                section.clv_skipped_zh = Some(e.zh());
                forecast(&mut section, None)?;
                laps.lap(
                    Note::new(
                        "CLV 消费模型（未拟合）与预测",
                        "CLV spend model (not fitted) and forecast",
                    ),
                    None,
                );
                if predictions.full && cfg.intervals {
                    intervals(table, cfg, &predictor, None, &data, horizon, &mut section)?;
                    laps.lap(intervals_step(), draws(&section));
                }
            }
        }
    } else {
        forecast(&mut section, None)?;
        laps.lap(Note::new("CLV 预测", "CLV forecast"), None);
        if predictions.full && cfg.intervals {
            intervals(table, cfg, &predictor, None, &data, horizon, &mut section)?;
            laps.lap(intervals_step(), draws(&section));
        }
    }
    if predictions.full && cfg.forecast_per_customer {
        let by = predictor.by_period(&data, periods, months)?;
        section.forecast_file = Some(ForecastFile {
            months,
            by_customer: by,
            value: value_per_purchase,
        });
        laps.lap(
            Note::new("CLV 逐顾客预测", "CLV forecast per customer"),
            None,
        );
    }
    Ok(section)
}

/// `p_purchase_<N>d` per window, `next_purchase_date`, and the summary of both, a part of
/// the customers at a time.
fn purchase_chances(
    table: &mut CustomerTable,
    cfg: &ClvConfig,
    unit: TimeUnit,
    as_of: clientele_core::Day,
    predictor: &Predictor,
    (data, parts): (&CalibrationData, &[std::ops::Range<usize>]),
    section: &mut ClvSection,
) -> Result<(), EngineError> {
    let mut windows: Vec<u32> = cfg.purchase_windows.clone();
    windows.sort_unstable();
    windows.dedup();
    let alive_on = match cfg.alive_on {
        Some(day) if day <= as_of => {
            return Err(EngineError::InvalidConfig(format!(
                "[clv] alive_on = {day} is not after the as-of date {as_of}: choose a later date"
            )));
        }
        Some(day) => Some((day, f64::from(day.0 - as_of.0) / unit.days())),
        None => None,
    };
    let max_days = cfg.next_purchase_max.days();
    let mut made = table.part_columns();
    // per window: Σ P(purchase) and the customers at 0.5 or more
    let mut chances = vec![(sum_start(), 0usize); windows.len()];
    let mut dated = 0;
    for rows in parts {
        let part = &Part::of(data, rows.clone())?;
        for (&days, (sum, likely)) in windows.iter().zip(&mut chances) {
            let p = predictor.p_purchase(f64::from(days) / unit.days(), part)?;
            *sum = add_up(*sum, &p);
            *likely += p.iter().filter(|v| **v >= 0.5).count();
            made.append(&format!("p_purchase_{days}d"), ColumnData::Float(p.into()))?;
        }
        if let Some((_, tau)) = alive_on {
            let p = predictor.p_alive_at(tau, part)?;
            made.append(col::P_ALIVE_ON, ColumnData::Float(p.into()))?;
        }
        let next = predictor.next_purchase(max_days / unit.days(), part)?;
        let dates: Vec<Option<clientele_core::Day>> = next
            .iter()
            .map(|t| {
                t.map(|t| {
                    // a purchase expected within the day after the as-of date is due tomorrow
                    let days = (t * unit.days()).ceil().max(1.0);
                    clientele_core::Day(as_of.0.saturating_add(days as i32))
                })
            })
            .collect();
        dated += dates.iter().filter(|d| d.is_some()).count();
        made.append(
            col::NEXT_PURCHASE_DATE,
            ColumnData::Date(dates.into_iter().collect()),
        )?;
    }
    table.set_parts(made)?;
    let n = table.len().max(1) as f64;
    for (&days, (sum, likely)) in windows.iter().zip(chances) {
        section.purchase_windows.push(PurchaseWindow {
            days,
            column: format!("p_purchase_{days}d"),
            expected_buyers: sum,
            mean: sum / n,
            likely_buyers: likely,
        });
    }
    section.alive_on = alive_on.map(|(day, _)| day);
    section.next_purchase = Some(NextPurchase {
        column: col::NEXT_PURCHASE_DATE.to_string(),
        max: cfg.next_purchase_max,
        dated,
        empty: table.len() - dated,
    });
    Ok(())
}

/// The values of a float column with none missing (what the CLV steps write), else None:
/// a column read from disk without a copy.
fn full_floats(c: std::borrow::Cow<'_, ColumnData>) -> Option<Vec<f64>> {
    match c {
        std::borrow::Cow::Owned(ColumnData::Float(v)) => v.into_full(),
        std::borrow::Cow::Borrowed(ColumnData::Float(v)) if v.missing() == 0 => {
            Some(v.values().to_vec())
        }
        _ => None,
    }
}

/// `clv_p05`/`clv_p95` and the expected purchases' interval columns, from draws of the
/// fitted parameters; a model without its covariance (covariates) says why there are none.
fn intervals(
    table: &mut CustomerTable,
    cfg: &ClvConfig,
    predictor: &Predictor,
    spend: Option<&clientele_clv::SpendInput<'_>>,
    data: &CalibrationData,
    horizon: f64,
    section: &mut ClvSection,
) -> Result<(), EngineError> {
    let (Predictor::Shared(model), Some(cov)) = (predictor, section.model.log_covariance.clone())
    else {
        section.intervals_skipped = Some(
            "intervals are drawn from the covariance of a model without covariates; this run \
             fits covariates"
                .to_string(),
        );
        section.intervals_skipped_zh =
            Some("区间由不含协变量的模型的协方差抽样得到；本次运行拟合了协变量".to_string());
        return Ok(());
    };
    let opts =
        clientele_clv::IntervalOptions::new(cfg.interval_draws, cfg.interval_seed, (0.05, 0.95))?
            .with_method(cfg.interval_method);
    // the point estimates as the steps before made them, in the table (read once for this
    // step from a table kept on disk, and taken over; copied from a table in memory)
    let base = section.expected_purchases_column.clone();
    let read = |name: &str| table.column_once(name).ok().and_then(full_floats);
    let points = read(&base).map(|purchases| clientele_clv::PointEstimates {
        purchases,
        values: spend.and_then(|_| read(col::EXPECTED_VALUE)),
        clv: spend.and_then(|_| read(col::CLV)),
    });
    let r = match clientele_clv::customer_intervals_around(
        model,
        &cov,
        spend,
        data,
        &section.options,
        horizon,
        &opts,
        points,
    ) {
        Ok(r) => r,
        Err(e) => {
            section.intervals_skipped = Some(e.to_string());
            section.intervals_skipped_zh = Some(e.zh());
            return Ok(());
        }
    };
    let float = |v: Vec<f64>| ColumnData::Float(v.into());
    let mut made = vec![
        (format!("{base}_p05"), float(r.purchases.lower)),
        (format!("{base}_p95"), float(r.purchases.upper)),
    ];
    if let Some(clv) = r.clv {
        made.push((col::CLV_P05.to_string(), float(clv.lower)));
        made.push((col::CLV_P95.to_string(), float(clv.upper)));
    }
    table.set_all(made)?;
    section.intervals = Some(r.report);
    Ok(())
}
