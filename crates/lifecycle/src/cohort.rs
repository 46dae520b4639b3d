//! Cohort retention by first-purchase month (research/segmentation.md §5.2): row = cohort,
//! column k = months since the first purchase, cell = distinct customers with an order in month
//! cohort + k, and their revenue. A triangle: a cohort has cells up to the last month only.

use serde::{Deserialize, Serialize};

use crate::activity::{CustomerMonth, Indexed, index};
use crate::error::LifecycleError;
use crate::month::Month;

/// One cohort's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CohortRow {
    /// First-purchase month shared by the cohort.
    pub cohort: Month,
    /// Customers in the cohort.
    pub size: u64,
    /// `active[k]`: cohort customers with an order in month `cohort + k`.
    pub active: Vec<u64>,
    /// `retention[k] = active[k] / size`.
    pub retention: Vec<f64>,
    /// `revenue[k]`: the cohort's net revenue in month `cohort + k`.
    pub revenue: Vec<f64>,
}

/// The cohort retention matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CohortMatrix {
    /// Last month with cells (the as-of month).
    pub through: Option<Month>,
    /// Cohorts with at least one customer, oldest first; row i has
    /// `through − cohort + 1` cells.
    pub rows: Vec<CohortRow>,
}

/// The cohort matrix from per-customer-month activity; `first_month[c]` is customer `c`'s first
/// purchase month, `through` the last month (default: the last month with data).
pub fn cohort_matrix(
    activity: &[CustomerMonth],
    first_month: &[Month],
    through: Option<Month>,
) -> Result<CohortMatrix, LifecycleError> {
    let ix = index(activity.to_vec(), first_month, through)?;
    Ok(cohorts_of(ix.as_ref(), first_month, through))
}

/// The cohort matrix of checked, merged activity (`None`: no customers).
pub(crate) fn cohorts_of(
    ix: Option<&Indexed>,
    first_month: &[Month],
    through: Option<Month>,
) -> CohortMatrix {
    let Some(ix) = ix else {
        return CohortMatrix {
            through,
            rows: Vec::new(),
        };
    };
    let n = ix.len();
    // One slot per month of the range; only months that start a cohort are kept.
    let mut size = vec![0u64; n];
    for &f in first_month {
        size[ix.pos(f)] += 1;
    }
    let mut active: Vec<Vec<u64>> = Vec::with_capacity(n);
    let mut revenue: Vec<Vec<f64>> = Vec::with_capacity(n);
    for (p, &sz) in size.iter().enumerate() {
        let cells = if sz > 0 { n - p } else { 0 };
        active.push(vec![0; cells]);
        revenue.push(vec![0.0; cells]);
    }
    for rows in ix.by_customer() {
        let first = first_month[rows[0].customer as usize];
        let c = ix.pos(first);
        for r in rows {
            // returns before the first purchase belong to no month of the cohort's life; the
            // trends count their revenue in their own month
            let Ok(k) = usize::try_from(r.month.months_since(first)) else {
                continue;
            };
            revenue[c][k] += r.revenue;
            if r.orders > 0 {
                active[c][k] += 1;
            }
        }
    }
    let rows = (0..n)
        .filter(|&p| size[p] > 0)
        .map(|p| CohortRow {
            cohort: ix.start.plus_months(p as i32),
            size: size[p],
            retention: active[p]
                .iter()
                .map(|&a| a as f64 / size[p] as f64)
                .collect(),
            active: std::mem::take(&mut active[p]),
            revenue: std::mem::take(&mut revenue[p]),
        })
        .collect();
    CohortMatrix {
        through: Some(ix.end),
        rows,
    }
}
