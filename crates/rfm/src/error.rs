//! The crate's one error type. Config mistakes name the key and the fix; data problems name the
//! column and the customer.

use clientele_core::{CoreError, Note};

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
    #[error("rfm.{metric}: {}", message.en)]
    Method {
        /// `r`, `f` or `m`.
        metric: &'static str,
        /// What is wrong and how to fix it.
        message: Note,
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
    #[error("rfm.cn8: {}", .0.en)]
    Cn8(Note),
    /// A custom grid scheme that is invalid (empty, bad range, gap, overlap, unreachable rule).
    #[error("custom scheme `{scheme}`: {}", message.en)]
    Custom {
        /// Scheme name.
        scheme: String,
        /// What is wrong, where, and how to fix it.
        message: Note,
    },
    /// Frozen thresholds that cannot score data (wrong number of cut points, not sorted, NaN).
    #[error("rfm.frozen.{metric}: {}", message.en)]
    Frozen {
        /// `recency`, `frequency` or `monetary`.
        metric: &'static str,
        /// What is wrong.
        message: Note,
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

impl RfmError {
    /// The message in Chinese, for a run in Chinese (the English is [`std::fmt::Display`]).
    pub fn zh(&self) -> String {
        match self {
            RfmError::Bins { metric, bins } => {
                format!("rfm.{metric}：bins 应在 2 到 9 之间，实际为 {bins}")
            }
            RfmError::Method { metric, message } => format!("rfm.{metric}：{}", message.zh),
            RfmError::UnknownScheme { name, known } => {
                format!("rfm.schemes：未知的方案 `{name}`；已知的方案：{known}")
            }
            RfmError::DuplicateScheme(name) => {
                format!("rfm：方案 `{name}` 被列出或定义了两次（内置名称：cn8、rf10、rfm11、pymc）")
            }
            RfmError::SchemeGrid {
                scheme,
                metric,
                needed,
                bins,
            } => format!(
                "方案 `{scheme}` 基于 1..={needed} 的 {metric} 分数，但 {metric} 有 {bins} 级；\
                 请设置 rfm.{metric}.bins = {needed}（并使用分箱方法），或从 rfm.schemes 中去掉 `{scheme}`"
            ),
            RfmError::Cn8(message) => format!("rfm.cn8：{}", message.zh),
            RfmError::Custom { scheme, message } => {
                format!("自定义方案 `{scheme}`：{}", message.zh)
            }
            RfmError::Frozen { metric, message } => {
                format!("rfm.frozen.{metric}：{}", message.zh)
            }
            RfmError::NonFinite {
                column,
                customer_id,
                row,
                value,
            } => format!(
                "列 `{column}` 中客户 `{customer_id}`（第 {row} 行）的值 {value} 不是有限数；评分前请修正或去掉该客户"
            ),
            RfmError::Missing {
                column,
                customer_id,
                row,
            } => format!("列 `{column}` 中客户 `{customer_id}`（第 {row} 行）没有值"),
            RfmError::Length {
                column,
                expected,
                got,
            } => format!("列 `{column}` 有 {got} 个值，但有 {expected} 个客户 ID"),
            RfmError::DuplicateId(id) => {
                format!("客户 ID `{id}` 出现了不止一次；请先汇总为每位客户一行")
            }
            RfmError::Core(e) => e.zh(),
        }
    }
}
