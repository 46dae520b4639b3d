//! The clientele pipeline: config → ingest → models → grades → [`Analysis`], and the outputs
//! written from it. Surfaces (CLI, report, server) call this crate and compute nothing
//! themselves.

mod alerts;
mod analysis;
mod column_store;
mod config;
mod config_check;
mod customer_value;
mod database;
mod decide;
mod deferred;
mod error;
mod export;
mod groups;
mod models;
mod numbers;
mod out_dir;
mod output;
mod pipeline;
mod query;
mod removal;
mod score;
mod side_parts;
mod snapshot;
mod spill;
mod stored;
mod summary;
pub mod synthetic;
mod validate;
pub mod vocab;

pub use alerts::{Alert, AlertMetric, AlertRule, Direction, alerts};
pub use analysis::{Analysis, ColumnInfo, HistoryPoint, Kpis, StepTiming};
pub use clientele_ingest::{IngestStats, InputSize, NoProgress, Progress, Reject};
pub use clientele_lifecycle::{Comparison, Snapshot};
pub use config::{
    AsWritten, ClvConfig, ColumnsConfig, Config, DecimalSeparator, EXCEL_ROWS, Lang, ModelChoice,
    MonthLength, OutputConfig, OutputFormat, ParquetCompression, SettingChange, SourceConfig,
    SpendModel, TimeConfig, run_settings, settings_diff, settings_mismatch,
};
pub use config_check::{ConfigCheck, DEFAULT_CONFIG, check_config};
pub use customer_value::{
    BuyNextGroup, ClvBin, ClvSection, CovariateBaseline, CovariateSection, ForecastMonth,
    NextPurchase, PurchaseWindow,
};
pub use database::{PgSink, PgWritten, write_to_postgres, write_to_postgres_spilled};
pub use error::{BadFilter, EngineError, Fault};
pub use export::{EXPORT_CHUNK_ROWS, ExportFormat, export, export_file};
pub use groups::{GroupingSummary, groupings};
pub use models::{ClusterSection, LifecycleSection, TargetList, ValueTierSection};
pub use out_dir::{
    MANIFEST_FILE, Manifest, OutputDir, check_destination, is_clientele_page, remove_unfinished,
    write_file, write_file_with,
};
pub use output::{
    ExtraFile, WrittenOutputs, write_moves, write_outputs, write_outputs_last,
    write_outputs_spilled,
};
pub use pipeline::{AnalyzeOptions, analyze};
pub use query::{Filter, MAX_FILTER_BYTES, Selection, Sort, select_rows};
pub use score::{
    ColumnKind, MissingColumn, Omission, RfmScores, ScoreError, ScoreInput, Scored, Scorer,
};
pub use snapshot::{
    RunThresholds, SNAPSHOT_FILE, SnapshotFile, compare_snapshots, read_snapshot, snapshot_file_of,
    snapshot_of,
};
pub use spill::{
    FOLD_BYTES_PER_ROW, SpillOptions, SpilledTable, analyze_by_parts, analyze_spilled,
    can_fold_by_parts, estimate_input,
};
pub use stored::{CUSTOMERS_PARQUET, StoredRun, read_customers};
pub use summary::{
    GroupKind, HIGHLIGHTS, Highlights, NEXT_STEPS, NextStep, OLDEST_READABLE_VERSION,
    SCHEMA_VERSION, Step, Summary, TOP_CUSTOMERS, TopCustomer, ValueBasis,
};
pub use validate::{Validation, validate};
pub use vocab::{Label, Vocabulary};

/// The model crates whose result types the [`Summary`] carries, for surfaces that render them.
pub use {
    clientele_behaviour as behaviour, clientele_cluster as cluster, clientele_clv as clv,
    clientele_grade as grade, clientele_ingest as ingest, clientele_lifecycle as lifecycle,
    clientele_rfm as rfm,
};

/// Result alias for this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
