//! Follow the customers: lifecycle stages, monthly trends, cohort retention and change between
//! snapshots. A pure model crate: no I/O, no clock ("now" is the as-of day passed in), no
//! printing.
//!
//! - [`LifecycleModel`] puts every customer (and every lead) in a [`Stage`]: potential, new,
//!   active, at risk, churned, reactivated, relative to their own purchase rhythm or fixed
//!   windows, optionally with P(alive).
//! - [`monthly_trends`] and [`cohort_matrix`] turn per-customer-month activity into gap-free
//!   monthly series and a retention triangle.
//! - [`compare`] puts two [`Snapshot`]s side by side: migration matrices per scheme and for the
//!   stages, who moved, and PSI drift of score distributions.
//!
//! ```
//! use clientele_core::Day;
//! use clientele_lifecycle::{
//!     CustomerMonth, LifecycleConfig, LifecycleModel, Month, Stage, StageInput, TrendConfig,
//!     cohort_matrix, monthly_trends,
//! };
//!
//! let day = |y, m, d| Day::from_ymd(y, m, d).unwrap();
//! let as_of = day(1998, 6, 30);
//! let regular = StageInput {
//!     first_purchase: day(1997, 1, 10),
//!     last_purchase: day(1998, 6, 1), // 29 days ago, buys every ~30 days
//!     purchase_days: 18,
//!     avg_interpurchase_days: Some(30.0),
//!     p_alive: None,
//!     last_gap_days: Some(40),
//! };
//! let lapsed = StageInput { last_purchase: day(1998, 1, 1), ..regular }; // 180 days ≫ 2.5 × 30
//! let model = LifecycleModel::new(LifecycleConfig::default())?;
//! let result = model.assign(as_of, &[regular, lapsed], &["lead-1".to_string()])?;
//! assert_eq!(result.stages, [Stage::Active, Stage::Churned]);
//! assert_eq!(result.summary.counts.iter().map(|c| c.count).sum::<u64>(), 3);
//!
//! // Customer 0 buys in January and March; customer 1 only in February.
//! let m = |s| Month::parse(s).unwrap();
//! let activity = [
//!     CustomerMonth { customer: 0, month: m("1998-01"), revenue: 10.0, orders: 1 },
//!     CustomerMonth { customer: 0, month: m("1998-03"), revenue: 30.0, orders: 2 },
//!     CustomerMonth { customer: 1, month: m("1998-02"), revenue: 20.0, orders: 1 },
//! ];
//! let first = [m("1998-01"), m("1998-02")];
//! let trends = monthly_trends(&activity, &first, &TrendConfig { churn_months: 1, through: None })?;
//! assert_eq!(trends.len(), 3);
//! assert_eq!(trends[1].churned, Some(1)); // customer 1 bought nothing in March
//! assert_eq!(trends[2].churned, None);    // April is not observed yet
//! let cohorts = cohort_matrix(&activity, &first, None)?;
//! assert_eq!(cohorts.rows[0].active, [1, 0, 1]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod activity;
mod change;
mod coded;
mod cohort;
mod error;
mod month;
mod stage;
mod trends;

pub use activity::CustomerMonth;
pub use change::{
    Comparison, Drift, DriftBand, DriftBin, GONE, MetricDrift, Migration, Move, NEW_CUSTOMER,
    PSI_EPSILON, Snapshot, compare, psi,
};
pub use coded::Coded;
pub use cohort::{CohortMatrix, CohortRow, cohort_matrix};
pub use error::{LifecycleError, Side};
pub use month::Month;
pub use stage::{
    Lang, LifecycleConfig, LifecycleModel, PAliveRule, STAGE_COLUMNS, Stage, StageCount,
    StageInput, StageMode, StageSummary, Stages, stage_inputs,
};
pub use trends::{MonthTrend, TrendConfig, monthly_trends, trends_and_cohorts};

/// Result alias for this crate.
pub type Result<T, E = LifecycleError> = std::result::Result<T, E>;
