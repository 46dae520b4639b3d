//! The clientele pipeline: config → ingest → models → grades → [`Analysis`], and the outputs
//! written from it. Surfaces (CLI, report, server) call this crate and compute nothing
//! themselves.

mod analysis;
mod config;
mod error;
mod models;
mod output;
mod pipeline;
pub mod synthetic;

pub use analysis::{Analysis, Kpis};
pub use clientele_ingest::{IngestStats, NoProgress, Progress, Reject};
pub use config::{ClvConfig, ColumnsConfig, Config, Lang, OutputConfig, SourceConfig, TimeConfig};
pub use error::EngineError;
pub use models::{ClusterSection, ClvSection, LifecycleSection, TargetList, ValueTierSection};
pub use output::{OutputFormat, WrittenOutputs, write_outputs};
pub use pipeline::{AnalyzeOptions, analyze};

/// Result alias for this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
