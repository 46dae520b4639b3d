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
    // one pass each over the same rows, side by side
    let (trends, cohorts) = rayon::join(
        || {
            if ix.rows.is_empty() {
                Vec::new()
            } else {
                trends_of(&ix, first_month, config)
            }
        },
        || cohorts_of(Some(&ix), first_month, config.through),
    );
    Ok((trends, cohorts))
}

/// `rows` in pieces of about `size`, each ending with a customer's last row.
fn pieces(rows: &[CustomerMonth], size: usize) -> Vec<&[CustomerMonth]> {
    let mut out = Vec::new();
    let mut rest = rows;
    while !rest.is_empty() {
        let mut end = size.min(rest.len());
        while end < rest.len() && rest[end].customer == rest[end - 1].customer {
            end += 1;
        }
        let (piece, after) = rest.split_at(end);
        out.push(piece);
        rest = after;
    }
    out
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

/// Customers counted per month of the range: the trends' counts but `new`.
#[derive(Clone)]
struct Counts {
    active: Vec<u64>,
    returning: Vec<u64>,
    retained: Vec<u64>,
    reactivated: Vec<u64>,
    churned: Vec<u64>,
}

impl Counts {
    fn new(n: usize) -> Counts {
        Counts {
            active: vec![0; n],
            returning: vec![0; n],
            retained: vec![0; n],
            reactivated: vec![0; n],
            churned: vec![0; n],
        }
    }

    /// `other`'s counts added (counts add up in any order).
    fn add(mut self, other: Counts) -> Counts {
        for (a, b) in [
            (&mut self.active, other.active),
            (&mut self.returning, other.returning),
            (&mut self.retained, other.retained),
            (&mut self.reactivated, other.reactivated),
            (&mut self.churned, other.churned),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self
    }

    /// The months one customer was active in (in order) counted.
    fn customer(&mut self, ix: &Indexed, first: Month, months: &[Month], horizon: i32) {
        for (i, &m) in months.iter().enumerate() {
            let p = ix.pos(m);
            self.active[p] += 1;
            if m > first {
                self.returning[p] += 1;
            }
            if let Some(&prev) = i.checked_sub(1).and_then(|j| months.get(j)) {
                let gap = m.months_since(prev);
                if gap == 1 {
                    self.retained[p] += 1;
                } else if gap > horizon {
                    self.reactivated[p] += 1;
                }
            }
            let lapses = months
                .get(i + 1)
                .is_none_or(|&next| next.months_since(m) > horizon);
            if lapses {
                self.churned[p] += 1;
            }
        }
    }
}

/// Rows per job of the customers' counts (a job's rows end with a customer's last); a few
/// in tests, so that a test history is counted in many pieces.
const COUNT_ROWS: usize = if cfg!(test) { 5 } else { 1 << 16 };

/// The trends of checked, merged activity. The revenue and orders are summed in row order
/// (the same sums to the bit however the rows are split), beside the customers' counts,
/// which are made in pieces of the rows on every core and added up.
fn trends_of(ix: &Indexed, first_month: &[Month], config: &TrendConfig) -> Vec<MonthTrend> {
    use rayon::prelude::*;
    let n = ix.len();
    let horizon = config.churn_months as i32;
    let mut new = vec![0u64; n];
    for &f in first_month {
        new[ix.pos(f)] += 1;
    }
    let sums = || {
        let mut revenue = vec![0.0; n];
        let mut orders = vec![0u64; n];
        for r in &ix.rows {
            let p = ix.pos(r.month);
            revenue[p] += r.revenue;
            orders[p] += u64::from(r.orders);
        }
        (revenue, orders)
    };
    let counts = || {
        pieces(&ix.rows, COUNT_ROWS)
            .into_par_iter()
            .map(|rows| {
                let mut c = Counts::new(n);
                let mut months: Vec<Month> = Vec::new();
                for rows in rows.chunk_by(|a, b| a.customer == b.customer) {
                    let first = first_month[rows[0].customer as usize];
                    months.clear();
                    months.extend(rows.iter().filter(|r| r.orders > 0).map(|r| r.month));
                    c.customer(ix, first, &months, horizon);
                }
                c
            })
            .reduce(|| Counts::new(n), Counts::add)
    };
    let ((revenue, orders), c) = rayon::join(sums, counts);
    let Counts {
        active,
        returning,
        retained,
        reactivated,
        churned,
    } = c;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts of one pass over every customer, as the trends were made before they were
    /// made in pieces.
    fn counts_in_one_pass(ix: &Indexed, first_month: &[Month], horizon: i32) -> Counts {
        let mut c = Counts::new(ix.len());
        for rows in ix.by_customer() {
            let months: Vec<Month> = rows
                .iter()
                .filter(|r| r.orders > 0)
                .map(|r| r.month)
                .collect();
            c.customer(ix, first_month[rows[0].customer as usize], &months, horizon);
        }
        c
    }

    #[test]
    fn counts_made_in_pieces_equal_one_pass() {
        // 40 customers, each with a first month and scattered later months (some without
        // orders), from a fixed linear congruential sequence
        let base = Month::new(2024, 1).unwrap();
        let mut x: u64 = 7;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let (mut rows, mut first) = (Vec::new(), Vec::new());
        for c in 0..40u32 {
            let f = base.plus_months(next(12) as i32);
            first.push(f);
            let mut m = f;
            for _ in 0..next(9) {
                rows.push(CustomerMonth {
                    customer: c,
                    month: m,
                    revenue: 1.5,
                    orders: next(3) as u32,
                });
                m = m.plus_months(1 + next(6) as i32);
            }
        }
        let ix = index(rows, &first, None).unwrap().unwrap();
        assert!(pieces(&ix.rows, COUNT_ROWS).len() > 10);
        for horizon in [1, 3] {
            let config = TrendConfig {
                churn_months: horizon as u32,
                through: None,
            };
            let t = trends_of(&ix, &first, &config);
            let one = counts_in_one_pass(&ix, &first, horizon);
            let got = |f: fn(&MonthTrend) -> u64| t.iter().map(f).collect::<Vec<_>>();
            assert_eq!(got(|m| m.active), one.active);
            assert_eq!(got(|m| m.returning), one.returning);
            assert_eq!(got(|m| m.retained), one.retained);
            assert_eq!(got(|m| m.reactivated), one.reactivated);
            let churned: Vec<u64> = t.iter().map(|m| m.churned.unwrap_or(0)).collect();
            let known: Vec<u64> = (0..t.len())
                .map(|p| {
                    if t[p].churned.is_some() {
                        one.churned[p]
                    } else {
                        0
                    }
                })
                .collect();
            assert_eq!(churned, known);
        }
        // each piece ends with a customer's last row
        for p in pieces(&ix.rows, COUNT_ROWS).windows(2) {
            assert_ne!(p[0].last().unwrap().customer, p[1][0].customer);
        }
    }
}
