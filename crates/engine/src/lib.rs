//! The clientele pipeline: config → ingest → models → grades → [`Analysis`], and the outputs
//! written from it. Surfaces (CLI, report, server) call this crate and compute nothing
//! themselves.

mod analysis;
mod config;
mod config_check;
mod error;
mod models;
mod out_dir;
mod output;
mod pipeline;
mod snapshot;
pub mod synthetic;
mod validate;

pub use analysis::{Analysis, Kpis};
pub use clientele_ingest::{IngestStats, NoProgress, Progress, Reject};
pub use clientele_lifecycle::{Comparison, Snapshot};
pub use config::{ClvConfig, ColumnsConfig, Config, Lang, OutputConfig, SourceConfig, TimeConfig};
pub use config_check::{ConfigCheck, DEFAULT_CONFIG, check_config};
pub use error::EngineError;
pub use models::{ClusterSection, ClvSection, LifecycleSection, TargetList, ValueTierSection};
pub use out_dir::{
    MANIFEST_FILE, Manifest, OutputDir, check_destination, is_clientele_page, write_file,
};
pub use output::{
    OutputFormat, ParquetCompression, WrittenOutputs, render_report, top_customers, write_outputs,
};
pub use pipeline::{AnalyzeOptions, analyze};
pub use snapshot::{SNAPSHOT_FILE, compare_snapshots, read_snapshot, snapshot_of};
pub use validate::{Validation, validate};

/// Result alias for this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
