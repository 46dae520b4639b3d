//! Property tests: counts add up, shares stay in range, suggestions are new categories.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use clientele_behaviour::{
    Affinity, Baskets, BehaviourConfig, BehaviourInput, CustomerCategory, Lang, analyze_behaviour,
    log_histogram, orders_histogram,
};
use clientele_core::{ColumnData, CustomerTable};
use proptest::prelude::*;

fn values() -> impl Strategy<Value = Vec<Option<f64>>> {
    prop::collection::vec(
        prop_oneof![
            1 => Just(None),
            1 => Just(Some(0.0)),
            6 => (-50.0f64..1e7).prop_map(Some),
            2 => (0u32..40).prop_map(|x| Some(f64::from(x))),
        ],
        0..200,
    )
}

/// Baskets as (customer, category) sets for `n` customers over `k` categories.
fn sets(n: usize, k: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    prop::collection::vec(prop::collection::vec(0..k, 0..5), n)
}

fn rows(sets: &[Vec<u32>]) -> Vec<CustomerCategory> {
    let mut v = Vec::new();
    for (c, s) in sets.iter().enumerate() {
        for &k in s {
            v.push(CustomerCategory {
                customer: c as u32,
                category: k,
                revenue: 1.0 + f64::from(k),
                orders: 1,
            });
        }
    }
    v
}

proptest! {
    #[test]
    fn histogram_counts_sum_to_customers(v in values()) {
        for h in [orders_histogram("orders", &v), log_histogram("aov", &v)] {
            let binned: u64 = h.bins.iter().map(|b| b.customers).sum();
            prop_assert_eq!(binned, h.customers);
            prop_assert_eq!(h.customers + h.missing, v.len() as u64);
            for w in h.bins.windows(2) {
                prop_assert_eq!(w[0].hi, w[1].lo, "bins are contiguous");
            }
            for b in &h.bins {
                prop_assert!((0.0..=1.0).contains(&b.share));
            }
        }
    }

    #[test]
    fn affinity_in_range_symmetric_and_suggests_new(s in sets(60, 8), min_support in 0.001f64..0.3) {
        let r = rows(&s);
        let b = Baskets::new(&r, s.len(), 8).unwrap();
        let a = Affinity::compute(&b, min_support);
        for p in a.pairs() {
            prop_assert!(p.a < p.b);
            for x in [p.support, p.confidence_ab, p.confidence_ba] {
                prop_assert!((0.0..=1.0).contains(&x), "{x}");
            }
            prop_assert!(p.lift >= 0.0);
            prop_assert_eq!(a.pair(p.b, p.a), Some(p), "lift is symmetric: one record per pair");
            let both = s.iter().filter(|x| x.contains(&p.a) && x.contains(&p.b)).count();
            prop_assert_eq!(p.customers, both as u64);
            prop_assert!(p.support >= min_support - 1e-9);
        }
        for c in 0..s.len() {
            let bought = b.bought(c);
            if let Some(sg) = a.next_best(bought) {
                prop_assert!(!bought.contains(&sg.category));
                prop_assert!(bought.contains(&sg.from));
                prop_assert!(sg.lift > 1.0);
            }
        }
    }

    #[test]
    fn breakdown_counts_per_grade_sum_to_grade_size(
        grades in prop::collection::vec(prop::option::of(0u8..4), 1..120),
        cities in prop::collection::vec(prop::option::of(0u8..30), 120),
        ages in prop::collection::vec(prop::option::of(15i64..90), 120),
        max_values in 1usize..6,
    ) {
        let n = grades.len();
        let mut t = CustomerTable::new((0..n).map(|i| i.to_string()).collect());
        t.push("orders", ColumnData::Int(vec![Some(1); n].into())).unwrap();
        t.push("monetary", ColumnData::Float((0..n).map(|i| Some(i as f64)).collect())).unwrap();
        t.push("avg_order_value", ColumnData::Float(vec![Some(5.0); n].into())).unwrap();
        t.push("avg_interpurchase_days", ColumnData::Float(vec![None; n].into())).unwrap();
        t.push("city", ColumnData::Text(cities[..n].iter().map(|c| c.map(|c| format!("c{c}"))).collect())).unwrap();
        t.push("age", ColumnData::Int(ages[..n].to_vec().into())).unwrap();
        t.push("grade_behaviour", ColumnData::Text(grades.iter().map(|g| g.map(|g| format!("g{g}"))).collect())).unwrap();
        let input = BehaviourInput {
            table: &t,
            customer_categories: &[],
            categories: &[],
            seasonality: None,
            grade_columns: &["grade_behaviour"],
            lang: Lang::En,
        };
        let cfg = BehaviourConfig { dimensions: Some(vec!["city".into(), "age".into()]), max_values, ..BehaviourConfig::default() };
        let (s, cols) = analyze_behaviour(&input, &cfg).unwrap();
        prop_assert!(cols.is_empty());
        prop_assert_eq!(s.breakdowns.len(), 2);
        for b in &s.breakdowns {
            prop_assert!(b.values.len() <= max_values + 2 || b.banded);
            let kept: Vec<&str> = b.grades.iter().map(|g| g.label.as_str()).collect();
            for (gi, g) in b.grades.iter().enumerate() {
                // A grade's size counted straight from the input; past the cap grades lump into "(other)".
                let size = grades.iter().filter(|x| match x {
                    Some(x) if kept.contains(&format!("g{x}").as_str()) => format!("g{x}") == g.label,
                    Some(_) => g.label == "(other)",
                    None => g.label == "(unknown)",
                }).count() as u64;
                let col: u64 = b.customers.iter().map(|r| r[gi]).sum();
                prop_assert_eq!(col, size);
                prop_assert_eq!(g.customers, size);
            }
            let total: u64 = b.values.iter().map(|v| v.customers).sum();
            prop_assert_eq!(total, n as u64);
        }
    }
}
