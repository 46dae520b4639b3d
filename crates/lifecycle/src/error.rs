//! The crate's one error type. Config mistakes name the key and the rule; data problems name the
//! row or customer; snapshot mismatches say what differs and how to fix it.

use std::fmt;

use clientele_core::{CoreError, Day};

use crate::month::Month;

/// Which of the two snapshots given to [`crate::compare`] a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The earlier snapshot.
    Old,
    /// The later snapshot.
    New,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Old => "old",
            Side::New => "new",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum LifecycleError {
    /// A `[lifecycle]` value that breaks a rule.
    #[error("lifecycle.{key}: {message}")]
    Config {
        /// The key, e.g. `churn_ratio`.
        key: &'static str,
        /// The rule and the value given.
        message: String,
    },
    /// The as-of day is before a customer's last purchase: stages would look into the future.
    #[error(
        "as-of {as_of} is before the last purchase ({last_purchase}) of customer row {row}: \
         use an as-of on or after the last purchase in the data"
    )]
    AsOfBeforeLastPurchase {
        /// Index of the customer in the input.
        row: usize,
        /// That customer's last purchase.
        last_purchase: Day,
        /// The as-of day given.
        as_of: Day,
    },
    /// A customer-table column is missing or has the wrong type.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A customer's inputs contradict each other (first after last purchase, no purchase days…).
    #[error("customer row {row}: {message}")]
    BadCustomer {
        /// Index of the customer in the input.
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// A customer-month row refers to a customer index outside the first-month list.
    #[error(
        "activity row {row} is for customer {customer} but only {customers} customers have a \
         first purchase month"
    )]
    UnknownCustomer {
        /// Index of the activity row.
        row: usize,
        /// The customer index in that row.
        customer: u32,
        /// Length of the first-month list.
        customers: usize,
    },
    /// An order before the customer's first purchase month: the inputs disagree. (A month of
    /// returns only may come before it.)
    #[error("customer {customer} has activity in {month}, before its first purchase month {first}")]
    ActivityBeforeFirstPurchase {
        /// The customer index.
        customer: u32,
        /// The month with activity.
        month: Month,
        /// The first purchase month given.
        first: Month,
    },
    /// Activity or a first purchase after the last month asked for (the as-of month).
    #[error("{what} in {month} is after the last month of the analysis ({through})")]
    AfterThrough {
        /// What was found, e.g. "activity of customer 3".
        what: String,
        /// The month with that data.
        month: Month,
        /// The last month asked for.
        through: Month,
    },
    /// NaN or infinite money: sums would be meaningless.
    #[error("{what} is not a finite number ({value})")]
    NonFinite {
        /// What holds the value.
        what: String,
        /// The value.
        value: f64,
    },
    /// The two snapshots were made with different configs, so grades are not comparable.
    #[error(
        "snapshots use different configs (old {old}, new {new}): compare runs made with the \
         same config"
    )]
    ConfigMismatch {
        /// Config hash of the old snapshot.
        old: String,
        /// Config hash of the new snapshot.
        new: String,
    },
    /// A scheme or score exists in one snapshot only.
    #[error("{kind} `{name}` is only in the {side} snapshot")]
    OnlyIn {
        /// `scheme` or `score`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The snapshot that has it.
        side: Side,
    },
    /// Lifecycle stages exist in one snapshot only.
    #[error(
        "lifecycle stages are only in the {0} snapshot: compare runs made with the same config"
    )]
    LifecycleOnlyIn(Side),
    /// The old snapshot is later than the new one.
    #[error("the old snapshot (as of {old}) is later than the new one (as of {new}): swap them")]
    SnapshotOrder {
        /// As-of of the snapshot given as old.
        old: Day,
        /// As-of of the snapshot given as new.
        new: Day,
    },
    /// A snapshot whose columns do not line up with its customer ids, or with repeated ids.
    #[error("{side} snapshot: {message}")]
    BadSnapshot {
        /// Which snapshot.
        side: Side,
        /// What is wrong.
        message: String,
    },
}
