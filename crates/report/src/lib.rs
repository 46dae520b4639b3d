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

pub use i18n::{EN, ZH, column_label, label};

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

/// `report.html` in the run's language, to be written with a run's outputs (`analyze`, `demo`,
/// a refresh of `clientele serve`); none for a run that stopped after the customer table.
pub fn report_files(summary: &Summary) -> Result<Vec<clientele_engine::ExtraFile>, ReportError> {
    if summary.rfm.is_none() {
        return Ok(Vec::new());
    }
    Ok(vec![clientele_engine::ExtraFile {
        name: "report.html".into(),
        bytes: render(summary, summary.lang)?.into_bytes(),
    }])
}

/// Renders the whole report as one self-contained HTML document.
pub fn render(summary: &Summary, lang: Lang) -> Result<String, ReportError> {
    page::render(&payload::build(summary, lang).payload, lang)
}

/// The data the page shows (sections, cards, tables, chart options), as embedded in the page's
/// `<script type="application/json" id="data">`. Independent of [`CHARTS_EMBEDDED`].
pub fn payload(summary: &Summary, lang: Lang) -> Value {
    payload::build(summary, lang).payload
}

/// Sections of [`payload`] (items of its `sections`) rendered as the report renders them, for
/// another surface that shows some of the report's sections (the dashboard of `clientele
/// serve`): the page must also hold `{"lang": …, "sections": [those sections]}` as
/// `<script type="application/json" id="data">` (see [`script_json`]) and load
/// [`assets::CSS`], [`ECHARTS_JS`] (when [`CHARTS_EMBEDDED`]) and then [`assets::APP_JS`],
/// which draws the charts.
pub fn render_sections(sections: &[Value], lang: Lang) -> Result<String, ReportError> {
    page::render_sections(sections, lang)
}

/// JSON to put inside an inline `<script>` element: nothing in it can end or confuse the
/// element.
pub fn script_json(v: &Value) -> String {
    page::script_json(v)
}

/// The report's stylesheet and script, shared with the dashboard of `clientele serve`.
pub mod assets {
    /// The report's stylesheet.
    pub const CSS: &str = crate::page::CSS;
    /// The report's script: draws the charts of the payload in `<script id="data">`, makes
    /// `table.sortable` sortable.
    pub const APP_JS: &str = crate::page::APP_JS;
}

/// Number formatting as the report shows numbers.
pub mod number {
    pub use crate::fmt_num::{compact, int, money, num, pct};
}

/// Label keys the payload asked for that the language table lacks (empty when complete).
#[doc(hidden)]
pub fn missing_labels(summary: &Summary, lang: Lang) -> Vec<String> {
    payload::build(summary, lang).missing
}
