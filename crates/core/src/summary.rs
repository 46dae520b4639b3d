//! The two per-customer summary conventions, as separate types so they cannot be mixed up.

use crate::columns as col;
use crate::{CoreError, CustomerTable};

/// RFM convention: every purchase counts, recency in days since the last purchase.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmSummary {
    /// Days from the last purchase to the as-of date.
    pub recency_days: Vec<f64>,
    /// Number of orders (distinct order ids, or purchase days without them).
    pub orders: Vec<f64>,
    /// Net amount over all purchases.
    pub monetary: Vec<f64>,
}

/// CLV (BTYD) convention in model time units: `frequency` = repeat purchase days, `recency` =
/// time from first to last purchase, `t` = time from first purchase to the as-of date,
/// `monetary_value` = mean spend per repeat purchase day (first day excluded, 0 without repeats).
#[derive(Debug, Clone, PartialEq)]
pub struct ClvSummary {
    /// Repeat purchase periods (x).
    pub frequency: Vec<f64>,
    /// Time of the last repeat purchase from the first purchase (tₓ).
    pub recency: Vec<f64>,
    /// Age of the customer at the as-of date (T).
    pub t: Vec<f64>,
    /// Mean repeat spend per period.
    pub monetary_value: Vec<f64>,
}

fn required(table: &CustomerTable, name: &str) -> Result<Vec<f64>, CoreError> {
    table
        .number_view(name)?
        .iter()
        .map(|v| {
            v.ok_or_else(|| CoreError::ColumnType {
                name: name.into(),
                expected: "no missing values",
                actual: "a missing value",
            })
        })
        .collect()
}

impl RfmSummary {
    /// Reads `recency_days`, `orders` and `monetary` from the customer table.
    pub fn from_table(table: &CustomerTable) -> Result<RfmSummary, CoreError> {
        Ok(RfmSummary {
            recency_days: required(table, col::RECENCY_DAYS)?,
            orders: required(table, col::ORDERS)?,
            monetary: required(table, col::MONETARY)?,
        })
    }
}

impl ClvSummary {
    /// Reads `frequency`, `recency`, `T` and `monetary_value` from the customer table, side
    /// by side (a table kept on disk reads each from its file); the first column in that
    /// order that fails is the error.
    pub fn from_table(table: &CustomerTable) -> Result<ClvSummary, CoreError> {
        let read = |name: &str| required(table, name);
        let ((frequency, recency), (t, monetary_value)) = rayon::join(
            || rayon::join(|| read("frequency"), || read("recency")),
            || rayon::join(|| read("T"), || read("monetary_value")),
        );
        Ok(ClvSummary {
            frequency: frequency?,
            recency: recency?,
            t: t?,
            monetary_value: monetary_value?,
        })
    }
}
