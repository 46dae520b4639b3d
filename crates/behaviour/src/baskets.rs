//! Each customer's set of bought categories from validated customer × category rows, stored
//! as one flat sorted vector with offsets (no per-customer allocation: 1M customers stay
//! cheap), and the rows' per-category sums.

use crate::error::{BehaviourError, Result};
use crate::input::CategoryRows;

/// Per-customer bought-category sets and per-category sums, from rows checked once. The
/// rows are not kept: they are read in chunks ([`CategoryRows`]).
#[derive(Debug, Clone)]
pub struct Baskets {
    n_categories: usize,
    offsets: Vec<usize>,
    cats: Vec<u32>,
    with_categories: usize,
    /// Net revenue per category, summed in row order.
    revenue: Vec<f64>,
    /// Orders per category.
    orders: Vec<u64>,
}

impl Baskets {
    /// Checks every row (indices in range, finite revenue, sorted by customer) and builds the
    /// sets and sums in one pass.
    pub fn new(
        rows: &dyn CategoryRows,
        n_customers: usize,
        n_categories: usize,
    ) -> Result<Baskets> {
        let mut offsets = Vec::with_capacity(n_customers + 1);
        offsets.push(0);
        let mut cats: Vec<u32> = Vec::new();
        let mut with_categories = 0;
        let mut start = 0; // start of the current customer's run in `cats`
        let mut revenue = vec![0.0; n_categories];
        let mut orders = vec![0u64; n_categories];
        let mut index = 0; // of the row, over all chunks
        let mut previous: Option<u32> = None;
        rows.for_each_chunk(&mut |chunk| {
            for r in chunk {
                if r.customer as usize >= n_customers {
                    return Err(BehaviourError::CustomerOutOfRange {
                        index,
                        customer: r.customer,
                        customers: n_customers,
                    });
                }
                if r.category as usize >= n_categories {
                    return Err(BehaviourError::CategoryOutOfRange {
                        index,
                        category: r.category,
                        categories: n_categories,
                    });
                }
                if !r.revenue.is_finite() {
                    return Err(BehaviourError::CategoryRevenue { index });
                }
                if let Some(p) = previous
                    && r.customer < p
                {
                    return Err(BehaviourError::Unsorted {
                        index,
                        customer: r.customer,
                        previous: p,
                    });
                }
                // Close every customer before this one.
                while offsets.len() <= r.customer as usize {
                    close(&mut cats, start, &mut with_categories);
                    start = cats.len();
                    offsets.push(start);
                }
                if r.bought() {
                    cats.push(r.category);
                }
                revenue[r.category as usize] += r.revenue;
                orders[r.category as usize] += u64::from(r.orders);
                previous = Some(r.customer);
                index += 1;
            }
            Ok(())
        })?;
        while offsets.len() <= n_customers {
            close(&mut cats, start, &mut with_categories);
            start = cats.len();
            offsets.push(start);
        }
        cats.shrink_to_fit();
        Ok(Baskets {
            n_categories,
            offsets,
            cats,
            with_categories,
            revenue,
            orders,
        })
    }

    /// Number of customers (table rows).
    pub fn customers(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of categories.
    pub fn categories(&self) -> usize {
        self.n_categories
    }

    /// Customers who bought at least one category (the denominator of affinity support).
    pub fn customers_with_categories(&self) -> usize {
        self.with_categories
    }

    /// Categories bought by `customer`, sorted and distinct.
    pub fn bought(&self, customer: usize) -> &[u32] {
        &self.cats[self.offsets[customer]..self.offsets[customer + 1]]
    }

    /// Net revenue of each category over all rows.
    pub fn revenue(&self) -> &[f64] {
        &self.revenue
    }

    /// Orders of each category over all rows.
    pub fn orders(&self) -> &[u64] {
        &self.orders
    }
}

/// Sorts and dedups the last customer's run.
fn close(cats: &mut Vec<u32>, start: usize, with: &mut usize) {
    let run = &mut cats[start..];
    if run.is_empty() {
        return;
    }
    run.sort_unstable();
    let mut w = start + 1;
    for r in start + 1..cats.len() {
        if cats[r] != cats[w - 1] {
            cats[w] = cats[r];
            w += 1;
        }
    }
    cats.truncate(w);
    *with += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::CustomerCategory;

    fn cc(customer: u32, category: u32, revenue: f64, orders: u32) -> CustomerCategory {
        CustomerCategory {
            customer,
            category,
            revenue,
            orders,
        }
    }

    #[test]
    fn builds_sets_and_checks_rows() {
        let rows = [
            cc(0, 2, 1.0, 1),
            cc(0, 1, 1.0, 1),
            cc(0, 2, 1.0, 1),
            cc(2, 0, -3.0, 0),
            cc(3, 0, 5.0, 2),
        ];
        let b = Baskets::new(&rows, 5, 3).unwrap();
        assert_eq!(b.bought(0), [1, 2]);
        assert!(b.bought(1).is_empty());
        assert!(b.bought(2).is_empty(), "a pure return is not a purchase");
        assert_eq!(b.bought(3), [0]);
        assert!(b.bought(4).is_empty());
        assert_eq!(b.customers_with_categories(), 2);
        assert!(matches!(
            Baskets::new(&rows, 3, 3),
            Err(BehaviourError::CustomerOutOfRange { index: 4, .. })
        ));
        assert!(matches!(
            Baskets::new(&rows, 5, 2),
            Err(BehaviourError::CategoryOutOfRange { index: 0, .. })
        ));
        assert!(matches!(
            Baskets::new(&[cc(1, 0, 1.0, 1), cc(0, 0, 1.0, 1)], 2, 1),
            Err(BehaviourError::Unsorted { index: 1, .. })
        ));
        assert!(matches!(
            Baskets::new(&[cc(0, 0, f64::NAN, 1)], 1, 1),
            Err(BehaviourError::CategoryRevenue { index: 0 })
        ));
        let e = Baskets::new(&[], 0, 0).unwrap();
        assert_eq!((e.customers(), e.customers_with_categories()), (0, 0));
    }
}
