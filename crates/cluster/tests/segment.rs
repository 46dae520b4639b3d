//! End-to-end behaviour of `segment`: determinism, value ordering, predict, bad input.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use clientele_cluster::synth::Blobs;
use clientele_cluster::{
    ClusterConfig, ClusterError, FittedKMeans, FrozenClusters, KChoice, Segmentation, columns_read,
    segment,
};
use clientele_core::{ColumnData, CustomerTable};

/// `n` customers from 6 overlapping segments, in realistic units.
fn customers(n: usize, seed: u64) -> CustomerTable {
    let (x, _) = Blobs::customers(n, seed).generate();
    let mut t = CustomerTable::new((0..n).map(|i| format!("c{i:06}")).collect());
    let col = |j: usize, f: &dyn Fn(f64) -> f64| {
        ColumnData::Float((0..n).map(|i| Some(f(x[i * 5 + j]))).collect())
    };
    t.push("recency_days", col(0, &|v| (3.5 + v).exp().round()))
        .unwrap();
    t.push(
        "orders",
        ColumnData::Int(
            (0..n)
                .map(|i| Some((1.0 + x[i * 5 + 1]).exp().round() as i64 + 1))
                .collect(),
        ),
    )
    .unwrap();
    t.push("monetary", col(2, &|v| (5.0 + 1.2 * v).exp()))
        .unwrap();
    t.push(
        "categories",
        ColumnData::Int(
            (0..n)
                .map(|i| Some((x[i * 5 + 3] + 2.0).max(0.0) as i64))
                .collect(),
        ),
    )
    .unwrap();
    t
}

fn run(t: &CustomerTable, k: KChoice, seed: u64) -> Segmentation {
    segment(
        t,
        &ClusterConfig {
            k,
            seed,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn same_seed_gives_identical_labels_and_label_1_is_most_valuable() {
    let t = customers(6_000, 3);
    let a = run(&t, KChoice::Range { min: 2, max: 6 }, 42);
    let b = run(&t, KChoice::Range { min: 2, max: 6 }, 42);
    assert_eq!(a, b);
    assert_eq!(a.scores.len(), 5);
    assert_eq!(
        a.scores.iter().map(|s| s.k).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6]
    );
    // k is the elbow: the inertia farthest below the chord from k = 2 to k = 6.
    let (first, last) = (&a.scores[0], &a.scores[4]);
    let below = |s: &clientele_cluster::KScore| {
        first.inertia + (last.inertia - first.inertia) * (s.k - 2) as f64 / 4.0 - s.inertia
    };
    let elbow = a.scores[1..4]
        .iter()
        .max_by(|x, y| below(x).total_cmp(&below(y)))
        .unwrap();
    assert_eq!(a.model.k, elbow.k);
    assert!(below(elbow) > 0.0);
    // Mean monetary strictly decreases with the label.
    let means: Vec<f64> = a
        .profiles
        .iter()
        .map(|p| {
            p.stats
                .iter()
                .find(|s| s.column == "monetary")
                .unwrap()
                .mean
                .unwrap()
        })
        .collect();
    assert!(means.windows(2).all(|w| w[0] > w[1]), "{means:?}");
    assert_eq!(a.profiles.iter().map(|p| p.size).sum::<usize>(), 6_000);
    let rev: f64 = a.profiles.iter().map(|p| p.revenue_share.unwrap()).sum();
    assert!((rev - 1.0).abs() < 1e-9);
    assert!(
        a.labels
            .iter()
            .all(|l| l.is_some_and(|l| (1..=a.model.k as u32).contains(&l)))
    );
}

#[test]
fn the_default_range_is_three_to_eight_and_does_not_settle_on_two() {
    let t = customers(6_000, 3);
    let s = segment(&t, &ClusterConfig::default()).unwrap();
    assert_eq!(
        s.scores.iter().map(|s| s.k).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7, 8]
    );
    assert!((4..=7).contains(&s.model.k), "k = {}", s.model.k);
    assert_eq!(
        Some(s.model.k),
        clientele_cluster::select::choose_k(&s.scores)
    );
}

#[test]
fn a_frozen_segmentation_keeps_labels_and_names_on_other_customers() {
    let t = customers(4_000, 5);
    let fit = run(&t, KChoice::Fixed(4), 7);
    let frozen = ClusterConfig {
        frozen: Some(FrozenClusters::new(fit.model.clone(), &fit.profiles)),
        ..Default::default()
    };
    // the same customers: the same labels, names and centroids, no k scan
    let same = segment(&t, &frozen).unwrap();
    assert_eq!(same.labels, fit.labels);
    assert_eq!(same.model.centroids, fit.model.centroids);
    assert!(same.scores.is_empty());
    for (a, b) in same.profiles.iter().zip(&fit.profiles) {
        assert_eq!(
            (&a.name_en, &a.name_zh, a.size),
            (&b.name_en, &b.name_zh, b.size)
        );
    }
    // "a month earlier": other customers, fewer orders and spend. Refitting would relabel and
    // rename; the frozen model keeps label → name and places each customer by the same centroids
    let earlier = customers(2_500, 8);
    let refit = run(&earlier, KChoice::Fixed(4), 7);
    let back = segment(&earlier, &frozen).unwrap();
    assert_eq!(back.model.k, 4);
    assert_eq!(back.model.predict(&earlier).unwrap(), back.labels);
    assert_eq!(fit.model.predict(&earlier).unwrap(), back.labels);
    for (a, b) in back.profiles.iter().zip(&fit.profiles) {
        assert_eq!(a.label, b.label);
        assert_eq!((&a.name_en, &a.name_zh), (&b.name_en, &b.name_zh));
    }
    assert_eq!(back.profiles.iter().map(|p| p.size).sum::<usize>(), 2_500);
    assert_ne!(refit.model.centroids, fit.model.centroids);
}

#[test]
fn row_order_does_not_change_a_customers_cluster() {
    let t = customers(3_000, 9);
    let a = run(&t, KChoice::Fixed(4), 1);
    let rev: Vec<usize> = (0..t.len()).rev().collect();
    let b = run(&t.take(&rev), KChoice::Fixed(4), 1);
    // Different order may pick a different sample for k-means++, but on this data the optimum is
    // the same: compare partitions via labels (which are value-ordered, so directly comparable).
    let n = t.len();
    let b_back: Vec<Option<u32>> = (0..n).map(|i| b.labels[n - 1 - i]).collect();
    let agree = a.labels.iter().zip(&b_back).filter(|(x, y)| x == y).count();
    assert!(agree as f64 >= 0.99 * t.len() as f64, "agree {agree}");
}

#[test]
fn fixed_k_profiles_and_model_round_trip_through_json() {
    let t = customers(4_000, 5);
    let s = run(&t, KChoice::Fixed(3), 7);
    assert_eq!(s.model.k, 3);
    assert_eq!(s.profiles.len(), 3);
    let cols: Vec<&str> = s.model.features.iter().map(|f| f.column.as_str()).collect();
    assert_eq!(cols, ["recency_days", "orders", "monetary", "categories"]);
    for p in &s.profiles {
        assert!(!p.name_en.is_empty() && !p.name_zh.is_empty());
        assert_eq!(p.centroid.len(), 4);
    }
    let names: std::collections::HashSet<&str> =
        s.profiles.iter().map(|p| p.name_en.as_str()).collect();
    assert_eq!(names.len(), 3, "names must be unique");
    let whole: Segmentation = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(whole.labels, s.labels);
    assert_eq!(whole.profiles.len(), 3);
    let json = serde_json::to_string(&s.model).unwrap();
    let back: FittedKMeans = serde_json::from_str(&json).unwrap();
    assert_eq!(back.predict(&t).unwrap(), s.labels);
    let row = [2.0, 10.0, 5000.0, 4.0];
    assert!((1..=3).contains(&back.predict_row(&row).unwrap()));
    assert!(matches!(
        back.predict_row(&row[..2]),
        Err(ClusterError::Width {
            expected: 4,
            got: 2
        })
    ));
}

#[test]
fn missing_values_get_no_cluster() {
    let mut t = customers(500, 2);
    let mut m: Vec<Option<f64>> = t.floats("monetary").unwrap().to_vec();
    m[10] = None;
    t.set("monetary", ColumnData::Float(m.into())).unwrap();
    let s = run(&t, KChoice::Fixed(3), 0);
    assert_eq!(s.labels[10], None);
    assert_eq!(s.labels.iter().filter(|l| l.is_some()).count(), 499);
    assert!(
        s.notes.iter().any(|n| n.en.contains("1 of 500")),
        "{:?}",
        s.notes
    );
    assert_eq!(s.model.predict(&t).unwrap()[10], None);
}

fn small(vals: &[(f64, f64, f64)]) -> CustomerTable {
    let mut t = CustomerTable::new((0..vals.len()).map(|i| format!("c{i}")).collect());
    let col = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
        ColumnData::Float(vals.iter().map(|v| Some(f(v))).collect())
    };
    t.push("recency_days", col(&|v| v.0)).unwrap();
    t.push("orders", col(&|v| v.1)).unwrap();
    t.push("monetary", col(&|v| v.2)).unwrap();
    t
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let cfg = |k| ClusterConfig {
        k,
        ..Default::default()
    };
    // Fewer than 2 customers.
    let one = small(&[(1.0, 2.0, 3.0)]);
    assert!(matches!(
        segment(&one, &cfg(KChoice::Fixed(2))),
        Err(ClusterError::TooFewCustomers { found: 1, .. })
    ));
    let none = small(&[]);
    assert!(matches!(
        segment(&none, &cfg(KChoice::Fixed(2))),
        Err(ClusterError::TooFewCustomers { found: 0, .. })
    ));
    // k larger than the number of distinct customers.
    let dup = small(&[
        (1.0, 1.0, 10.0),
        (1.0, 1.0, 10.0),
        (5.0, 2.0, 99.0),
        (5.0, 2.0, 99.0),
    ]);
    let e = segment(&dup, &cfg(KChoice::Fixed(3))).unwrap_err();
    assert!(
        matches!(e, ClusterError::TooFewDistinct { k: 3, distinct: 2 }),
        "{e}"
    );
    assert!(e.to_string().contains("lower k"));
    // A range is capped at the distinct count, with a note.
    let s = segment(&dup, &cfg(KChoice::Range { min: 2, max: 8 })).unwrap();
    assert_eq!(s.model.k, 2);
    assert!(
        s.notes.iter().any(|n| n.en.contains("k tried up to 2")),
        "{:?}",
        s.notes
    );
    // Every feature constant.
    let flat = small(&[(1.0, 1.0, 1.0), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0)]);
    assert!(matches!(
        segment(&flat, &cfg(KChoice::Fixed(2))),
        Err(ClusterError::AllFeaturesConstant(_))
    ));
    // One constant feature is dropped with a note.
    let some = small(&[
        (1.0, 1.0, 10.0),
        (9.0, 1.0, 20.0),
        (30.0, 1.0, 500.0),
        (2.0, 1.0, 700.0),
    ]);
    let s = segment(&some, &cfg(KChoice::Fixed(2))).unwrap();
    assert_eq!(s.model.features.len(), 2);
    assert!(
        s.notes
            .iter()
            .any(|n| n.en.contains("`orders` is constant")),
        "{:?}",
        s.notes
    );
    // NaN and infinity.
    let nan = small(&[(1.0, 1.0, f64::NAN), (2.0, 2.0, 3.0), (4.0, 1.0, 2.0)]);
    let e = segment(&nan, &cfg(KChoice::Fixed(2))).unwrap_err();
    assert!(
        matches!(&e, ClusterError::NonFinite { column, customer, .. } if column == "monetary" && customer == "c0"),
        "{e}"
    );
    let inf = small(&[(1.0, 1.0, 1.0), (f64::INFINITY, 2.0, 3.0), (4.0, 1.0, 2.0)]);
    assert!(matches!(
        segment(&inf, &cfg(KChoice::Fixed(2))),
        Err(ClusterError::NonFinite { .. })
    ));
    // Missing column.
    let mut t = CustomerTable::new(vec!["a".into(), "b".into()]);
    t.push("orders", ColumnData::Int(vec![Some(1), Some(2)].into()))
        .unwrap();
    let e = segment(&t, &cfg(KChoice::Fixed(2))).unwrap_err();
    assert!(e.to_string().contains("recency_days"), "{e}");
    // Negative monetary (returns) is fine thanks to the signed log1p.
    let neg = small(&[
        (1.0, 1.0, -50.0),
        (2.0, 3.0, 300.0),
        (40.0, 1.0, 20.0),
        (3.0, 5.0, 900.0),
    ]);
    assert!(segment(&neg, &cfg(KChoice::Fixed(2))).is_ok());
}

#[test]
fn config_from_toml() {
    let c: ClusterConfig =
        toml::from_str("features = [\"recency_days\", \"none(orders)\", \"log1p(monetary)\"]\nk = 3\nseed = 9\nn_init = 4")
            .unwrap();
    let t = customers(1_000, 4);
    let s = segment(&t, &c).unwrap();
    assert_eq!(s.model.k, 3);
    assert_eq!(
        s.model.features[1].transform,
        clientele_cluster::Transform::None
    );
    assert_eq!(s.model.seed, 9);
}

#[test]
fn large_tables_scan_k_on_a_sample_and_refine_on_all() {
    let t = customers(8_000, 6);
    let cfg = ClusterConfig {
        k: KChoice::Range { min: 2, max: 5 },
        sample_size: 2_000,
        silhouette_sample: 1_000,
        ..Default::default()
    };
    let a = segment(&t, &cfg).unwrap();
    assert_eq!(a, segment(&t, &cfg).unwrap());
    assert!(
        a.notes
            .iter()
            .any(|n| n.en.contains("sample of 2,000 of 8,000 customers")),
        "{:?}",
        a.notes
    );
    // Every k is scored on the sample: shares of its 2,000 customers, and the chosen k's
    // inertia about a quarter of the refined model's on all 8,000.
    for s in &a.scores {
        let members = s.smallest_share * 2_000.0;
        assert!((members - members.round()).abs() < 1e-9, "{s:?}");
    }
    let chosen = a.scores.iter().find(|s| s.k == a.model.k).unwrap();
    let ratio = chosen.inertia / a.model.inertia;
    assert!((0.2..0.3).contains(&ratio), "{ratio}");
    // The refined model labels every customer as its own centroids say.
    assert_eq!(a.model.predict(&t).unwrap(), a.labels);
    let full = segment(
        &t,
        &ClusterConfig {
            k: KChoice::Fixed(a.model.k),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        a.model.inertia <= full.model.inertia * 1.01,
        "{} vs {}",
        a.model.inertia,
        full.model.inertia
    );
}

#[test]
fn the_chosen_k_of_a_range_is_clustered_as_that_fixed_k() {
    // a small table (every customer in the scan) and one past the sample size
    for (n, sample_size) in [(5_000, 100_000), (12_000, 3_000)] {
        let t = customers(n, 11);
        let config = |k| ClusterConfig {
            k,
            seed: 5,
            sample_size,
            ..Default::default()
        };
        let scanned = segment(&t, &config(KChoice::Range { min: 2, max: 7 })).unwrap();
        let fixed = segment(&t, &config(KChoice::Fixed(scanned.model.k))).unwrap();
        assert_eq!(scanned.model, fixed.model, "{n} customers");
        assert_eq!(scanned.labels, fixed.labels, "{n} customers");
        assert_eq!(scanned.profiles, fixed.profiles, "{n} customers");
    }
}

#[test]
fn a_table_of_the_columns_it_reads_is_segmented_as_the_whole_table() {
    // the whole table: the features, more columns around them, one of them after them
    let mut t = customers(3_000, 8);
    let n = t.len();
    let other = |f: &dyn Fn(usize) -> f64| ColumnData::Float((0..n).map(|i| Some(f(i))).collect());
    t.push("profit", other(&|i| (i % 97) as f64)).unwrap();
    t.push("avg_order_value", other(&|i| 20.0 + (i % 13) as f64))
        .unwrap();
    t.push("clv", other(&|i| (i % 31) as f64 * 3.5)).unwrap();
    let named: ClusterConfig = toml::from_str("features = [\"monetary\", \"clv\"]").unwrap();
    for cfg in [ClusterConfig::default(), named] {
        let read = columns_read(&cfg).unwrap().unwrap();
        // only what it reads, in another order than the table's
        let mut just = CustomerTable::new(t.ids().iter().map(str::to_string).collect());
        for name in read.iter().rev() {
            if let Some(c) = t.get(name) {
                just.push(name.clone(), c.clone()).unwrap();
            }
        }
        assert!(!just.has_column("profit"), "{read:?}");
        assert_eq!(segment(&just, &cfg).unwrap(), segment(&t, &cfg).unwrap());
    }
    // a frozen segmentation reads its own features
    let frozen = ClusterConfig {
        frozen: Some(FrozenClusters {
            model: run(&t, KChoice::Fixed(3), 0).model,
            names: Default::default(),
        }),
        ..Default::default()
    };
    assert_eq!(columns_read(&frozen).unwrap(), None);
}
