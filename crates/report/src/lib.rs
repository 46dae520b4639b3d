//! The analysis as ONE self-contained HTML page (`report.html`), in Chinese or English.
//!
//! Input is the engine's typed [`Summary`] (what `summary.json` holds, so `clientele report
//! summary.json` re-renders a run). The report computes and decides nothing: it formats what the
//! summary holds, in the order and selection the engine chose. A step that did not run is left
//! out, with a one-line note when the summary says why.
//!
//! Charts are ECharts options (plain JSON) drawn by the ECharts library embedded in the page at
//! build time (npm package pinned by `package-lock.json`, see `build.rs`); every chart also has a
//! static table of its numbers, shown when printing or when the crate was built without ECharts
//! ([`CHARTS_EMBEDDED`]).

use std::fmt;

use clientele_engine::Summary;
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

/// Why a report could not be rendered.
#[derive(Debug)]
pub enum ReportError {
    /// The template failed (a bug in this crate).
    Template(String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Template(e) => write!(f, "report template error: {e}"),
        }
    }
}

impl std::error::Error for ReportError {}

/// Renders the whole report as one self-contained HTML document.
pub fn render(summary: &Summary, lang: Lang) -> Result<String, ReportError> {
    page::render(&payload::build(summary, lang).payload, lang)
}

/// The data the page shows (sections, cards, tables, chart options), as embedded in the page's
/// `<script type="application/json" id="data">`. Independent of [`CHARTS_EMBEDDED`].
pub fn payload(summary: &Summary, lang: Lang) -> Value {
    payload::build(summary, lang).payload
}

/// Label keys the payload asked for that the language table lacks (empty when complete).
#[doc(hidden)]
pub fn missing_labels(summary: &Summary, lang: Lang) -> Vec<String> {
    payload::build(summary, lang).missing
}
