//! Monthly trends: revenue, orders, and active / new / returning / retained / reactivated /
//! churned customers per calendar month, without gaps between the first and last month.
//!
//! Definitions (period-over-period practice, research/segmentation.md §5.1–5.2; N =
//! `churn_months`):
//! - **active**: at least one order in the month;
//! - **new**: first purchase in the month (from the first-month list, so Σ new = customers);
//! - **returning**: active, first purchase in an earlier month;
//! - **retained**: active in this month and the month before;
//! - **churned**: active in this month and no order in the next N months. Counted in the month
//!   of the last order, so `churn_rate = churned / active` reads "share of this month's buyers
//!   who then lapsed". The last N months cannot know yet: `None`, not a misleading 0;
//! - **reactivated**: active after more than N months without an order, i.e. a return after a
//!   churn counted earlier.

use serde::{Deserialize, Serialize};

use crate::activity::{CustomerMonth, Indexed, index};
use crate::cohort::{CohortMatrix, cohorts_of};
use crate::error::LifecycleError;
use crate::month::Month;

/// Options for [`monthly_trends`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct TrendConfig {
    /// No order in this many following months = churned (at least 1).
    pub churn_months: u32,
    /// Last month to report (the as-of month), so quiet months up to it appear; `None`: the
    /// last month with data.
    pub through: Option<Month>,
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig {
            churn_months: 3,
            through: None,
        }
    }
}

/// One calendar month of activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MonthTrend {
    /// The month.
    pub month: Month,
    /// Net revenue.
    pub revenue: f64,
    /// Orders.
    pub orders: u64,
    /// Customers with an order.
    pub active: u64,
    /// Customers whose first purchase is in this month.
    pub new: u64,
    /// Active customers whose first purchase was earlier.
    pub returning: u64,
    /// Customers active in this month and the previous one.
    pub retained: u64,
    /// Active customers back after more than `churn_months` quiet months.
    pub reactivated: u64,
    /// Active customers with no order in the next `churn_months` months; `None` while the
    /// following months are not all observed.
    pub churned: Option<u64>,
    /// `churned / active`; `None` when churn is unknown or nobody was active.
    pub churn_rate: Option<f64>,
    /// `revenue / orders`; `None` without orders.
    pub avg_order_value: Option<f64>,
}

/// Monthly trends from per-customer-month activity. `first_month[c]` is customer `c`'s first
/// purchase month. Months run from the earliest first purchase to `config.through` (or the last
/// month with data), every month present.
pub fn monthly_trends(
    activity: &[CustomerMonth],
    first_month: &[Month],
    config: &TrendConfig,
) -> Result<Vec<MonthTrend>, LifecycleError> {
    check(config)?;
    let Some(ix) = index(activity.to_vec(), first_month, config.through)? else {
        return Ok(Vec::new());
    };
    Ok(trends_of(&ix, first_month, config))
}

/// [`monthly_trends`] and [`cohort_matrix`] (through `config.through`) from one sort of the
/// activity, taken by value and merged in place: what a run at scale needs, where the
/// activity is the largest thing besides the customer table. Same results as the two calls.
pub fn trends_and_cohorts(
    activity: Vec<CustomerMonth>,
    first_month: &[Month],
    config: &TrendConfig,
) -> Result<(Vec<MonthTrend>, CohortMatrix), LifecycleError> {
    check(config)?;
    let Some(ix) = index(activity, first_month, config.through)? else {
        return Ok((Vec::new(), cohorts_of(None, first_month, config.through)));
    };
    let trends = if ix.rows.is_empty() {
        Vec::new()
    } else {
        trends_of(&ix, first_month, config)
    };
    Ok((trends, cohorts_of(Some(&ix), first_month, config.through)))
}

fn check(config: &TrendConfig) -> Result<(), LifecycleError> {
    if config.churn_months == 0 {
        return Err(LifecycleError::Config {
            key: "churn_months",
            message: clientele_core::Note::new("应至少为 1，实际为 0", "must be at least 1, got 0"),
        });
    }
    Ok(())
}

/// The trends of checked, merged activity.
fn trends_of(ix: &Indexed, first_month: &[Month], config: &TrendConfig) -> Vec<MonthTrend> {
    let n = ix.len();
    let horizon = config.churn_months as i32;
    let mut revenue = vec![0.0; n];
    let mut orders = vec![0u64; n];
    let mut active = vec![0u64; n];
    let mut new = vec![0u64; n];
    let mut returning = vec![0u64; n];
    let mut retained = vec![0u64; n];
    let mut reactivated = vec![0u64; n];
    let mut churned = vec![0u64; n];
    for &f in first_month {
        new[ix.pos(f)] += 1;
    }
    let mut months: Vec<Month> = Vec::new();
    for rows in ix.by_customer() {
        let first = first_month[rows[0].customer as usize];
        months.clear();
        for r in rows {
            let p = ix.pos(r.month);
            revenue[p] += r.revenue;
            orders[p] += u64::from(r.orders);
            if r.orders > 0 {
                months.push(r.month);
            }
        }
        for (i, &m) in months.iter().enumerate() {
            let p = ix.pos(m);
            active[p] += 1;
            if m > first {
                returning[p] += 1;
            }
            if let Some(&prev) = i.checked_sub(1).and_then(|j| months.get(j)) {
                let gap = m.months_since(prev);
                if gap == 1 {
                    retained[p] += 1;
                } else if gap > horizon {
                    reactivated[p] += 1;
                }
            }
            let lapses = months
                .get(i + 1)
                .is_none_or(|&next| next.months_since(m) > horizon);
            if lapses {
                churned[p] += 1;
            }
        }
    }
    (0..n)
        .map(|p| {
            let month = ix.start.plus_months(p as i32);
            let known = ix.end.months_since(month) >= horizon;
            let ch = known.then_some(churned[p]);
            MonthTrend {
                month,
                revenue: revenue[p],
                orders: orders[p],
                active: active[p],
                new: new[p],
                returning: returning[p],
                retained: retained[p],
                reactivated: reactivated[p],
                churned: ch,
                churn_rate: ch
                    .filter(|_| active[p] > 0)
                    .map(|c| c as f64 / active[p] as f64),
                avg_order_value: (orders[p] > 0).then(|| revenue[p] / orders[p] as f64),
            }
        })
        .collect()
}
