//! Category share (revenue, customers, orders per category) and the top categories of each grade.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::baskets::Baskets;
use crate::error::Result;
use crate::groups::Groups;
use crate::input::CategoryRows;
use crate::input::Lang;
use crate::stats::div;

/// Totals of one category (or of the lumped "(other)" categories).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CategoryShare {
    /// Category name.
    pub category: String,
    /// Net revenue.
    pub revenue: f64,
    /// Share of all category revenue.
    pub revenue_share: f64,
    /// Distinct customers who bought it.
    pub customers: u64,
    /// Share of customers with any category purchase.
    pub customer_share: f64,
    /// Orders containing it.
    pub orders: u64,
    /// Share of all category orders (an order with two categories counts in both).
    pub order_share: f64,
}

/// One category within a grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CategoryInGrade {
    /// Category name.
    pub category: String,
    /// Revenue of the grade's customers in this category.
    pub revenue: f64,
    /// Share of the grade's category revenue.
    pub revenue_share: f64,
    /// The grade's customers who bought it.
    pub customers: u64,
    /// Share of the grade's customers.
    pub customer_share: f64,
}

/// The top categories of one grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GradeCategories {
    /// Grade value.
    pub grade: String,
    /// Customers in the grade.
    pub customers: u64,
    /// The grade's category revenue.
    pub revenue: f64,
    /// Top-N by revenue (ties by name).
    pub categories: Vec<CategoryInGrade>,
}

/// Top categories per grade of one grade column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TopCategories {
    /// Grade column name.
    pub grade_column: String,
    /// One entry per grade value.
    pub grades: Vec<GradeCategories>,
}

/// Category shares; `shares` is sorted by revenue (ties by name) and capped, `other` lumps the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CategoryShares {
    /// Customers with any category purchase.
    pub customers_with_categories: u64,
    /// Total category revenue.
    pub revenue: f64,
    /// Kept categories.
    pub shares: Vec<CategoryShare>,
    /// Categories past the cap, lumped (customers counted once).
    pub other: Option<CategoryShare>,
}

/// Per-category sums, shares, and the order in which categories are listed.
pub(crate) struct CategoryTotals {
    pub revenue: Vec<f64>,
    pub orders: Vec<u64>,
    pub customers: Vec<u64>,
    /// Category indices by revenue descending, ties by name.
    pub order: Vec<u32>,
}

pub(crate) fn totals(b: &Baskets, names: &[String]) -> CategoryTotals {
    let k = b.categories();
    let revenue = b.revenue().to_vec();
    let orders = b.orders().to_vec();
    let mut customers = vec![0u64; k];
    for c in 0..b.customers() {
        for &cat in b.bought(c) {
            customers[cat as usize] += 1;
        }
    }
    let mut order: Vec<u32> = (0..k as u32).collect();
    order.sort_by(|&a, &b| {
        revenue[b as usize]
            .total_cmp(&revenue[a as usize])
            .then_with(|| names[a as usize].cmp(&names[b as usize]))
    });
    CategoryTotals {
        revenue,
        orders,
        customers,
        order,
    }
}

/// Category shares, the `max` largest by revenue listed.
pub(crate) fn shares(
    b: &Baskets,
    names: &[String],
    t: &CategoryTotals,
    max: usize,
    lang: Lang,
) -> CategoryShares {
    let total_rev: f64 = t.revenue.iter().sum();
    let total_orders: u64 = t.orders.iter().sum();
    let n = b.customers_with_categories() as f64;
    let row = |category: String, revenue: f64, customers: u64, orders: u64| CategoryShare {
        category,
        revenue,
        revenue_share: div(revenue, total_rev),
        customers,
        customer_share: div(customers as f64, n),
        orders,
        order_share: div(orders as f64, total_orders as f64),
    };
    let kept = t.order.len().min(max);
    let shares = t.order[..kept]
        .iter()
        .map(|&c| {
            let c = c as usize;
            row(names[c].clone(), t.revenue[c], t.customers[c], t.orders[c])
        })
        .collect();
    let other = (t.order.len() > kept).then(|| {
        let mut is_other = vec![false; t.revenue.len()];
        for &c in &t.order[kept..] {
            is_other[c as usize] = true;
        }
        let customers = (0..b.customers())
            .filter(|&c| b.bought(c).iter().any(|&k| is_other[k as usize]))
            .count() as u64;
        let (rev, ord) = t.order[kept..].iter().fold((0.0, 0u64), |(r, o), &c| {
            (r + t.revenue[c as usize], o + t.orders[c as usize])
        });
        row(
            crate::input::other_label(lang).to_string(),
            rev,
            customers,
            ord,
        )
    });
    CategoryShares {
        customers_with_categories: n as u64,
        revenue: total_rev,
        shares,
        other,
    }
}

/// Top-N categories per grade, for each grade column, from one pass over the rows. Only the
/// categories listed in the shares (the `max_categories` largest) are candidates, which
/// bounds the grade × category table; grade revenue still counts every category.
pub(crate) fn top_by_grades(
    rows: &dyn CategoryRows,
    b: &Baskets,
    names: &[String],
    t: &CategoryTotals,
    max_categories: usize,
    columns: &[(&str, Groups)],
    top_n: usize,
) -> Result<Vec<TopCategories>> {
    let kept = t.order.len().min(max_categories);
    // slot of each category in the dense tables, `kept` = not listed
    let mut slot = vec![kept as u32; t.revenue.len()];
    for (i, &c) in t.order[..kept].iter().enumerate() {
        slot[c as usize] = i as u32;
    }
    let width = kept + 1;
    // one grade × slot revenue table per column, each cell summed in row order
    let mut rev: Vec<Vec<f64>> = columns
        .iter()
        .map(|(_, g)| vec![0.0; g.labels.len() * width])
        .collect();
    // the columns side by side: each column's cells still add the rows in order
    rows.for_each_chunk(&mut |chunk| {
        columns
            .par_iter()
            .zip(rev.par_iter_mut())
            .for_each(|((_, grades), rev)| {
                for r in chunk {
                    let gi = grades.codes[r.customer as usize] as usize;
                    rev[gi * width + slot[r.category as usize] as usize] += r.revenue;
                }
            });
        Ok(())
    })?;
    Ok(columns
        .par_iter()
        .zip(&rev)
        .map(|((name, grades), rev)| {
            top_of_column(b, names, t, &slot, kept, name, grades, rev, top_n)
        })
        .collect())
}

/// One grade column's top categories, from its grade × slot revenue.
#[allow(clippy::too_many_arguments)]
fn top_of_column(
    b: &Baskets,
    names: &[String],
    t: &CategoryTotals,
    slot: &[u32],
    kept: usize,
    grade_column: &str,
    grades: &Groups,
    rev: &[f64],
    top_n: usize,
) -> TopCategories {
    let g = grades.labels.len();
    let width = kept + 1;
    let mut cust = vec![0u64; g * width];
    let mut grade_customers = vec![0u64; g];
    for &code in &grades.codes {
        grade_customers[code as usize] += 1;
    }
    for c in 0..b.customers() {
        let gi = grades.codes[c] as usize;
        for &k in b.bought(c) {
            cust[gi * width + slot[k as usize] as usize] += 1;
        }
    }
    let grades_out = (0..g)
        .map(|gi| {
            let row = &rev[gi * width..(gi + 1) * width];
            let total: f64 = row.iter().sum();
            let mut idx: Vec<usize> = (0..kept).filter(|&i| cust[gi * width + i] > 0).collect();
            // `order` is already revenue-then-name over all customers; re-sort within the grade.
            idx.sort_by(|&a, &bb| {
                row[bb]
                    .total_cmp(&row[a])
                    .then_with(|| names[t.order[a] as usize].cmp(&names[t.order[bb] as usize]))
            });
            idx.truncate(top_n);
            GradeCategories {
                grade: grades.labels[gi].clone(),
                customers: grade_customers[gi],
                revenue: total,
                categories: idx
                    .into_iter()
                    .map(|i| CategoryInGrade {
                        category: names[t.order[i] as usize].clone(),
                        revenue: row[i],
                        revenue_share: div(row[i], total),
                        customers: cust[gi * width + i],
                        customer_share: div(
                            cust[gi * width + i] as f64,
                            grade_customers[gi] as f64,
                        ),
                    })
                    .collect(),
            }
        })
        .collect();
    TopCategories {
        grade_column: grade_column.to_string(),
        grades: grades_out,
    }
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

    fn names() -> Vec<String> {
        ["tea", "cups", "pots"].map(String::from).to_vec()
    }

    #[test]
    fn shares_and_other() {
        let rows = [
            cc(0, 0, 10.0, 2),
            cc(0, 1, 5.0, 1),
            cc(1, 0, 10.0, 1),
            cc(2, 2, 5.0, 1),
        ];
        let b = Baskets::new(&rows, 4, 3).unwrap();
        let n = names();
        let t = totals(&b, &n);
        let s = shares(&b, &n, &t, 2, Lang::En);
        assert_eq!(s.customers_with_categories, 3);
        assert_eq!(s.shares[0].category, "tea");
        assert_eq!(s.shares[0].revenue_share, 20.0 / 30.0);
        assert_eq!(s.shares[0].customers, 2);
        assert_eq!(s.shares[0].order_share, 0.6);
        // cups and pots tie on revenue: name order decides, pots falls into (other)
        assert_eq!(s.shares[1].category, "cups");
        let o = s.other.unwrap();
        assert_eq!(
            (o.category.as_str(), o.customers, o.revenue),
            ("(other)", 1, 5.0)
        );
        assert!(shares(&b, &n, &t, 3, Lang::En).other.is_none());
    }

    #[test]
    fn top_per_grade() {
        let rows = [
            cc(0, 0, 10.0, 2),
            cc(0, 1, 5.0, 1),
            cc(1, 1, 10.0, 1),
            cc(2, 2, 5.0, 1),
        ];
        let b = Baskets::new(&rows, 3, 3).unwrap();
        let n = names();
        let t = totals(&b, &n);
        let grades = Groups {
            labels: vec!["VIP".into(), "普通".into()],
            codes: vec![0, 0, 1],
        };
        let columns = [("grade_behaviour", grades)];
        let top = top_by_grades(&rows, &b, &n, &t, 100, &columns, 1).unwrap();
        let top = &top[0];
        assert_eq!(top.grade_column, "grade_behaviour");
        assert_eq!(top.grades.len(), 2);
        let vip = &top.grades[0];
        assert_eq!((vip.customers, vip.revenue), (2, 25.0));
        assert_eq!(vip.categories.len(), 1);
        assert_eq!(vip.categories[0].category, "cups");
        assert_eq!(vip.categories[0].revenue_share, 0.6);
        assert_eq!(vip.categories[0].customer_share, 1.0);
        assert_eq!(top.grades[1].categories[0].category, "pots");
    }

    #[test]
    fn empty_inputs() {
        let b = Baskets::new(&[], 0, 0).unwrap();
        let t = totals(&b, &[]);
        let s = shares(&b, &[], &t, 5, Lang::En);
        assert!(s.shares.is_empty() && s.other.is_none());
        let g = Groups {
            labels: vec![],
            codes: vec![],
        };
        let top = top_by_grades(&[], &b, &[], &t, 5, &[("g", g)], 3).unwrap();
        assert!(top[0].grades.is_empty());
    }
}
