//! Behaviour analysis and cross-sell for clientele: distributions of orders, order value and
//! inter-purchase days; category share and top categories per grade; breakdowns of grades and
//! revenue by dimension columns; customer-level category affinity with a next-best-category
//! suggestion per customer; weekday/month seasonality shares.
//!
//! Pure: no I/O, no clock. [`analyze_behaviour`] returns a [`BehaviourSummary`] bounded in size
//! (no per-customer rows, ready for `summary.json`) and the per-customer columns to add to the
//! customer table (`next_best_category`, `next_best_category_score`).
//!
//! ```
//! use clientele_behaviour::{analyze_behaviour, BehaviourConfig, BehaviourInput, CustomerCategory, Lang};
//! use clientele_core::{ColumnData, CustomerTable};
//!
//! let mut t = CustomerTable::new(vec!["a".into(), "b".into(), "c".into()]);
//! t.push("orders", ColumnData::Int(vec![Some(1), Some(3), Some(2)].into())).unwrap();
//! t.push("monetary", ColumnData::Float(vec![Some(10.0), Some(90.0), Some(40.0)].into())).unwrap();
//! t.push("avg_order_value", ColumnData::Float(vec![Some(10.0), Some(30.0), Some(20.0)].into())).unwrap();
//! t.push("avg_interpurchase_days", ColumnData::Float(vec![None, Some(12.0), Some(30.0)].into())).unwrap();
//! t.push("city", ColumnData::Text(vec![Some("上海"), Some("北京"), None].into())).unwrap();
//! t.push("grade_behaviour", ColumnData::Text(vec![Some("普通"), Some("VIP"), Some("普通")].into())).unwrap();
//!
//! let categories = vec!["tea".to_string(), "cups".to_string()];
//! let cc = |customer, category| CustomerCategory { customer, category, revenue: 10.0, orders: 1 };
//! let rows = [cc(0, 0), cc(1, 0), cc(1, 1), cc(2, 1)];
//! let input = BehaviourInput {
//!     table: &t,
//!     customer_categories: &rows,
//!     categories: &categories,
//!     seasonality: None,
//!     grade_columns: &["grade_behaviour"],
//!     lang: Lang::En,
//! };
//! let (summary, columns) = analyze_behaviour(&input, &BehaviourConfig::default()).unwrap();
//! assert_eq!(summary.distributions.orders.customers, 3);
//! assert_eq!(summary.breakdowns[0].dimension, "city");
//! assert_eq!(columns[0].name, "next_best_category");
//! ```

mod affinity;
mod baskets;
mod breakdown;
mod categories;
mod config;
mod distributions;
mod error;
mod groups;
mod input;
mod seasonality;
mod stats;

pub use affinity::{Affinity, PairStats, Suggestion};
pub use baskets::Baskets;
pub use breakdown::{Breakdown, GroupTotals};
pub use categories::{
    CategoryInGrade, CategoryShare, CategoryShares, GradeCategories, TopCategories,
};
pub use config::BehaviourConfig;
pub use distributions::{Bin, Distributions, Histogram, Stats, log_histogram, orders_histogram};
pub use error::{BehaviourError, Result};
pub use input::{CategoryRows, CustomerCategory, Lang, PeriodTotals, Seasonality};
pub use seasonality::{PeriodShare, SeasonalityShares, seasonality_shares};

use clientele_core::columns as col;
use clientele_core::{Column, ColumnData, CustomerTable, Texts, Values};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::groups::{Groups, categorical};
use crate::stats::finite_numbers;

/// Name of the suggested-category column added to the customer table.
pub const NEXT_BEST_CATEGORY: &str = col::NEXT_BEST_CATEGORY;
/// Name of its score column (lift × confidence of the rule behind it).
pub const NEXT_BEST_CATEGORY_SCORE: &str = "next_best_category_score";

/// Everything the engine hands over.
#[derive(Debug, Clone, Copy)]
pub struct BehaviourInput<'a> {
    /// The customer table (needs `orders`, `monetary`, `avg_order_value`,
    /// `avg_interpurchase_days`, the grade columns and the dimension columns).
    pub table: &'a CustomerTable,
    /// Per customer × category purchases, sorted by customer (a slice, or chunks read from
    /// disk).
    pub customer_categories: &'a dyn CategoryRows,
    /// Category names; empty when the data has no category column.
    pub categories: &'a [String],
    /// Weekday/month totals, when the engine computed them.
    pub seasonality: Option<&'a Seasonality>,
    /// Grade-like columns to break down and to list top categories for (e.g. `grade_behaviour`,
    /// `segment_cn8`, `value_tier`, `lifecycle_stage`, `cluster_name`).
    pub grade_columns: &'a [&'a str],
    /// Language of fixed labels.
    pub lang: Lang,
}

/// One affinity pair by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AffinityPair {
    /// First category.
    pub a: String,
    /// Second category.
    pub b: String,
    /// Customers who bought both.
    pub customers: u64,
    /// Share of customers with categories who bought both.
    pub support: f64,
    /// P(b | a).
    pub confidence_ab: f64,
    /// P(a | b).
    pub confidence_ba: f64,
    /// Lift (symmetric).
    pub lift: f64,
}

/// How many customers get a category suggested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SuggestionCount {
    /// Suggested category.
    pub category: String,
    /// Customers it is suggested to.
    pub customers: u64,
}

/// Affinity results for summary.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AffinitySummary {
    /// Customers with any category purchase (support denominator).
    pub customers_with_categories: u64,
    /// The configured minimum support.
    pub min_support: f64,
    /// The minimum number of customers a kept pair has.
    pub min_customers: u64,
    /// Pairs above minimum support (all of them drive suggestions).
    pub pairs_total: u64,
    /// The top `max_pairs` by lift, then support.
    pub pairs: Vec<AffinityPair>,
    /// Customers who got a suggestion.
    pub suggested_customers: u64,
    /// Suggestions per category, most customers first (capped at `max_categories`).
    pub suggestions: Vec<SuggestionCount>,
}

/// The behaviour section of summary.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BehaviourSummary {
    /// Customers in the table.
    pub customers: u64,
    /// Dimension columns used.
    pub dimensions: Vec<String>,
    /// Orders, order value and inter-purchase days.
    pub distributions: Distributions,
    /// Category shares; `None` without categories.
    pub categories: Option<CategoryShares>,
    /// Top categories per grade, one entry per grade column (empty without categories).
    pub top_categories: Vec<TopCategories>,
    /// Co-purchase pairs and suggestion counts; `None` without categories.
    pub affinity: Option<AffinitySummary>,
    /// One per dimension × grade column (or per dimension against "(all)" without grade columns).
    pub breakdowns: Vec<Breakdown>,
    /// Weekday and month shares, when given.
    pub seasonality: Option<SeasonalityShares>,
}

/// Customers whose next best category is found at once, on every core (the suggestions of a
/// block are held until they are numbered: 40 bytes a customer). A few in tests, so that a
/// test shop has several blocks.
const SUGGEST_BLOCK: usize = if cfg!(test) { 3 } else { 1 << 20 };

/// Runs every analysis. Returns the summary and the columns to add to the customer table
/// (`next_best_category`, `next_best_category_score`; none without categories or with
/// `suggest = false`).
pub fn analyze_behaviour(
    input: &BehaviourInput<'_>,
    config: &BehaviourConfig,
) -> Result<(BehaviourSummary, Vec<Column>)> {
    config.validate()?;
    let t = input.table;
    let n = t.len();
    let lang = input.lang;

    // one column at a time (16 bytes a customer each, 290 MB at 18M customers), checked in
    // the same order as ever; only monetary is kept, for the breakdowns
    let orders = orders_histogram(col::ORDERS, &finite_numbers(t, col::ORDERS)?);
    let aov = finite_numbers(t, col::AVG_ORDER_VALUE)?;
    let avg_order_value = log_histogram(col::AVG_ORDER_VALUE, &aov);
    drop(aov);
    let days = finite_numbers(t, "avg_interpurchase_days")?;
    let avg_interpurchase_days = log_histogram("avg_interpurchase_days", &days);
    drop(days);
    let monetary = finite_numbers(t, col::MONETARY)?;
    let distributions = Distributions {
        orders,
        avg_order_value,
        avg_interpurchase_days,
    };

    // side by side; a column that cannot be read fails the step with the first such column's
    // error, as one after another would
    let grades: Vec<(&str, Groups)> = input
        .grade_columns
        .par_iter()
        .map(|&g| Ok((g, categorical(&*t.column_once(g)?, config.max_values, lang))))
        .collect::<Vec<Result<_>>>()
        .into_iter()
        .collect::<Result<_>>()?;

    let dims = breakdown::dimensions(t, config, input.grade_columns, lang)?;
    let mut breakdowns = Vec::with_capacity(dims.len() * grades.len().max(1));
    let all = Groups {
        labels: vec![
            match lang {
                Lang::En => "(all)",
                Lang::Zh => "(全部)",
            }
            .to_string(),
        ],
        codes: vec![0; n],
    };
    // every dimension by every grade column, side by side, in that order
    let pairs: Vec<(&breakdown::Dimension, &str, &Groups)> = dims
        .iter()
        .flat_map(|d| {
            let alone = grades.is_empty().then_some((d, "", &all));
            alone
                .into_iter()
                .chain(grades.iter().map(move |(name, g)| (d, *name, g)))
        })
        .collect();
    breakdowns.par_extend(
        pairs
            .par_iter()
            .map(|&(d, name, g)| breakdown::breakdown(d, name, g, &monetary)),
    );
    // what the categories need is the grades' groups: the rest goes before the baskets come
    // (at 18M customers monetary is 290 MB, each dimension's codes 73 MB)
    drop(monetary);
    let dimensions: Vec<String> = dims.into_iter().map(|d| d.name).collect();

    let mut columns = Vec::new();
    let (mut cat_summary, mut top_categories, mut affinity) = (None, Vec::new(), None);
    if !input.categories.is_empty() {
        let b = Baskets::new(input.customer_categories, n, input.categories.len())?;
        let names = input.categories;
        let totals = categories::totals(&b, names);
        cat_summary = Some(categories::shares(
            &b,
            names,
            &totals,
            config.max_categories,
            lang,
        ));
        top_categories = categories::top_by_grades(
            input.customer_categories,
            &b,
            names,
            &totals,
            config.max_categories,
            &grades,
            config.top_n,
        )?;
        drop(grades);
        let a = Affinity::compute(&b, config.min_support);
        let ranked = a.ranked_pairs();
        let pairs = ranked
            .iter()
            .take(config.max_pairs)
            .map(|p| AffinityPair {
                a: names[p.a as usize].clone(),
                b: names[p.b as usize].clone(),
                customers: p.customers,
                support: p.support,
                confidence_ab: p.confidence_ab,
                confidence_ba: p.confidence_ba,
                lift: p.lift,
            })
            .collect();
        let mut per_category = vec![0u64; names.len()];
        let mut suggested_customers = 0;
        if config.suggest {
            // codes into the category names in first-seen order (the labels' order a column
            // of strings would get), 13 bytes a customer where strings took 32
            let mut code_of = vec![u32::MAX; names.len()];
            let mut labels: Vec<String> = Vec::new();
            let mut codes: Vec<u32> = Vec::with_capacity(n);
            let mut scores: Values<f64> = Values::with_capacity(n);
            // each block's suggestions found on every core, then numbered in customer order
            for start in (0..n).step_by(SUGGEST_BLOCK) {
                let found: Vec<Option<Suggestion>> = (start..(start + SUGGEST_BLOCK).min(n))
                    .into_par_iter()
                    .map(|c| a.next_best(b.bought(c)))
                    .collect();
                for s in found {
                    match s {
                        Some(s) => {
                            let k = s.category as usize;
                            per_category[k] += 1;
                            suggested_customers += 1;
                            if code_of[k] == u32::MAX {
                                code_of[k] = labels.len() as u32;
                                labels.push(names[k].clone());
                            }
                            codes.push(code_of[k]);
                            scores.push(Some(s.score));
                        }
                        None => {
                            codes.push(u32::MAX);
                            scores.push(None);
                        }
                    }
                }
            }
            let codes = codes.into_iter().map(|c| (c != u32::MAX).then_some(c));
            // refused only past u32::MAX labels, which category indices (u32) cannot reach
            let texts =
                Texts::from_codes(labels, codes).ok_or(BehaviourError::CategoryOutOfRange {
                    index: 0,
                    category: u32::MAX,
                    categories: names.len(),
                })?;
            columns.push(Column {
                name: NEXT_BEST_CATEGORY.to_string(),
                data: ColumnData::Text(texts),
            });
            columns.push(Column {
                name: NEXT_BEST_CATEGORY_SCORE.to_string(),
                data: ColumnData::Float(scores),
            });
        }
        let mut suggestions: Vec<SuggestionCount> = per_category
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(k, &c)| SuggestionCount {
                category: names[k].clone(),
                customers: c,
            })
            .collect();
        suggestions.sort_by(|x, y| {
            y.customers
                .cmp(&x.customers)
                .then_with(|| x.category.cmp(&y.category))
        });
        suggestions.truncate(config.max_categories);
        affinity = Some(AffinitySummary {
            customers_with_categories: a.customers(),
            min_support: config.min_support,
            min_customers: a.min_customers(),
            pairs_total: ranked.len() as u64,
            pairs,
            suggested_customers,
            suggestions,
        });
    } else {
        // rows without category names: the first one is out of range
        input
            .customer_categories
            .for_each_chunk(&mut |chunk| match chunk.first() {
                Some(i) => Err(BehaviourError::CategoryOutOfRange {
                    index: 0,
                    category: i.category,
                    categories: 0,
                }),
                None => Ok(()),
            })?;
    }

    let seasonality = input
        .seasonality
        .map(|s| seasonality_shares(s, lang))
        .transpose()?;

    Ok((
        BehaviourSummary {
            customers: n as u64,
            dimensions,
            distributions,
            categories: cat_summary,
            top_categories,
            affinity,
            breakdowns,
            seasonality,
        },
        columns,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_found_in_blocks_are_those_of_each_customer_in_first_seen_order() {
        let n = 40;
        let mut t = CustomerTable::new((0..n).map(|i| format!("c{i:03}")).collect());
        let floats = |f: fn(usize) -> f64| ColumnData::Float((0..n).map(|i| Some(f(i))).collect());
        t.push(
            col::ORDERS,
            ColumnData::Int((0..n).map(|i| Some(1 + i as i64 % 4)).collect()),
        )
        .unwrap();
        for (c, f) in [
            (col::MONETARY, (|i| 10.0 + i as f64) as fn(usize) -> f64),
            (col::AVG_ORDER_VALUE, |i| 5.0 + i as f64),
            ("avg_interpurchase_days", |i| (i % 30) as f64),
        ] {
            t.push(c, floats(f)).unwrap();
        }
        let k = 6u32;
        let rows: Vec<CustomerCategory> = (0..n as u32)
            .flat_map(|c| {
                let mut cats = vec![c % k, (c * 7 + 1) % k];
                cats.sort_unstable();
                cats.dedup();
                cats.into_iter().map(move |category| CustomerCategory {
                    customer: c,
                    category,
                    revenue: 3.0,
                    orders: 1,
                })
            })
            .collect();
        let names: Vec<String> = (0..k).map(|i| format!("cat{i}")).collect();
        let input = BehaviourInput {
            table: &t,
            customer_categories: &rows,
            categories: &names,
            seasonality: None,
            grade_columns: &[],
            lang: Lang::En,
        };
        let config = BehaviourConfig {
            min_support: 0.01,
            ..BehaviourConfig::default()
        };
        let (_, columns) = analyze_behaviour(&input, &config).unwrap();
        assert!(n > 3 * SUGGEST_BLOCK);
        let b = Baskets::new(&rows, n, names.len()).unwrap();
        let a = Affinity::compute(&b, config.min_support);
        let want: Vec<Option<String>> = (0..n)
            .map(|c| {
                a.next_best(b.bought(c))
                    .map(|s| names[s.category as usize].clone())
            })
            .collect();
        assert!(want.iter().flatten().count() > 10);
        let ColumnData::Text(got) = &columns[0].data else {
            panic!("next best category is text");
        };
        assert_eq!(got.to_vec(), want);
        // labels in the order customers first get them
        let mut seen: Vec<String> = Vec::new();
        for w in want.iter().flatten() {
            if !seen.contains(w) {
                seen.push(w.clone());
            }
        }
        assert_eq!(got.labels(), &seen[..]);
    }
}
