//! Invariants on random tables: every customer gets exactly one grade (exclusive modes), grades do
//! not depend on row order, and first_match agrees with a row-by-row brute force.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::collections::HashMap;

use clientele_core::{ColumnData, CustomerTable};
use clientele_grade::{
    ParamValue, Playbook, SchemeConfig, SchemeResult, compile, presets, summarize,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Row {
    orders: Option<i64>,
    monetary: Option<f64>,
    categories: Option<i64>,
    r: Option<i64>,
    f: Option<i64>,
}

fn row() -> impl Strategy<Value = Row> {
    (
        proptest::option::weighted(0.9, 0i64..30),
        proptest::option::weighted(0.9, prop_oneof![Just(500.0), -50.0f64..1500.0]),
        proptest::option::weighted(0.9, 0i64..10),
        proptest::option::weighted(0.9, 0i64..7),
        proptest::option::weighted(0.9, 1i64..6),
    )
        .prop_map(|(orders, monetary, categories, r, f)| Row {
            orders,
            monetary,
            categories,
            r,
            f,
        })
}

fn table(rows: &[Row]) -> CustomerTable {
    let mut t = CustomerTable::new((0..rows.len()).map(|i| format!("c{i:04}")).collect());
    let col = |f: &dyn Fn(&Row) -> Option<i64>| ColumnData::Int(rows.iter().map(f).collect());
    t.push("orders", col(&|r| r.orders)).unwrap();
    t.push("categories", col(&|r| r.categories)).unwrap();
    t.push("r_score", col(&|r| r.r)).unwrap();
    t.push("f_score", col(&|r| r.f)).unwrap();
    t.push(
        "monetary",
        ColumnData::Float(rows.iter().map(|r| r.monetary).collect()),
    )
    .unwrap();
    t
}

fn schemes() -> Vec<SchemeConfig> {
    let mut v: Vec<SchemeConfig> = ["behaviour", "behaviour_percentile", "rf_grid"]
        .iter()
        .map(|n| presets::get(n).unwrap())
        .collect();
    // A grid over scores that may be out of range (r_score 0 or 6) needs a default.
    v[2].default = Some("未评分".into());
    v.push(
        toml::from_str::<SchemeConfig>(
            r#"
            name = "pts"
            mode = "points"
            rules = [
              { when = "orders >= p50(orders)", points = 2 },
              { when = "monetary > 300 OR categories IS NULL", points = 3 },
              { when = "monetary < 0", points = -4 },
            ]
            tiers = [{ grade = "gold", min_points = 5 }, { grade = "silver", min_points = 2 }]
            default = "basic"
            "#,
        )
        .unwrap(),
    );
    v
}

fn by_id(r: &SchemeResult, t: &CustomerTable) -> HashMap<String, Option<String>> {
    t.ids()
        .iter()
        .enumerate()
        .map(|(i, id)| (id.to_string(), r.label(i).map(|s| s.into_owned())))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Graded a part at a time (a table kept on disk), with the statistics resolved on every
    /// customer (`p50(orders)`, the percentile preset), every customer gets the grade of one
    /// call on the whole table, and each part's grades arrive in row order.
    #[test]
    fn graded_by_parts_equals_one_call(
        rows in proptest::collection::vec(row(), 0..60),
        part_rows in 1usize..9,
    ) {
        let t = table(&rows);
        let stored = clientele_core::testing::in_parts(&t, part_rows);
        for s in schemes() {
            let whole = compile(&s, &t).unwrap().apply(&t).unwrap();
            let compiled = compile(&s, &stored).unwrap();
            let mut seen = Vec::new();
            let parted = compiled
                .apply_by_parts(&stored, |p| -> Result<(), clientele_grade::GradeError> {
                    seen.extend((0..p.len()).map(|i| p.label(i).map(|l| l.into_owned())));
                    Ok(())
                })
                .unwrap();
            prop_assert_eq!(&parted, &whole);
            let want: Vec<Option<String>> =
                (0..whole.len()).map(|i| whole.label(i).map(|l| l.into_owned())).collect();
            prop_assert_eq!(seen, want);
        }
    }

    #[test]
    fn grade_counts_sum_to_the_customer_count(rows in proptest::collection::vec(row(), 0..60)) {
        let t = table(&rows);
        for s in schemes() {
            let r = compile(&s, &t).unwrap().apply(&t).unwrap();
            let (counts, none) = r.counts();
            prop_assert_eq!(counts.iter().sum::<usize>() + none, t.len(), "{}", s.name);
            let summary = summarize(&r, &t, &Playbook::builtin());
            let total: usize = summary.grades.iter().map(|g| g.customers).sum();
            prop_assert_eq!(total + summary.ungraded, t.len());
        }
    }

    #[test]
    fn grades_do_not_depend_on_row_order(
        rows in proptest::collection::vec(row(), 1..60),
        seed in any::<u64>(),
    ) {
        let t = table(&rows);
        let mut perm: Vec<usize> = (0..t.len()).collect();
        // Fisher–Yates with a small LCG so the permutation comes from the seed.
        let mut x = seed | 1;
        for i in (1..perm.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (x >> 33) as usize % (i + 1));
        }
        let shuffled = t.take(&perm);
        for s in schemes() {
            let a = compile(&s, &t).unwrap().apply(&t).unwrap();
            let b = compile(&s, &shuffled).unwrap().apply(&shuffled).unwrap();
            prop_assert_eq!(by_id(&a, &t), by_id(&b, &shuffled), "{}", s.name);
        }
    }

    #[test]
    fn first_match_equals_brute_force(
        rows in proptest::collection::vec(row(), 0..80),
        vo in 0i64..20, vm in 0f64..1000.0, vc in 0i64..8,
        so in 0i64..20, sm in 0f64..1000.0, sc in 0i64..8,
    ) {
        let t = table(&rows);
        let mut cfg = presets::get("behaviour").unwrap();
        cfg.preset = Some("behaviour".into());
        cfg.rules.clear();
        cfg.mode = None;
        cfg.default = None;
        cfg.description = None;
        for (k, v) in [("vip_orders", vo as f64), ("vip_monetary", vm), ("vip_categories", vc as f64),
                       ("senior_orders", so as f64), ("senior_monetary", sm), ("senior_categories", sc as f64)] {
            cfg.params.insert(k.into(), ParamValue::Number(v));
        }
        let r = compile(&cfg, &t).unwrap().apply(&t).unwrap();
        // SQL semantics by hand: a NULL operand makes the comparison unknown; AND is unknown
        // unless some operand is false; only true matches.
        let gt_i = |x: Option<i64>, y: i64| x.map(|x| x > y);
        let gt_f = |x: Option<f64>, y: f64| x.map(|x| x > y);
        let and = |a: Option<bool>, b: Option<bool>, c: Option<bool>| {
            if a == Some(false) || b == Some(false) || c == Some(false) { Some(false) }
            else if a.is_none() || b.is_none() || c.is_none() { None } else { Some(true) }
        };
        for (i, row) in rows.iter().enumerate() {
            let vip = and(gt_i(row.orders, vo), gt_f(row.monetary, vm), gt_i(row.categories, vc));
            let senior = and(gt_i(row.orders, so), gt_f(row.monetary, sm), gt_i(row.categories, sc));
            let expected = if vip == Some(true) { "VIP" } else if senior == Some(true) { "高级客户" } else { "普通客户" };
            let got = r.label(i).map(|s| s.into_owned());
            prop_assert_eq!(got.as_deref(), Some(expected), "row {:?}", row);
        }
    }
}
