//! The crate's one error type. Config mistakes name the key and the rule; data problems name the
//! row or customer; snapshot mismatches say what differs and how to fix it.

use std::fmt;

use clientele_core::{CoreError, Day, Note};

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
    #[error("lifecycle.{key}: {}", message.en)]
    Config {
        /// The key, e.g. `churn_ratio`.
        key: &'static str,
        /// The rule and the value given.
        message: Note,
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

impl Side {
    /// The side in Chinese.
    fn zh(self) -> &'static str {
        match self {
            Side::Old => "旧",
            Side::New => "新",
        }
    }
}

impl LifecycleError {
    /// The message in Chinese, for a run in Chinese (the English is [`std::fmt::Display`]);
    /// a row's problem the engine's own data has (a bug) keeps its English detail.
    pub fn zh(&self) -> String {
        use LifecycleError as E;
        match self {
            E::Config { key, message } => format!("lifecycle.{key}：{}", message.zh),
            E::AsOfBeforeLastPurchase {
                row,
                last_purchase,
                as_of,
            } => format!(
                "基准日 {as_of} 早于客户第 {row} 行的最近一次购买（{last_purchase}）：\
                 请用不早于数据中最近一次购买的基准日"
            ),
            E::Core(e) => e.zh(),
            E::BadCustomer { row, message } => format!("客户第 {row} 行：{message}"),
            E::UnknownCustomer {
                row,
                customer,
                customers,
            } => format!("活动第 {row} 行属于客户 {customer}，但只有 {customers} 位客户有首购月份"),
            E::ActivityBeforeFirstPurchase {
                customer,
                month,
                first,
            } => format!("客户 {customer} 在 {month} 有活动，早于其首购月份 {first}"),
            E::AfterThrough {
                what,
                month,
                through,
            } => format!("{what}（{month}）晚于分析的最后一个月（{through}）"),
            E::NonFinite { what, value } => format!("{what} 不是有限数（{value}）"),
            E::ConfigMismatch { old, new } => {
                format!("两个快照的配置不同（旧 {old}，新 {new}）：请比较用同一配置得到的运行")
            }
            E::OnlyIn { kind, name, side } => {
                let kind = match *kind {
                    "scheme" => "方案",
                    "grade" => "等级",
                    "score" => "评分",
                    "column" => "列",
                    other => other,
                };
                format!("{kind} `{name}` 只在{}快照中", side.zh())
            }
            E::LifecycleOnlyIn(side) => format!(
                "生命周期阶段只在{}快照中：请比较用同一配置得到的运行",
                side.zh()
            ),
            E::SnapshotOrder { old, new } => {
                format!("旧快照（基准日 {old}）晚于新快照（基准日 {new}）：请交换两者")
            }
            E::BadSnapshot { side, message } => format!("{}快照：{message}", side.zh()),
        }
    }
}
