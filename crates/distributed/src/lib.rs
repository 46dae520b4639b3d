//! The per-customer fold on an Apache DataFusion Ballista cluster.
//!
//! The client reads and validates the input exactly as an embedded run does (so rejects,
//! their lines and the reconciliation are the same), and writes the valid rows as Parquet
//! files split by customer-id hash into a staging folder that every executor can read. The
//! cluster then folds them by one of two plans ([`ClusterPlan`]): the embedded fold itself as
//! a user-defined aggregate per customer bucket (the default, `fold.rs`: one job), or the
//! aggregation written as SQL (the plan `crates/ingest/tests/sql_reference.rs` states,
//! without its ordered aggregates: six jobs, stock executors). The client turns what comes
//! back into the same [`clientele_ingest::Ingested`] as [`clientele_ingest::load`]: models,
//! scores and grades then run on the client, unchanged.
//!
//! Everything that needs Ballista is behind the `ballista` feature; without it [`load`]
//! says how to rebuild, so everyday builds stay lean. The scheduler and executor processes
//! ([`run_scheduler`], [`run_executor`]) are the same Ballista libraries, so one DataFusion
//! build serves the client and the cluster. Deployment: `docs/CLUSTER.md`.

mod error;
mod live;
mod url;

#[cfg(feature = "ballista")]
mod buckets;
#[cfg(feature = "ballista")]
mod fold;
#[cfg(feature = "ballista")]
mod plan;
#[cfg(feature = "ballista")]
mod processes;
#[cfg(feature = "ballista")]
mod stage;
#[cfg(feature = "ballista")]
mod wire;

pub use error::DistributedError;
pub use live::remove_staging;
#[cfg(feature = "ballista")]
pub use processes::{ExecutorOptions, SchedulerOptions, run_executor, run_scheduler};
pub use url::ClusterUrl;

use std::path::Path;

use clientele_ingest::{IngestOptions, Ingested, Progress};

/// True when this build carries the cluster engine.
pub const BUILT: bool = cfg!(feature = "ballista");

/// How the cluster computes the customer table. Both give the embedded run's table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterPlan {
    /// The embedded fold itself, as a user-defined aggregate on the executors: one job, one
    /// shuffle. Needs `clientele cluster executor` processes (they carry the function).
    #[default]
    Fold,
    /// The fold written as SQL (six jobs, each shuffling): runs on stock Ballista 55
    /// executors too, at about twice the fold plan's time.
    Sql,
}

impl std::str::FromStr for ClusterPlan {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fold" => Ok(ClusterPlan::Fold),
            "sql" => Ok(ClusterPlan::Sql),
            _ => Err(format!("`{s}`: the cluster plan is fold or sql")),
        }
    }
}

impl std::fmt::Display for ClusterPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClusterPlan::Fold => "fold",
            ClusterPlan::Sql => "sql",
        })
    }
}

/// Where and how the cluster works: the staging folder and the plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterOptions<'a> {
    /// A folder every executor can read at the same path; the system's temporary folder
    /// when `None`, which is right only on one machine.
    pub staging: Option<&'a Path>,
    /// [`ClusterPlan`].
    pub plan: ClusterPlan,
    /// Files the validated rows are staged in, split by customer hash as
    /// [`clientele_ingest::part_of`] splits them (`None`: 8). A client that folds part by
    /// part ([`Staged::fold_part`]) stages as many as it has parts.
    pub parts: Option<usize>,
}

/// [`clientele_ingest::load`], with the aggregation run on the Ballista cluster at `url`.
/// The validated rows are staged under `cluster.staging` and removed afterwards.
pub fn load(
    url: &ClusterUrl,
    opts: &IngestOptions,
    cluster: ClusterOptions<'_>,
    progress: &dyn Progress,
) -> Result<Ingested, DistributedError> {
    stage(url, opts, cluster, progress)?.load(opts, progress)
}

/// Reads and validates the input once and stages its valid rows for the cluster, so that the
/// customer table can be aggregated at several as-of dates (the month ends of `--history
/// monthly`) without reading the input again. The staged rows are removed when it is dropped.
pub fn stage(
    url: &ClusterUrl,
    opts: &IngestOptions,
    cluster: ClusterOptions<'_>,
    progress: &dyn Progress,
) -> Result<Staged, DistributedError> {
    #[cfg(feature = "ballista")]
    {
        plan::stage(url, opts, cluster, progress).map(|rows| Staged { rows })
    }
    #[cfg(not(feature = "ballista"))]
    {
        let _ = (opts, cluster, progress);
        Err(DistributedError::NotBuilt {
            url: url.to_string(),
        })
    }
}

/// Rows validated once and staged on the cluster's storage ([`stage`]).
pub struct Staged {
    #[cfg(feature = "ballista")]
    rows: plan::StagedRows,
    #[cfg(not(feature = "ballista"))]
    never: std::convert::Infallible,
}

impl Staged {
    /// The [`Ingested`] of an embedded load at `opts.as_of` (the reading's as-of when `None`),
    /// aggregated on the cluster. The rejects come with the first call only.
    pub fn load(
        &self,
        opts: &IngestOptions,
        progress: &dyn Progress,
    ) -> Result<Ingested, DistributedError> {
        #[cfg(feature = "ballista")]
        {
            self.rows.load(opts, progress)
        }
        #[cfg(not(feature = "ballista"))]
        {
            let _ = (opts, progress);
            match self.never {}
        }
    }
}

impl Staged {
    /// Files the rows are staged in: the parts [`Staged::fold_part`] takes.
    pub fn parts(&self) -> usize {
        #[cfg(feature = "ballista")]
        {
            self.rows.parts()
        }
        #[cfg(not(feature = "ballista"))]
        {
            match self.never {}
        }
    }

    /// What reading and validating the input found; the rejects come with the first call only.
    pub fn validated(&self) -> clientele_ingest::Validated {
        #[cfg(feature = "ballista")]
        {
            self.rows.validated()
        }
        #[cfg(not(feature = "ballista"))]
        {
            match self.never {}
        }
    }

    /// Part `k`'s customer table and detail (the customers [`clientele_ingest::part_of`]
    /// puts in part `k` of [`Staged::parts`]), folded on the cluster with the fold plan, for
    /// a client that keeps the table on disk part by part and holds one part at a time.
    pub fn fold_part(
        &self,
        k: usize,
        opts: &IngestOptions,
    ) -> Result<clientele_ingest::PartTable, DistributedError> {
        #[cfg(feature = "ballista")]
        {
            self.rows.fold_part(k, opts)
        }
        #[cfg(not(feature = "ballista"))]
        {
            let _ = (k, opts);
            match self.never {}
        }
    }
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Staged")
    }
}
