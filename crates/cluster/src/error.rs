//! The one error type of this crate.

use clientele_core::CoreError;

/// Everything that can go wrong when clustering customers. Messages name the field or column and
/// say how to fix it.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClusterError {
    /// A `[cluster]` setting is out of range.
    #[error("[cluster] {field}: {message}")]
    Config {
        /// The key, e.g. `n_init`.
        field: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A feature string that is neither `name` nor `log1p(name)` / `none(name)`.
    #[error(
        "[cluster] features: `{0}` is not a feature; write a column name, `log1p(column)` or `none(column)`"
    )]
    BadFeature(String),
    /// A column is missing or has the wrong type.
    #[error(transparent)]
    Table(#[from] CoreError),
    /// NaN or ±inf in a feature column: it would poison every centroid.
    #[error(
        "column `{column}` has a non-finite value ({value}) for customer `{customer}`; clean or drop it before clustering"
    )]
    NonFinite {
        /// Feature column.
        column: String,
        /// Customer id of the first offending row.
        customer: String,
        /// The value, as text.
        value: String,
    },
    /// Fewer than two customers have every feature.
    #[error("need at least 2 customers with all cluster features ({features}), found {found}")]
    TooFewCustomers {
        /// How many rows were usable.
        found: usize,
        /// Feature columns, comma separated.
        features: String,
    },
    /// Every feature is constant, so there is nothing to separate customers by.
    #[error("every cluster feature is constant ({0}); choose features that vary between customers")]
    AllFeaturesConstant(String),
    /// k is larger than the number of distinct customers (in feature space).
    #[error(
        "k = {k} but the data has only {distinct} distinct customer(s) in feature space; lower k"
    )]
    TooFewDistinct {
        /// Requested number of clusters.
        k: usize,
        /// Distinct points found (counting stops at k).
        distinct: usize,
    },
    /// Points given to the low-level k-means are malformed (length not a multiple of the width).
    #[error("data has {len} values, which is not a multiple of {d} features")]
    Shape {
        /// Number of values.
        len: usize,
        /// Row width.
        d: usize,
    },
    /// A row given to `predict_row` has the wrong number of features.
    #[error("expected {expected} feature values, got {got}")]
    Width {
        /// Features in the model.
        expected: usize,
        /// Values given.
        got: usize,
    },
}

impl ClusterError {
    /// The message in Chinese, for a run in Chinese (the English is [`std::fmt::Display`]).
    pub fn zh(&self) -> String {
        match self {
            ClusterError::Config { field, message } => format!("[cluster] {field}：{message}"),
            ClusterError::BadFeature(f) => format!(
                "[cluster] features：`{f}` 不是特征；请写列名、`log1p(列名)` 或 `none(列名)`"
            ),
            ClusterError::Table(e) => e.zh(),
            ClusterError::NonFinite {
                column,
                customer,
                value,
            } => format!(
                "列 `{column}` 中客户 `{customer}` 的值不是有限数（{value}）；聚类前请清理或去掉该列"
            ),
            ClusterError::TooFewCustomers { found, features } => {
                format!("至少需要 2 位客户具备全部聚类特征（{features}），只找到 {found} 位")
            }
            ClusterError::AllFeaturesConstant(f) => {
                format!("所有聚类特征都是常数（{f}）；请选择在客户之间有差异的特征")
            }
            ClusterError::TooFewDistinct { k, distinct } => {
                format!("k = {k}，但特征空间中只有 {distinct} 位不同的客户；请调小 k")
            }
            ClusterError::Shape { len, d } => format!("数据有 {len} 个值，不是 {d} 个特征的整数倍"),
            ClusterError::Width { expected, got } => {
                format!("应有 {expected} 个特征值，实际为 {got} 个")
            }
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
