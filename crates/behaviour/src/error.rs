//! The crate's one error type: config mistakes name the key, data problems name the column or
//! the input row, so the engine can report them without guessing.

use clientele_core::CoreError;

/// Everything that can go wrong in behaviour analysis.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum BehaviourError {
    /// A `[behaviour]` setting outside its range.
    #[error("behaviour.{key}: {message}")]
    Config {
        /// The key.
        key: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A column that is missing or of the wrong type.
    #[error(transparent)]
    Column(#[from] CoreError),
    /// A dimension column whose type cannot be grouped (dates).
    #[error("behaviour.dimensions: column `{name}` is {actual}; use a text or numeric column")]
    DimensionType {
        /// Column name.
        name: String,
        /// Its type.
        actual: &'static str,
    },
    /// NaN or infinity in a numeric column.
    #[error("column `{column}`: customer row {row} is not a finite number")]
    NotFinite {
        /// Column name.
        column: String,
        /// Table row.
        row: usize,
    },
    /// A customer-category row pointing past the end of the customer table.
    #[error(
        "customer category row {index}: customer {customer} is out of range (the table has {customers} customers)"
    )]
    CustomerOutOfRange {
        /// Position in the customer-category slice.
        index: usize,
        /// The customer row given.
        customer: u32,
        /// Customers in the table.
        customers: usize,
    },
    /// A customer-category row pointing past the end of the category list.
    #[error(
        "customer category row {index}: category {category} is out of range ({categories} categories)"
    )]
    CategoryOutOfRange {
        /// Position in the customer-category slice.
        index: usize,
        /// The category index given.
        category: u32,
        /// Length of the category list.
        categories: usize,
    },
    /// Customer-category rows not sorted by customer.
    #[error(
        "customer category row {index}: rows must be sorted by customer (customer {customer} after {previous})"
    )]
    Unsorted {
        /// Position in the customer-category slice.
        index: usize,
        /// Customer at that position.
        customer: u32,
        /// Customer before it.
        previous: u32,
    },
    /// NaN or infinite revenue in a customer-category row.
    #[error("customer category row {index}: revenue is not a finite number")]
    CategoryRevenue {
        /// Position in the customer-category slice.
        index: usize,
    },
    /// The customer-category rows could not be read (the engine's files on disk).
    #[error("the customer category rows could not be read: {reason}")]
    CategoryRowsUnreadable {
        /// What the source says.
        reason: String,
    },
    /// NaN or infinite revenue in the seasonality totals.
    #[error("seasonality {period}: revenue is not a finite number")]
    SeasonalityRevenue {
        /// `weekday N` or `month N` (0-based).
        period: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = BehaviourError> = std::result::Result<T, E>;
