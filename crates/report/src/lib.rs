//! The analysis as ONE self-contained HTML page (`report.html`), in Chinese or English.
//!
//! Input is the serialized analysis (`summary.json`, as a [`serde_json::Value`]), so this crate
//! depends only on serde_json and minijinja and `clientele report summary.json` can re-render.
//! The report computes no analytics: it selects and formats what the summary holds. Sections the
//! summary lacks are left out (with a one-line note when the summary says why), and unknown keys
//! are ignored, so newer engines never break older templates.
//!
//! Charts are ECharts options (plain JSON) drawn by the ECharts library embedded in the page at
//! build time (npm package pinned by `package-lock.json`, see `build.rs`); every chart also has a
//! static table of its numbers, shown when printing or when the crate was built without ECharts
//! ([`CHARTS_EMBEDDED`]).

use std::fmt;

use serde_json::Value;

mod fmt_num;
mod i18n;
mod page;
mod payload;

pub use i18n::{EN, ZH, label};

/// Whether this build embeds the ECharts library (false when it was built without npm).
pub const CHARTS_EMBEDDED: bool = cfg!(clientele_echarts);

/// The ECharts version embedded (the one pinned in `package-lock.json`), when [`CHARTS_EMBEDDED`].
pub const ECHARTS_VERSION: &str = "6.1.0";

/// The minified ECharts library, or "" when [`CHARTS_EMBEDDED`] is false.
pub const ECHARTS_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/echarts.min.js"));

/// Report language (the one language type of every clientele crate).
pub use clientele_core::Lang;

/// Optional sections the engine adds beside the summary. Each is the JSON the engine serializes;
/// a field that is `None` (or of an unexpected shape) leaves its section out. A key of the same
/// name inside the summary is used when the field here is `None`.
#[derive(Debug, Clone, Default)]
pub struct ReportExtras {
    /// Top customers: a JSON array of objects with customer-table columns (`customer_id`,
    /// `monetary`, `orders`, `recency_days`, `clv`, `p_alive`, `segment_cn8`, …), best first.
    pub top_customers: Option<Value>,
    /// Holdout validation (`clv::HoldoutReport` serialized: `duration`, `model`, `baseline`,
    /// `by_frequency[{frequency, n, mean_actual, mean_predicted, mean_baseline}]`, and optionally
    /// `tracking[{period, actual, predicted}]`, `calibration_end`, `holdout_end`).
    pub validation: Option<Value>,
    /// Migration against a previous snapshot (`lifecycle::Comparison` serialized).
    pub migration: Option<Value>,
    /// Behaviour distributions (see the `behaviour` key described in the crate README).
    pub behaviour: Option<Value>,
}

/// Why a report could not be rendered.
#[derive(Debug)]
pub enum ReportError {
    /// The summary is not a JSON object.
    NotAnObject,
    /// The template failed (a bug in this crate).
    Template(String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NotAnObject => f.write_str("the summary is not a JSON object"),
            ReportError::Template(e) => write!(f, "report template error: {e}"),
        }
    }
}

impl std::error::Error for ReportError {}

/// Renders the whole report as one self-contained HTML document.
pub fn render(summary: &Value, lang: Lang, extra: &ReportExtras) -> Result<String, ReportError> {
    let built = payload::build(summary, lang, extra)?;
    page::render(&built.payload, lang)
}

/// The data the page shows (sections, cards, tables, chart options), as embedded in the page's
/// `<script type="application/json" id="data">`. Independent of [`CHARTS_EMBEDDED`].
pub fn payload(summary: &Value, lang: Lang, extra: &ReportExtras) -> Result<Value, ReportError> {
    Ok(payload::build(summary, lang, extra)?.payload)
}

/// Label keys the payload asked for that the language table lacks (empty when complete).
#[doc(hidden)]
pub fn missing_labels(
    summary: &Value,
    lang: Lang,
    extra: &ReportExtras,
) -> Result<Vec<String>, ReportError> {
    Ok(payload::build(summary, lang, extra)?.missing)
}
