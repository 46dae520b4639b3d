//! RFM scoring and segment schemes on the score grid. A pure model crate: no I/O, no clock.
//!
//! Scores are 1..=bins per metric (default 5), recency reversed (most recent = highest). Methods:
//! `balanced` (the default: quantile cut points, moved to distinct values when ties would leave a
//! level empty, so equal values share a score and every level has customers), `quantile` (value
//! cuts, ties together, so a level can be empty: every empty level comes with a note saying why),
//! `ntile` (equal count, ties split by customer id), `fixed` cut points, and `vs_mean` /
//! `vs_median` (2 levels). The cut points used are returned as [`Thresholds`] and can
//! be given back as [`FrozenThresholds`] so later runs score the same way.
//!
//! Schemes: `cn8` (Chinese 8-class 重要价值客户 …), `rf10` (R×F grid), `rfm11` (R×FM grid, all 11
//! segments reachable), `pymc` (PyMC-Marketing's default `rfm_segments`) and custom grids that are
//! checked for gaps, overlaps and unreachable rules when the model is built.
//!
//! ```
//! use clientele_rfm::{Lang, RfmConfig, RfmData, RfmModel};
//!
//! let data = RfmData::new(
//!     vec!["a".into(), "b".into(), "c".into(), "d".into()],
//!     vec![3.0, 40.0, 200.0, 10.0],   // recency_days
//!     vec![9.0, 2.0, 1.0, 4.0],       // orders
//!     vec![900.0, 80.0, 15.0, 300.0], // monetary
//! )?;
//! let model = RfmModel::new(RfmConfig { bins: 4, ..RfmConfig::default() })?;
//! let result = model.score(&data);
//! assert_eq!(result.rfm_code[0], "444");
//! let cn8 = result.scheme("cn8").unwrap();
//! assert_eq!(cn8.segment_of(0).name(Lang::Zh), "重要价值客户");
//! assert_eq!(cn8.segment_of(2).name(Lang::En), "General win-back");
//!
//! // Freeze the thresholds and score later data the same way.
//! let frozen = RfmConfig {
//!     bins: 4,
//!     frozen: Some(result.frozen()),
//!     ..RfmConfig::default()
//! };
//! let again = RfmModel::new(frozen)?.score(&data);
//! assert_eq!(again.r_score, result.r_score);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
mod data;
mod error;
mod model;
pub mod scheme;
mod score;
mod summary;
mod thresholds;

pub use config::{
    Cn8Config, Cn8Values, CompareOn, CustomRule, CustomScheme, FrequencyDef, Method, MetricConfig,
    MonetaryDef, Reference, RfmConfig, SegmentNames,
};
pub use data::RfmData;
pub use error::RfmError;
pub use model::{
    BUILTIN_SCHEMES, LevelCounts, RfmModel, RfmReport, RfmResult, RfmRows, SchemeReport,
};
pub use scheme::cn8::Cn8Reference;
pub use scheme::pymc::PymcQuartiles;
pub use scheme::{Lang, SchemeResult, Segment};
pub use score::LevelNote;
pub use summary::{RfGrid, SegmentSummary};
pub use thresholds::{FrozenThresholds, MetricThresholds, Thresholds};
