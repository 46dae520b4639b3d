//! What can go wrong on the cluster path, and whose fault it is.

use std::path::PathBuf;

/// Errors of the cluster engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistributedError {
    /// This binary was built without the cluster engine: the user's build, fixed by
    /// rebuilding with the feature.
    #[error(
        "a cluster is configured ({url}) but this clientele was built without the cluster \
         engine: rebuild it with `cargo install --path crates/cli --features cluster`, or run \
         without --cluster and [engine] cluster"
    )]
    NotBuilt {
        /// The cluster asked for.
        url: String,
    },
    /// The cluster URL is malformed (the user's config or flag).
    #[error("cluster URL `{url}`: {reason}")]
    BadUrl {
        /// As given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading and validating the input on the client failed (the input's fault, as in an
    /// embedded run).
    #[error(transparent)]
    Ingest(#[from] clientele_ingest::IngestError),
    /// The staging folder for the validated rows could not be written (the environment's:
    /// disk, permissions).
    #[error("staging folder {}: {reason}", path.display())]
    Staging {
        /// The folder.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A query failed on the cluster: scheduler unreachable, an executor lost beyond the
    /// retries, a worker out of memory (the environment's; the cause is Ballista's words).
    #[error(
        "the cluster at {url} failed while computing {step}: {reason} (check that the \
         scheduler and its executors are running and that every executor can read {staging})"
    )]
    Cluster {
        /// The scheduler.
        url: String,
        /// Which part of the aggregation.
        step: &'static str,
        /// Ballista's or DataFusion's message.
        reason: String,
        /// Where the executors read the rows.
        staging: String,
    },
    /// A scheduler or executor process could not start or stopped (the environment's: a
    /// port in use, the scheduler unreachable).
    #[error("{0}")]
    Process(String),
    /// A per-customer sum passed ±9.2e12 (the input's units, as in an embedded run).
    #[error("{0}")]
    TooLarge(String),
    /// The cluster answered with columns of unexpected types: a bug in clientele.
    #[error("internal: the cluster's result for {step}: {reason}")]
    Internal {
        /// Which part of the aggregation.
        step: &'static str,
        /// What was unexpected.
        reason: String,
    },
}
