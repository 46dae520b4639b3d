//! Per-customer monthly activity, the input of trends and cohorts, and its checked, sorted form.

use serde::{Deserialize, Serialize};

use crate::error::LifecycleError;
use crate::month::Month;

/// One customer's purchases in one calendar month (one row of the engine's monthly series).
/// Several rows for the same customer and month are added together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CustomerMonth {
    /// Customer index: position in the first-purchase-month list.
    pub customer: u32,
    /// The month.
    pub month: Month,
    /// Net revenue (may be negative for a month of returns).
    pub revenue: f64,
    /// Orders. A customer is *active* in a month with at least one order; a row with 0 orders
    /// (returns only) adds revenue but no activity, and may come before the first purchase
    /// month (returns of purchases made before the data begins).
    pub orders: u32,
}

/// Activity merged per (customer, month) and sorted, with the month range to report.
#[derive(Debug)]
pub(crate) struct Indexed {
    /// First month of the range (the earliest first purchase, or an earlier month of returns).
    pub start: Month,
    /// Last month of the range (`through`, or the latest month in the data).
    pub end: Month,
    /// Merged rows sorted by (customer, month).
    pub rows: Vec<CustomerMonth>,
}

impl Indexed {
    /// Months in the range.
    pub fn len(&self) -> usize {
        (self.end.months_since(self.start) + 1).max(0) as usize
    }

    /// Position of a month in the range.
    pub fn pos(&self, m: Month) -> usize {
        m.months_since(self.start) as usize
    }

    /// The rows of each customer, in customer order.
    pub fn by_customer(&self) -> impl Iterator<Item = &[CustomerMonth]> {
        self.rows.chunk_by(|a, b| a.customer == b.customer)
    }
}

/// Checks the inputs and sorts and merges the rows in place (no copy: at 100M rows they are
/// gigabytes). `None` when there are no customers.
pub(crate) fn index(
    mut activity: Vec<CustomerMonth>,
    first_month: &[Month],
    through: Option<Month>,
) -> Result<Option<Indexed>, LifecycleError> {
    use rayon::prelude::*;
    // the first row that fails a check, found on every core, then said as one pass would
    let fails = |a: &CustomerMonth| {
        first_month
            .get(a.customer as usize)
            .is_none_or(|&first| a.month < first && a.orders > 0)
            || !a.revenue.is_finite()
    };
    if let Some(row) = activity.par_iter().position_first(fails) {
        let a = &activity[row];
        let Some(&first) = first_month.get(a.customer as usize) else {
            return Err(LifecycleError::UnknownCustomer {
                row,
                customer: a.customer,
                customers: first_month.len(),
            });
        };
        // Returns of purchases made before the data begins can come first; an order cannot.
        if a.month < first && a.orders > 0 {
            return Err(LifecycleError::ActivityBeforeFirstPurchase {
                customer: a.customer,
                month: a.month,
                first,
            });
        }
        if !a.revenue.is_finite() {
            return Err(LifecycleError::NonFinite {
                what: format!("revenue of customer {} in {}", a.customer, a.month),
                value: a.revenue,
            });
        }
    }
    let (Some(&min_first), Some(&max_first)) = (first_month.iter().min(), first_month.iter().max())
    else {
        return Ok(None);
    };
    let max_active = activity.par_iter().map(|a| a.month).max();
    let end = match through {
        Some(t) => {
            if let Some(a) = activity.par_iter().find_first(|a| a.month > t) {
                return Err(LifecycleError::AfterThrough {
                    what: format!("activity of customer {}", a.customer),
                    month: a.month,
                    through: t,
                });
            }
            if max_first > t {
                let c = first_month
                    .iter()
                    .position(|&m| m == max_first)
                    .unwrap_or(0);
                return Err(LifecycleError::AfterThrough {
                    what: format!("the first purchase of customer {c}"),
                    month: max_first,
                    through: t,
                });
            }
            t
        }
        None => max_active.map_or(max_first, |m| m.max(max_first)),
    };
    // stable, so the revenue of a repeated (customer, month) adds up in the order given; the
    // fold already gives them in this order, and a sorted slice is not sorted again
    let key = |a: &CustomerMonth| (a.customer, a.month);
    let strictly = activity.par_windows(2).all(|w| key(&w[0]) < key(&w[1]));
    if !strictly && !activity.par_windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
        activity.sort_by_key(key);
    }
    // one row per (customer, month) already, as the fold gives them: nothing to merge
    if !strictly {
        activity.dedup_by(|r, last| {
            let same = last.customer == r.customer && last.month == r.month;
            if same {
                last.revenue += r.revenue;
                last.orders = last.orders.saturating_add(r.orders);
            }
            same
        });
    }
    let merged = activity;
    // a month of returns before any first purchase starts the range, so its revenue counts
    let min_active = merged.par_iter().map(|a| a.month).min();
    Ok(Some(Indexed {
        start: min_active.map_or(min_first, |m| m.min(min_first)),
        end,
        rows: merged,
    }))
}
