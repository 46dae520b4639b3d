//! The crate's one error type. Config mistakes name the key and the fix; data problems name the
//! column and the customer.

use clientele_core::CoreError;

/// Everything that can go wrong when building an [`crate::RfmModel`] or scoring data.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum RfmError {
    /// `bins` outside 2..=9 (one digit per metric keeps the RFM code readable, e.g. "545").
    #[error("rfm.{metric}: bins must be between 2 and 9, got {bins}")]
    Bins {
        /// `r`, `f` or `m`.
        metric: &'static str,
        /// The value given.
        bins: u8,
    },
    /// A scoring option that does not fit the chosen method.
    #[error("rfm.{metric}: {message}")]
    Method {
        /// `r`, `f` or `m`.
        metric: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A name in `rfm.schemes` that is neither built in nor a `[[rfm.custom]]` scheme.
    #[error("rfm.schemes: unknown scheme `{name}`; known schemes are: {known}")]
    UnknownScheme {
        /// The name given.
        name: String,
        /// Built-in and custom names.
        known: String,
    },
    /// The same scheme name twice in `rfm.schemes`, or a custom scheme named like a built-in.
    #[error(
        "rfm: scheme `{0}` is listed or defined twice (built-in names: cn8, rf10, rfm11, pymc)"
    )]
    DuplicateScheme(String),
    /// A built-in scheme defined on a fixed score grid used with other bin counts.
    #[error(
        "scheme `{scheme}` is defined on {metric} scores 1..={needed} but {metric} has {bins} \
         levels; set rfm.{metric}.bins = {needed} (and a binned method) or remove `{scheme}` \
         from rfm.schemes"
    )]
    SchemeGrid {
        /// Scheme name.
        scheme: &'static str,
        /// `r`, `f` or `m`.
        metric: &'static str,
        /// Levels the scheme needs.
        needed: u8,
        /// Levels configured.
        bins: u8,
    },
    /// The 8-class scheme's configuration is inconsistent.
    #[error("rfm.cn8: {0}")]
    Cn8(String),
    /// A custom grid scheme that is invalid (empty, bad range, gap, overlap, unreachable rule).
    #[error("custom scheme `{scheme}`: {message}")]
    Custom {
        /// Scheme name.
        scheme: String,
        /// What is wrong, where, and how to fix it.
        message: String,
    },
    /// Frozen thresholds that cannot score data (wrong number of cut points, not sorted, NaN).
    #[error("rfm.frozen.{metric}: {message}")]
    Frozen {
        /// `recency`, `frequency` or `monetary`.
        metric: &'static str,
        /// What is wrong.
        message: String,
    },
    /// NaN or infinite input: scores would be meaningless, so the run stops.
    #[error(
        "column `{column}` has the non-finite value {value} for customer `{customer_id}` \
         (row {row}); fix or drop that customer before scoring"
    )]
    NonFinite {
        /// Column name.
        column: &'static str,
        /// The customer's id.
        customer_id: String,
        /// 0-based row.
        row: usize,
        /// The value (NaN or ±inf).
        value: f64,
    },
    /// A missing value in a column the scores need.
    #[error("column `{column}` has no value for customer `{customer_id}` (row {row})")]
    Missing {
        /// Column name.
        column: &'static str,
        /// The customer's id.
        customer_id: String,
        /// 0-based row.
        row: usize,
    },
    /// Input slices of different lengths.
    #[error("column `{column}` has {got} values but there are {expected} customer ids")]
    Length {
        /// Column name.
        column: &'static str,
        /// Number of ids.
        expected: usize,
        /// Number of values.
        got: usize,
    },
    /// The same customer id twice: ties are split by id, so ids must be unique.
    #[error("customer id `{0}` appears more than once; aggregate to one row per customer first")]
    DuplicateId(String),
    /// Reading the customer table failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}
