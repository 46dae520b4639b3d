//! The `[rfm]` TOML section as plain serde structs. Unknown keys are errors; meaning is checked
//! when an [`crate::RfmModel`] is built from it (parse, then validate once).
//!
//! ```toml
//! [rfm]
//! bins = 5                      # default levels per metric (2..=9)
//! frequency = "orders"          # orders | purchase_days
//! monetary = "sum"              # sum (column `monetary`) | mean (column `avg_order_value`)
//! schemes = ["cn8", "rf10", "rfm11", "pymc", "my_grid"]
//!
//! [rfm.r]                       # also [rfm.f], [rfm.m]; all optional
//! method = "fixed"              # balanced (default) | quantile | ntile | fixed | vs_mean | vs_median
//! cuts = [30, 90, 180, 365]     # fixed only: increasing raw cut points, bins = cuts + 1
//!
//! [rfm.cn8]
//! reference = "mean"            # mean | median | value
//! on = "raw"                    # raw values | score
//! strict = true                 # equal to the reference counts as low
//!
//! [[rfm.custom]]
//! name = "my_grid"
//! rules = [
//!   { zh = "高价值", en = "High value", r = [4, 5], f = [4, 5], m = [1, 5] },
//!   { zh = "其他", en = "Other" },   # omitted ranges cover every level
//! ]
//! ```

use clientele_core::columns as col;
use serde::{Deserialize, Serialize};

use crate::thresholds::Thresholds;

/// The `[rfm]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct RfmConfig {
    /// Default number of score levels for every metric.
    pub bins: u8,
    /// What "frequency" counts.
    pub frequency: FrequencyDef,
    /// What "monetary" means.
    pub monetary: MonetaryDef,
    /// Recency scorer (most recent = highest score).
    pub r: MetricConfig,
    /// Frequency scorer.
    pub f: MetricConfig,
    /// Monetary scorer.
    pub m: MetricConfig,
    /// Schemes to apply, in output order. `None`: every built-in scheme that fits the bins,
    /// then every custom scheme.
    pub schemes: Option<Vec<String>>,
    /// The Chinese 8-class scheme's comparison.
    pub cn8: Cn8Config,
    /// User-defined grid schemes.
    pub custom: Vec<CustomScheme>,
    /// Thresholds from an earlier run; when set, they are used instead of being recomputed.
    pub frozen: Option<Thresholds>,
}

impl Default for RfmConfig {
    fn default() -> Self {
        RfmConfig {
            bins: 5,
            frequency: FrequencyDef::Orders,
            monetary: MonetaryDef::Sum,
            r: MetricConfig::default(),
            f: MetricConfig::default(),
            m: MetricConfig::default(),
            schemes: None,
            cn8: Cn8Config::default(),
            custom: Vec::new(),
            frozen: None,
        }
    }
}

/// Frequency definition: the customer-table column it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FrequencyDef {
    /// Column `orders` (distinct orders, or purchase days without order ids).
    #[default]
    Orders,
    /// Column `purchase_days` (distinct days with a purchase; PyMC-Marketing's convention).
    PurchaseDays,
}

impl FrequencyDef {
    /// The customer-table column.
    pub fn column(self) -> &'static str {
        match self {
            FrequencyDef::Orders => col::ORDERS,
            FrequencyDef::PurchaseDays => col::PURCHASE_DAYS,
        }
    }
}

/// Monetary definition: the customer-table column it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MonetaryDef {
    /// Column `monetary`: total net amount.
    #[default]
    Sum,
    /// Column `avg_order_value`: mean amount per order (PyMC-Marketing uses a mean).
    Mean,
}

impl MonetaryDef {
    /// The customer-table column.
    pub fn column(self) -> &'static str {
        match self {
            MonetaryDef::Sum => col::MONETARY,
            MonetaryDef::Mean => col::AVG_ORDER_VALUE,
        }
    }
}

/// How raw values become scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The default: the `quantile` cut points when every level gets customers; otherwise (ties
    /// on discrete counts: half of all customers with 1 order puts the 20 % and 40 % quantiles
    /// both at 1 and leaves F2 empty) cut points on the distinct values, chosen left to right,
    /// each as close as possible to an equal share of the customers not yet placed. Ties stay
    /// together, no level is empty while there are at least as many distinct values as levels,
    /// and the levels are as even as ties allow (CDNOW orders: 1 | 2 | 3 | 4–5 | 6+ instead of
    /// 1 | empty | 2 | 3–4 | 5+). Scores are then comparable across customers (equal values,
    /// equal score) without a level a marketer reads as a bug.
    #[default]
    Balanced,
    /// Value cut points at quantiles (type 7, as R and numpy); ties stay together, so a level can
    /// be empty when many customers share a value (R `rfm`, `pandas.qcut`).
    Quantile,
    /// Equal-count levels (SQL `NTILE`); ties are split by customer id.
    Ntile,
    /// User-given cut points.
    Fixed,
    /// Two levels: above / below the mean.
    VsMean,
    /// Two levels: above / below the median.
    VsMedian,
}

impl Method {
    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            Method::Balanced => "balanced",
            Method::Quantile => "quantile",
            Method::Ntile => "ntile",
            Method::Fixed => "fixed",
            Method::VsMean => "vs_mean",
            Method::VsMedian => "vs_median",
        }
    }
}

/// One metric's scorer (`[rfm.r]`, `[rfm.f]`, `[rfm.m]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct MetricConfig {
    /// Scoring method.
    pub method: Method,
    /// Levels (default: `rfm.bins`; `fixed` derives it from `cuts`, `vs_*` always use 2).
    pub bins: Option<u8>,
    /// `fixed` only: increasing raw-value cut points. A value equal to a cut point falls in the
    /// lower raw bin (bins are `(cut_{i-1}, cut_i]`, as `pandas.cut` and R's `rfm`).
    pub cuts: Option<Vec<f64>>,
    /// `vs_mean` / `vs_median` only: `true` (default) means a value equal to the reference
    /// counts as low, as in Wyn Enterprise; `false` counts it as high (Power BI tutorial).
    pub strict: Option<bool>,
}

/// What the 8-class scheme compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// Population mean (Wyn, Kingdee, Aliyun default).
    #[default]
    Mean,
    /// Population median (Power BI 中值 variant).
    Median,
    /// Given values (`[rfm.cn8.values]`).
    Value,
}

/// Whether the 8-class scheme compares raw values or scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CompareOn {
    /// Raw `recency_days` / frequency / monetary (Wyn).
    #[default]
    Raw,
    /// R/F/M scores (Aliyun Quick Audience compares scores with the average score).
    Score,
}

/// `[rfm.cn8]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Cn8Config {
    /// Mean, median, or given values.
    pub reference: Reference,
    /// Raw values or scores.
    pub on: CompareOn,
    /// `true`: equal to the reference is low (R high needs recency_days strictly below it).
    pub strict: bool,
    /// The reference values when `reference = "value"`.
    pub values: Option<Cn8Values>,
}

impl Default for Cn8Config {
    fn default() -> Self {
        Cn8Config {
            reference: Reference::Mean,
            on: CompareOn::Raw,
            strict: true,
            values: None,
        }
    }
}

/// Reference values for the 8-class split, in the units compared (days/raw or score).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Cn8Values {
    /// Recency reference (days when on raw values; R is high below it).
    pub r: f64,
    /// Frequency reference.
    pub f: f64,
    /// Monetary reference.
    pub m: f64,
}

/// `[[rfm.custom]]`: a named grid of rules over (R, F, M) scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomScheme {
    /// Scheme name (used in `rfm.schemes` and as the output key).
    pub name: String,
    /// Rules; every (R, F, M) cell must be matched by exactly one rule unless
    /// `first_match = true` (then the first matching rule wins) or a `default` is given.
    pub rules: Vec<CustomRule>,
    /// Evaluate rules in order, first match wins; overlaps are allowed but a rule that never
    /// wins is still an error.
    #[serde(default)]
    pub first_match: bool,
    /// Name for cells no rule covers; without it uncovered cells are an error.
    #[serde(default)]
    pub default: Option<SegmentNames>,
}

/// Chinese and English names of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SegmentNames {
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
}

/// One rule: inclusive score ranges `[low, high]`; an omitted range is every level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomRule {
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// R score range.
    #[serde(default)]
    pub r: Option<[u8; 2]>,
    /// F score range.
    #[serde(default)]
    pub f: Option<[u8; 2]>,
    /// M score range.
    #[serde(default)]
    pub m: Option<[u8; 2]>,
}
