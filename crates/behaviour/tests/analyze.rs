//! End-to-end checks of `analyze_behaviour`: typed errors, serde shape, and speed.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use clientele_behaviour::{
    Affinity, Baskets, BehaviourConfig, BehaviourError, BehaviourInput, BehaviourSummary,
    CategoryRows, CustomerCategory, Lang, PeriodTotals, Seasonality, analyze_behaviour,
};
use clientele_core::{ColumnData, CustomerTable};

fn table(n: usize) -> CustomerTable {
    let mut t = CustomerTable::new((0..n).map(|i| format!("{i:07}")).collect());
    let f = |g: &dyn Fn(usize) -> Option<f64>| ColumnData::Float((0..n).map(g).collect());
    t.push(
        "orders",
        ColumnData::Int((0..n).map(|i| Some(1 + (i % 25) as i64)).collect()),
    )
    .unwrap();
    t.push("monetary", f(&|i| Some(10.0 + (i % 997) as f64)))
        .unwrap();
    t.push(
        "avg_order_value",
        f(&|i| Some(5.0 + (i % 313) as f64 * 1.7)),
    )
    .unwrap();
    t.push(
        "avg_interpurchase_days",
        f(&|i| (i % 4 != 0).then_some((i % 200) as f64)),
    )
    .unwrap();
    t.push(
        "city",
        ColumnData::Text(
            (0..n)
                .map(|i| (i % 9 != 0).then(|| format!("city{}", i % 12)))
                .collect(),
        ),
    )
    .unwrap();
    t.push(
        "age",
        ColumnData::Int((0..n).map(|i| Some(18 + (i % 60) as i64)).collect()),
    )
    .unwrap();
    t.push(
        "grade_behaviour",
        ColumnData::Text(
            (0..n)
                .map(|i| Some(["VIP", "高级客户", "普通客户"][i % 3].to_string()))
                .collect(),
        ),
    )
    .unwrap();
    t.push(
        "lifecycle_stage",
        ColumnData::Text(
            (0..n)
                .map(|i| Some(["new", "active", "lapsed", "lost"][i % 4].to_string()))
                .collect(),
        ),
    )
    .unwrap();
    t
}

/// ~3 categories per customer, correlated so some pairs have lift > 1.
fn category_rows(n: usize, k: u32) -> Vec<CustomerCategory> {
    let mut v = Vec::with_capacity(n * 3);
    for c in 0..n as u32 {
        let base = c % k;
        let mut cats = [base, (base + 1) % k, (c / 7) % k];
        cats.sort_unstable();
        for (j, &cat) in cats.iter().enumerate() {
            if j > 0 && cats[j - 1] == cat {
                continue;
            }
            v.push(CustomerCategory {
                customer: c,
                category: cat,
                revenue: 10.0 + f64::from(cat),
                orders: 1,
            });
        }
    }
    v
}

/// `summary.json` is a contract: the summary reads back to the same value and the same text.
fn assert_round_trips(sum: &BehaviourSummary) -> String {
    let json = serde_json::to_string(sum).unwrap();
    let back: BehaviourSummary = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, sum);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    json
}

fn names(k: u32) -> Vec<String> {
    (0..k).map(|i| format!("cat{i:02}")).collect()
}

#[test]
fn full_run_shapes_and_json() {
    let t = table(1000);
    let rows = category_rows(1000, 10);
    let cats = names(10);
    let mut s = Seasonality::default();
    s.weekday[5] = PeriodTotals {
        revenue: 100.0,
        orders: 10,
        customers: 8,
    };
    s.month[0] = PeriodTotals {
        revenue: 50.0,
        orders: 5,
        customers: 5,
    };
    let input = BehaviourInput {
        table: &t,
        customer_categories: &rows,
        categories: &cats,
        seasonality: Some(&s),
        grade_columns: &["grade_behaviour", "lifecycle_stage"],
        lang: Lang::Zh,
    };
    let (sum, cols) = analyze_behaviour(&input, &BehaviourConfig::default()).unwrap();
    assert_eq!(sum.dimensions, ["city", "age"]);
    assert_eq!(sum.breakdowns.len(), 4);
    assert_eq!(sum.top_categories.len(), 2);
    assert_eq!(sum.top_categories[0].grades.len(), 3);
    assert!(sum.top_categories[0].grades[0].categories.len() <= 10);
    let aff = sum.affinity.as_ref().unwrap();
    assert!(aff.pairs.windows(2).all(|w| w[0].lift >= w[1].lift));
    assert_eq!(aff.customers_with_categories, 1000);
    assert_eq!(
        sum.seasonality.as_ref().unwrap().peak_weekday.as_deref(),
        Some("周六")
    );
    assert_eq!(cols.len(), 2);
    assert_eq!(cols[0].data.len(), 1000);
    if let ColumnData::Text(v) = &cols[0].data {
        let suggested = v.iter().flatten().count() as u64;
        assert_eq!(suggested, aff.suggested_customers);
    }
    let json = assert_round_trips(&sum);
    assert!(
        json.len() < 200_000,
        "summary stays small: {} bytes",
        json.len()
    );
    assert!(json.contains("\"(未知)\""));
}

/// Rows handed over `size` at a time, as a run by parts reads them from disk.
#[derive(Debug)]
struct Chunked {
    rows: Vec<CustomerCategory>,
    size: usize,
    /// Fails the read after this many chunks.
    fail_after: Option<usize>,
}

impl CategoryRows for Chunked {
    fn for_each_chunk(
        &self,
        f: &mut dyn FnMut(&[CustomerCategory]) -> clientele_behaviour::Result<()>,
    ) -> clientele_behaviour::Result<()> {
        for (i, c) in self.rows.chunks(self.size).enumerate() {
            if self.fail_after == Some(i) {
                return Err(BehaviourError::CategoryRowsUnreadable {
                    reason: "disk gone".into(),
                });
            }
            f(c)?;
        }
        Ok(())
    }
}

#[test]
fn rows_in_chunks_give_the_result_of_rows_at_once() {
    let t = table(1000);
    // amounts whose sums depend on their order
    let rows: Vec<CustomerCategory> = category_rows(1000, 10)
        .into_iter()
        .map(|mut r| {
            r.revenue = r.revenue / 3.0 + f64::from(r.customer) * 0.013;
            r
        })
        .collect();
    let cats = names(10);
    let at_once = BehaviourInput {
        table: &t,
        customer_categories: &rows,
        categories: &cats,
        seasonality: None,
        grade_columns: &["grade_behaviour", "lifecycle_stage"],
        lang: Lang::En,
    };
    let cfg = BehaviourConfig::default();
    let (sum, cols) = analyze_behaviour(&at_once, &cfg).unwrap();
    for size in [1, 7, 64, rows.len()] {
        let chunked = Chunked {
            rows: rows.clone(),
            size,
            fail_after: None,
        };
        let input = BehaviourInput {
            customer_categories: &chunked,
            ..at_once
        };
        let (s2, c2) = analyze_behaviour(&input, &cfg).unwrap();
        // bit for bit: every sum adds the same rows in the same order
        assert_eq!(
            serde_json::to_string(&s2).unwrap(),
            serde_json::to_string(&sum).unwrap(),
            "chunks of {size}"
        );
        assert_eq!(c2, cols);
    }
    // a row out of order across a chunk boundary is still seen, at its position overall
    let mut swapped = rows.clone();
    let at = rows.iter().position(|r| r.customer == 500).unwrap();
    swapped.swap(at - 1, at);
    let mut unsorted = Chunked {
        rows: swapped,
        size: at,
        fail_after: None,
    };
    let input = BehaviourInput {
        customer_categories: &unsorted,
        ..at_once
    };
    assert!(matches!(
        analyze_behaviour(&input, &cfg),
        Err(BehaviourError::Unsorted { index, .. }) if index == at
    ));
    // a source that fails says so
    unsorted.rows = rows.clone();
    unsorted.fail_after = Some(3);
    unsorted.size = 10;
    let input = BehaviourInput {
        customer_categories: &unsorted,
        ..at_once
    };
    assert!(matches!(
        analyze_behaviour(&input, &cfg),
        Err(BehaviourError::CategoryRowsUnreadable { .. })
    ));
}

#[test]
fn typed_errors() {
    let t = table(10);
    let cats = names(2);
    let base = BehaviourInput {
        table: &t,
        customer_categories: &[],
        categories: &cats,
        seasonality: None,
        grade_columns: &["grade_behaviour"],
        lang: Lang::En,
    };
    let cfg = BehaviourConfig::default();
    let bad_grade = BehaviourInput {
        grade_columns: &["nope"],
        ..base
    };
    assert!(matches!(
        analyze_behaviour(&bad_grade, &cfg),
        Err(BehaviourError::Column(_))
    ));
    let out = [CustomerCategory {
        customer: 10,
        category: 0,
        revenue: 1.0,
        orders: 1,
    }];
    let bad_customer = BehaviourInput {
        customer_categories: &out,
        ..base
    };
    assert!(matches!(
        analyze_behaviour(&bad_customer, &cfg),
        Err(BehaviourError::CustomerOutOfRange {
            customer: 10,
            customers: 10,
            ..
        })
    ));
    let no_cats = BehaviourInput {
        categories: &[],
        customer_categories: &out,
        ..base
    };
    assert!(matches!(
        analyze_behaviour(&no_cats, &cfg),
        Err(BehaviourError::CategoryOutOfRange { .. })
    ));
    let mut nan = table(3);
    nan.set(
        "monetary",
        ColumnData::Float(vec![Some(1.0), Some(f64::NAN), None].into()),
    )
    .unwrap();
    let nan_input = BehaviourInput {
        table: &nan,
        ..base
    };
    assert_eq!(
        analyze_behaviour(&nan_input, &cfg).unwrap_err(),
        BehaviourError::NotFinite {
            column: "monetary".into(),
            row: 1
        }
    );
    let bad_cfg = BehaviourConfig {
        min_support: 0.0,
        ..cfg.clone()
    };
    assert!(matches!(
        analyze_behaviour(&base, &bad_cfg),
        Err(BehaviourError::Config {
            key: "min_support",
            ..
        })
    ));
    let dup = BehaviourConfig {
        dimensions: Some(vec!["city".into(), "city".into()]),
        ..cfg.clone()
    };
    assert!(dup.validate().is_err());
    let date_dim = {
        let mut t2 = table(2);
        t2.push("signup", ColumnData::Date(vec![None, None].into()))
            .unwrap();
        t2
    };
    let d = BehaviourConfig {
        dimensions: Some(vec!["signup".into()]),
        ..cfg
    };
    let i = BehaviourInput {
        table: &date_dim,
        ..base
    };
    assert!(matches!(
        analyze_behaviour(&i, &d),
        Err(BehaviourError::DimensionType { .. })
    ));
}

#[test]
fn config_rejects_unknown_keys_and_has_defaults() {
    let c: BehaviourConfig = serde_json::from_str(r#"{"min_support": 0.05, "top_n": 3}"#).unwrap();
    assert_eq!((c.min_support, c.top_n, c.numeric_bands), (0.05, 3, 5));
    assert!(c.validate().is_ok());
    let e = serde_json::from_str::<BehaviourConfig>(r#"{"min_suport": 0.05}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
    assert!(
        BehaviourConfig {
            numeric_bands: 1,
            ..BehaviourConfig::default()
        }
        .validate()
        .is_err()
    );
}

#[test]
fn empty_table_and_one_customer() {
    for n in [0, 1] {
        let t = table(n);
        let rows = category_rows(n, 3);
        let cats = names(3);
        let input = BehaviourInput {
            table: &t,
            customer_categories: &rows,
            categories: &cats,
            seasonality: None,
            grade_columns: &["grade_behaviour"],
            lang: Lang::En,
        };
        let (s, cols) = analyze_behaviour(&input, &BehaviourConfig::default()).unwrap();
        assert_eq!(s.customers, n as u64);
        assert_eq!(cols[0].data.len(), n);
        assert_eq!(s.distributions.orders.customers, n as u64);
        assert_round_trips(&s);
    }
}

/// 1M customers × ~3 categories. Run with `cargo test --release -- --ignored perf`.
#[test]
#[ignore = "timing; run in release"]
fn perf_one_million() {
    let n = 1_000_000;
    let t = table(n);
    let rows = category_rows(n, 40);
    let cats = names(40);
    let input = BehaviourInput {
        table: &t,
        customer_categories: &rows,
        categories: &cats,
        seasonality: None,
        grade_columns: &["grade_behaviour", "lifecycle_stage"],
        lang: Lang::En,
    };
    let start = std::time::Instant::now();
    let (s, _) = analyze_behaviour(&input, &BehaviourConfig::default()).unwrap();
    let took = start.elapsed();
    eprintln!("1M customers, {} rows: {took:?}", rows.len());
    assert_eq!(s.customers, n as u64);
    // Parts, for finding the slow one.
    let start = std::time::Instant::now();
    let b = Baskets::new(&rows, n, 40).unwrap();
    let t_b = start.elapsed();
    let a = Affinity::compute(&b, 0.01);
    let t_a = start.elapsed();
    let hits = (0..n)
        .filter(|&c| a.next_best(b.bought(c)).is_some())
        .count();
    eprintln!(
        "baskets {t_b:?}, affinity {t_a:?}, next_best {:?} ({hits} suggested)",
        start.elapsed()
    );
}
