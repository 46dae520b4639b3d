//! Snapshot comparison: a hand-built migration, the error messages, and matrix sums on random
//! snapshots.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};

use clientele_core::{Day, Texts};
use clientele_lifecycle::{
    DriftBand, GONE, LifecycleError, NEW_CUSTOMER, Side, Snapshot, Stage, compare, psi,
};
use proptest::prelude::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn texts(v: &[&str]) -> Texts {
    v.iter().map(|x| Some(*x)).collect()
}

fn names(t: &Texts) -> Vec<String> {
    t.iter()
        .map(|x| x.unwrap_or_default().to_string())
        .collect()
}

fn old() -> Snapshot {
    Snapshot {
        as_of: Day::from_ymd(1998, 3, 31).unwrap(),
        config_hash: "a1b2c3".into(),
        customers: s(&["a", "b", "c", "d"]),
        schemes: BTreeMap::from([(
            "behaviour".to_string(),
            texts(&["VIP", "普通客户", "普通客户", "VIP"]),
        )]),
        grade_order: BTreeMap::from([(
            "behaviour".to_string(),
            s(&["VIP", "高级客户", "普通客户"]),
        )]),
        scores: BTreeMap::from([("r".to_string(), vec![5, 1, 2, 4])]),
        lifecycle: Some(vec![
            Stage::Active,
            Stage::Churned,
            Stage::AtRisk,
            Stage::Active,
        ]),
        monetary: vec![100.0, 10.0, 20.0, 200.0],
        metrics: BTreeMap::from([
            ("recency_days".to_string(), vec![3.0, 300.0, 120.0, 10.0]),
            ("orders".to_string(), vec![8.0, 1.0, 2.0, 9.0]),
            ("monetary".to_string(), vec![100.0, 10.0, 20.0, 200.0]),
        ]),
    }
}

fn new() -> Snapshot {
    Snapshot {
        as_of: Day::from_ymd(1998, 6, 30).unwrap(),
        customers: s(&["b", "c", "d", "e"]),
        schemes: BTreeMap::from([(
            "behaviour".to_string(),
            texts(&["VIP", "普通客户", "普通客户", "高级客户"]),
        )]),
        scores: BTreeMap::from([("r".to_string(), vec![5, 2, 1, 3])]),
        lifecycle: Some(vec![
            Stage::Reactivated,
            Stage::AtRisk,
            Stage::Churned,
            Stage::New,
        ]),
        monetary: vec![150.0, 25.0, 210.0, 40.0],
        metrics: BTreeMap::from([
            ("recency_days".to_string(), vec![5.0, 200.0, 400.0, 2.0]),
            ("orders".to_string(), vec![2.0, 3.0, 9.0, 1.0]),
            ("monetary".to_string(), vec![150.0, 25.0, 210.0, 40.0]),
        ]),
        ..old()
    }
}

#[test]
fn migration_of_a_scheme_with_new_and_gone_customers() {
    let c = compare(&old(), &new()).unwrap();
    assert_eq!((c.old_customers, c.new_customers), (4, 4));
    assert_eq!((c.in_both, c.appeared, c.gone), (3, 1, 1));
    let b = &c.schemes[0];
    assert_eq!(b.name, "behaviour");
    assert_eq!(b.rows, s(&["VIP", "高级客户", "普通客户", NEW_CUSTOMER]));
    assert_eq!(b.columns, s(&["VIP", "高级客户", "普通客户", GONE]));
    assert_eq!(
        b.counts,
        [[0, 0, 1, 1], [0, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]]
    );
    assert_eq!(
        b.revenue,
        [
            [0.0, 0.0, 210.0, 100.0], // d now 普通 (new monetary); a gone (old monetary)
            [0.0; 4],
            [150.0, 0.0, 25.0, 0.0],
            [0.0, 40.0, 0.0, 0.0],
        ]
    );
    assert_eq!((b.stayed, b.moved), (1, 2));
    let moves: Vec<(&str, &str, Vec<String>)> = b
        .moves
        .iter()
        .map(|m| (m.from.as_str(), m.to.as_str(), m.customers.clone()))
        .collect();
    assert_eq!(
        moves,
        [
            ("VIP", "普通客户", s(&["d"])),
            ("VIP", GONE, s(&["a"])),
            ("普通客户", "VIP", s(&["b"])),
            (NEW_CUSTOMER, "高级客户", s(&["e"])),
        ]
    );
    let counts: Vec<(u64, u64)> = b
        .drift
        .bins
        .iter()
        .map(|x| (x.old_count, x.new_count))
        .collect();
    assert_eq!(counts, [(2, 1), (0, 1), (2, 2)]);
}

#[test]
fn migration_of_lifecycle_stages() {
    let c = compare(&old(), &new()).unwrap();
    let l = c.lifecycle.unwrap();
    assert_eq!(
        l.rows,
        s(&[
            "potential",
            "new",
            "active",
            "at_risk",
            "churned",
            "reactivated",
            NEW_CUSTOMER
        ])
    );
    let cell = |from: &str, to: &str| {
        let r = l.rows.iter().position(|x| x == from).unwrap();
        let k = l.columns.iter().position(|x| x == to).unwrap();
        l.counts[r][k]
    };
    assert_eq!(cell("active", "churned"), 1);
    assert_eq!(cell("active", GONE), 1);
    assert_eq!(cell("churned", "reactivated"), 1);
    assert_eq!(cell("at_risk", "at_risk"), 1);
    assert_eq!(cell(NEW_CUSTOMER, "new"), 1);
    assert_eq!(l.counts.iter().flatten().sum::<u64>(), 5);
}

#[test]
fn score_drift_with_empty_bins() {
    let c = compare(&old(), &new()).unwrap();
    let r = &c.scores[0];
    assert_eq!(r.name, "r");
    let levels: Vec<&str> = r.bins.iter().map(|b| b.level.as_str()).collect();
    assert_eq!(levels, ["1", "2", "3", "4", "5"]);
    // levels 3 (old) and 4 (new) are empty: each adds (0.25 − ε)·ln(0.25 / ε)
    let expected = 2.0 * (0.25 - 1e-4) * (0.25f64 / 1e-4).ln();
    assert!((r.psi.unwrap() - expected).abs() < 1e-12);
    assert_eq!(r.band, Some(DriftBand::Significant));
}

#[test]
fn metric_drift_is_the_headline_in_rfm_order_at_the_old_deciles() {
    let c = compare(&old(), &new()).unwrap();
    let names: Vec<&str> = c.metrics.iter().map(|m| m.metric.as_str()).collect();
    assert_eq!(names, ["recency_days", "orders", "monetary"]);
    let r = &c.metrics[0];
    // old recency 3, 10, 120, 300: deciles 5.1 … 246, every old customer in its own bin
    assert_eq!(r.drift.bins.iter().map(|b| b.old_count).sum::<u64>(), 4);
    assert_eq!(r.drift.bins.iter().map(|b| b.new_count).sum::<u64>(), 4);
    assert_eq!(r.drift.bins.len(), r.cuts.len() + 1);
    assert!(r.cuts.windows(2).all(|w| w[0] < w[1]));
    assert_eq!((r.old_median, r.new_median), (65.0, 102.5));
    // one customer above the old maximum of 300 days: lands in the top bin
    assert_eq!(r.drift.bins.last().unwrap().new_count, 1);
    assert!(r.drift.psi.unwrap() > 0.0);
}

#[test]
fn a_snapshot_without_metric_values_still_compares() {
    // snapshots written before metric drift have no `metrics` key
    let mut v = serde_json::to_value(old()).unwrap();
    v.as_object_mut().unwrap().remove("metrics");
    let o: Snapshot = serde_json::from_value(v).unwrap();
    assert!(o.metrics.is_empty());
    let c = compare(&o, &new()).unwrap();
    assert!(c.metrics.is_empty());
    assert_eq!(c.scores.len(), 1);
    // a metric with a value per customer is checked like every other column
    let mut n = new();
    n.metrics.get_mut("orders").unwrap().pop();
    assert_eq!(
        compare(&old(), &n).unwrap_err().to_string(),
        "new snapshot: metric `orders` has 3 values for 4 customers"
    );
}

#[test]
fn psi_values_and_bands() {
    // (0.25 − 0.5)·ln 0.5 + (0.75 − 0.5)·ln 1.5
    let v = psi(&[50, 50], &[25, 75]).unwrap();
    assert!((v - (0.25 * 2f64.ln() + 0.25 * 1.5f64.ln())).abs() < 1e-12);
    assert_eq!(psi(&[3, 7], &[30, 70]), Some(0.0));
    assert_eq!(psi(&[0, 0], &[1, 2]), None);
    assert_eq!(DriftBand::of(0.0999), DriftBand::Stable);
    assert_eq!(DriftBand::of(0.1), DriftBand::Moderate);
    assert_eq!(DriftBand::of(0.25), DriftBand::Moderate);
    assert_eq!(DriftBand::of(0.2501), DriftBand::Significant);
}

#[test]
fn different_configs_are_refused() {
    let n = Snapshot {
        config_hash: "d4e5f6".into(),
        ..new()
    };
    assert_eq!(
        compare(&old(), &n).unwrap_err().to_string(),
        "snapshots use different configs (old a1b2c3, new d4e5f6): compare runs made with the \
         same config"
    );
}

#[test]
fn scheme_in_one_snapshot_only_is_refused() {
    let mut o = old();
    o.schemes.clear();
    assert_eq!(
        compare(&o, &new()).unwrap_err().to_string(),
        "scheme `behaviour` is only in the new snapshot"
    );
    let mut n = new();
    n.schemes
        .insert("value".into(), texts(&["高", "中", "低", "低"]));
    assert_eq!(
        compare(&old(), &n).unwrap_err().to_string(),
        "scheme `value` is only in the new snapshot"
    );
    let mut n = new();
    n.schemes.clear();
    assert_eq!(
        compare(&old(), &n).unwrap_err(),
        LifecycleError::OnlyIn {
            kind: "scheme",
            name: "behaviour".into(),
            side: Side::Old
        }
    );
}

#[test]
fn other_mismatches_are_refused() {
    let mut n = new();
    n.lifecycle = None;
    assert_eq!(
        compare(&old(), &n).unwrap_err().to_string(),
        "lifecycle stages are only in the old snapshot: compare runs made with the same config"
    );
    let mut n = new();
    n.scores.insert("f".into(), vec![1, 1, 1, 1]);
    assert_eq!(
        compare(&old(), &n).unwrap_err().to_string(),
        "score `f` is only in the new snapshot"
    );
    assert_eq!(
        compare(&new(), &old()).unwrap_err().to_string(),
        "the old snapshot (as of 1998-06-30) is later than the new one (as of 1998-03-31): \
         swap them"
    );
    let mut n = new();
    n.monetary.pop();
    assert_eq!(
        compare(&old(), &n).unwrap_err().to_string(),
        "new snapshot: monetary has 3 values for 4 customers"
    );
    let mut o = old();
    o.customers[1] = "a".into();
    assert_eq!(
        compare(&o, &new()).unwrap_err().to_string(),
        "old snapshot: customer `a` appears twice (rows 0 and 1)"
    );
}

#[test]
fn snapshot_json_roundtrip() {
    let o = old();
    let json = serde_json::to_string(&o).unwrap();
    assert!(json.contains("\"as_of\":\"1998-03-31\""), "{json}");
    assert!(json.contains("\"lifecycle\":[\"active\",\"churned\",\"at_risk\",\"active\"]"));
    assert_eq!(serde_json::from_str::<Snapshot>(&json).unwrap(), o);
    let c = compare(&o, &new()).unwrap();
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["scores"][0]["band"], "significant");
}

const GRADES: [&str; 3] = ["A", "B", "C"];

/// Random snapshot over ids 0..30: each id is present with probability ~1/2.
fn arb_snapshot() -> impl Strategy<Value = Snapshot> {
    proptest::collection::vec(
        (any::<bool>(), 0usize..3, 0usize..6, 1u8..6, 0u32..1000),
        30,
    )
    .prop_map(|cells| {
        let mut snap = Snapshot {
            as_of: Day(10_000),
            config_hash: "h".into(),
            customers: Vec::new(),
            schemes: BTreeMap::new(),
            grade_order: BTreeMap::new(),
            scores: BTreeMap::from([("m".to_string(), Vec::new())]),
            lifecycle: Some(Vec::new()),
            monetary: Vec::new(),
            metrics: BTreeMap::new(),
        };
        let mut grades = Vec::new();
        for (id, (present, g, st, sc, money)) in cells.into_iter().enumerate() {
            if present {
                snap.customers.push(format!("c{id}"));
                grades.push(Some(GRADES[g]));
                snap.lifecycle.as_mut().unwrap().push(Stage::ALL[st]);
                snap.scores.get_mut("m").unwrap().push(sc);
                snap.monetary.push(f64::from(money));
            }
        }
        snap.customers.reverse(); // ids need not be sorted
        grades.reverse();
        snap.schemes.insert("g".to_string(), Texts::from(grades));
        snap.lifecycle.as_mut().unwrap().reverse();
        snap.scores.get_mut("m").unwrap().reverse();
        snap.monetary.reverse();
        snap.metrics
            .insert("monetary".to_string(), snap.monetary.clone());
        snap
    })
}

fn grade_counts(labels: &[String], grades: &[String]) -> Vec<u64> {
    labels
        .iter()
        .map(|l| grades.iter().filter(|g| *g == l).count() as u64)
        .collect()
}

proptest! {
    #[test]
    fn matrix_rows_and_columns_sum_to_the_snapshots(o in arb_snapshot(), n in arb_snapshot()) {
        let c = compare(&o, &n).unwrap();
        // metric drift: every customer of each snapshot in exactly one bin, no old bin empty
        let m = &c.metrics[0].drift;
        prop_assert_eq!(m.bins.iter().map(|b| b.old_count).sum::<u64>(), o.customers.len() as u64);
        prop_assert_eq!(m.bins.iter().map(|b| b.new_count).sum::<u64>(), n.customers.len() as u64);
        prop_assert!(m.bins[..m.bins.len() - 1].iter().all(|b| b.old_count > 0));
        let old_ids: BTreeSet<&String> = o.customers.iter().collect();
        let new_ids: BTreeSet<&String> = n.customers.iter().collect();
        let appeared = new_ids.difference(&old_ids).count() as u64;
        let gone = old_ids.difference(&new_ids).count() as u64;
        prop_assert_eq!((c.appeared, c.gone), (appeared, gone));
        let stage_ids = |v: &Snapshot| -> Vec<String> {
            v.lifecycle.as_ref().unwrap().iter().map(|s| s.id().to_string()).collect()
        };
        let checks = [
            (&c.schemes[0], names(&o.schemes["g"]), names(&n.schemes["g"])),
            (c.lifecycle.as_ref().unwrap(), stage_ids(&o), stage_ids(&n)),
        ];
        for (mig, og, ng) in checks {
            let g = mig.rows.len() - 1;
            let labels = &mig.rows[..g];
            let row_sums: Vec<u64> = mig.counts.iter().map(|r| r.iter().sum()).collect();
            let mut expect_rows = grade_counts(labels, &og);
            expect_rows.push(appeared);
            prop_assert_eq!(row_sums, expect_rows);
            let col_sums: Vec<u64> =
                (0..=g).map(|j| mig.counts.iter().map(|r| r[j]).sum()).collect();
            let mut expect_cols = grade_counts(labels, &ng);
            expect_cols.push(gone);
            prop_assert_eq!(col_sums, expect_cols);
            prop_assert_eq!(mig.counts[g][g], 0);
            prop_assert!(mig.moves.iter().all(|m| m.count == m.customers.len() as u64));
            let moved: u64 = mig.moves.iter().map(|m| m.count).sum();
            prop_assert_eq!(moved, mig.moved + appeared + gone);
            prop_assert_eq!(mig.stayed + mig.moved, c.in_both);
            // revenue columns = new monetary per new grade
            for (j, label) in labels.iter().enumerate() {
                let col: f64 = mig.revenue.iter().map(|r| r[j]).sum();
                let want: f64 = ng.iter().zip(&n.monetary).filter(|(x, _)| *x == label).map(|(_, m)| m).sum();
                prop_assert!((col - want).abs() < 1e-9);
            }
            if let Some(p) = mig.drift.psi { prop_assert!(p >= 0.0); }
        }
        let d = &c.scores[0];
        prop_assert_eq!(d.bins.iter().map(|b| b.old_count).sum::<u64>(), o.customers.len() as u64);
        prop_assert_eq!(d.bins.iter().map(|b| b.new_count).sum::<u64>(), n.customers.len() as u64);
    }

    #[test]
    fn a_snapshot_compared_with_itself_does_not_move(o in arb_snapshot()) {
        let c = compare(&o, &o).unwrap();
        let m = &c.schemes[0];
        prop_assert!(m.moves.is_empty());
        prop_assert_eq!(m.stayed, o.customers.len() as u64);
        if !o.customers.is_empty() {
            prop_assert_eq!(c.scores[0].psi, Some(0.0));
            prop_assert_eq!(c.scores[0].band, Some(DriftBand::Stable));
        }
    }
}
