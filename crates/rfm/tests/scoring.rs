//! Hand-built customers: one test per method, scheme and degenerate case.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use clientele_core::{ColumnData, CustomerTable};
use clientele_rfm::{
    Cn8Config, Cn8Values, CompareOn, FrequencyDef, Lang, Method, MetricConfig, MonetaryDef,
    Reference, RfmConfig, RfmData, RfmError, RfmModel, RfmResult,
};

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i:02}")).collect()
}

fn data(r: &[f64], f: &[f64], m: &[f64]) -> RfmData {
    RfmData::new(ids(r.len()), r.to_vec(), f.to_vec(), m.to_vec()).unwrap()
}

fn run(cfg: RfmConfig, d: &RfmData) -> RfmResult {
    RfmModel::new(cfg).unwrap().score(d)
}

fn method(m: Method) -> MetricConfig {
    MetricConfig {
        method: m,
        ..MetricConfig::default()
    }
}

fn toml_cfg(s: &str) -> Result<RfmConfig, toml::de::Error> {
    #[derive(serde::Deserialize)]
    struct Root {
        rfm: RfmConfig,
    }
    toml::from_str::<Root>(s).map(|r| r.rfm)
}

// ---- scoring methods ----

#[test]
fn quantile_gives_ten_customers_two_per_level_and_reverses_recency() {
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let res = run(RfmConfig::default(), &data(&x, &x, &x));
    assert_eq!(res.f_score, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    assert_eq!(res.r_score, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    assert_eq!(res.rfm_code[0], "511");
    assert!(res.notes.is_empty());
}

/// `method` for all three metrics.
fn all(m: Method) -> RfmConfig {
    RfmConfig {
        r: method(m),
        f: method(m),
        m: method(m),
        ..RfmConfig::default()
    }
}

#[test]
fn quantile_keeps_ties_together_and_explains_the_empty_level() {
    // 6 of 10 customers bought once: cut points 1, 1, 1.4, 3.2 -> levels 2 and 3 empty.
    let f = [1., 1., 1., 1., 1., 1., 2., 3., 4., 5.];
    let res = run(all(Method::Quantile), &data(&f, &f, &f));
    let cuts = &res.thresholds.frequency.cuts;
    assert!(
        cuts.iter()
            .zip([1., 1., 1.4, 3.2])
            .all(|(a, b)| (a - b).abs() < 1e-12)
    );
    assert_eq!(res.level_counts.frequency, [6, 0, 0, 2, 2]);
    let notes: Vec<_> = res
        .notes
        .iter()
        .filter(|n| n.metric == "frequency")
        .collect();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].score, 2);
    assert!(
        notes[1]
            .reason
            .contains("no customer has orders in (1, 1.4]"),
        "{}",
        notes[1].reason
    );
    assert!(
        notes[0].reason.contains("6 customers have orders = 1"),
        "{}",
        notes[0].reason
    );
    assert!(notes[0].reason.contains("ntile"), "{}", notes[0].reason);
    // Every empty level of every metric has a note.
    let empty = [
        &res.level_counts.recency,
        &res.level_counts.frequency,
        &res.level_counts.monetary,
    ]
    .iter()
    .map(|c| c.iter().filter(|&&x| x == 0).count())
    .sum::<usize>();
    assert_eq!(res.notes.len(), empty);
}

#[test]
fn balanced_default_keeps_ties_together_and_fills_every_level() {
    // the same customers as above: one level per distinct value instead of two empty levels
    let f = [1., 1., 1., 1., 1., 1., 2., 3., 4., 5.];
    let res = run(RfmConfig::default(), &data(&f, &f, &f));
    let t = &res.thresholds.frequency;
    assert_eq!(t.method, Method::Balanced);
    assert_eq!(t.cuts, [1., 2., 3., 4.]);
    assert_eq!(res.level_counts.frequency, [6, 1, 1, 1, 1]);
    assert_eq!(res.f_score, [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]);
    assert_eq!(res.r_score, [5, 5, 5, 5, 5, 5, 4, 3, 2, 1]);
    assert!(res.notes.is_empty(), "{:?}", res.notes);
    // spread-out values: exactly the quantile cut points
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let b = run(RfmConfig::default(), &data(&x, &x, &x));
    let q = run(all(Method::Quantile), &data(&x, &x, &x));
    assert_eq!(b.thresholds.monetary.cuts, q.thresholds.monetary.cuts);
    assert_eq!(b.m_score, q.m_score);
}

#[test]
fn balanced_with_fewer_distinct_values_than_levels_explains_the_empty_level() {
    let f = [1., 1., 1., 2., 2., 3., 3., 3., 3., 3.];
    let res = run(RfmConfig::default(), &data(&f, &f, &f));
    assert_eq!(
        res.level_counts
            .frequency
            .iter()
            .filter(|&&c| c == 0)
            .count(),
        2
    );
    let note = res.notes.iter().find(|n| n.metric == "frequency").unwrap();
    assert!(
        note.reason
            .contains("only 3 distinct orders values for 5 levels"),
        "{}",
        note.reason
    );
}

#[test]
fn ntile_splits_ties_by_customer_id() {
    let f = [1., 1., 1., 1., 1., 1., 2., 3., 4., 5.];
    let cfg = RfmConfig {
        f: method(Method::Ntile),
        ..RfmConfig::default()
    };
    let res = run(cfg, &data(&f, &f, &f));
    assert_eq!(res.f_score, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    assert_eq!(res.level_counts.frequency, [2, 2, 2, 2, 2]);
    let t = &res.thresholds.frequency;
    assert_eq!(t.cuts, [1., 1., 1., 3.]);
    assert_eq!(t.tie_ids.as_deref().unwrap(), ["c01", "c03", "c05", "c07"]);
}

#[test]
fn ntile_uses_sql_ntile_sizes() {
    let x: Vec<f64> = (0..7).map(f64::from).collect();
    let cfg = RfmConfig {
        bins: 3,
        schemes: Some(vec![]),
        f: method(Method::Ntile),
        ..RfmConfig::default()
    };
    let res = run(cfg, &data(&x, &x, &x));
    assert_eq!(res.level_counts.frequency, [3, 2, 2]);
}

#[test]
fn fixed_recency_cuts_in_days_score_recent_highest() {
    let cfg = RfmConfig {
        r: MetricConfig {
            method: Method::Fixed,
            cuts: Some(vec![30., 90., 180., 365.]),
            ..MetricConfig::default()
        },
        ..RfmConfig::default()
    };
    let r = [0., 30., 31., 90., 200., 365., 366., 1000.];
    let res = run(cfg, &data(&r, &r, &r));
    assert_eq!(res.r_score, [5, 5, 4, 4, 2, 2, 1, 1]);
    assert_eq!(res.level_counts.recency, [2, 2, 0, 2, 2]);
    let note = res.notes.iter().find(|n| n.metric == "recency").unwrap();
    assert_eq!(note.score, 3);
    assert!(note.reason.contains("(90, 180]"), "{}", note.reason);
}

#[test]
fn vs_mean_strict_counts_equal_as_low_and_non_strict_as_high() {
    // mean of f = 2; recency mean = 20.
    let r = [10., 20., 30.];
    let f = [1., 2., 3.];
    let mk = |strict| RfmConfig {
        r: MetricConfig {
            method: Method::VsMean,
            strict: Some(strict),
            ..MetricConfig::default()
        },
        f: MetricConfig {
            method: Method::VsMean,
            strict: Some(strict),
            ..MetricConfig::default()
        },
        schemes: Some(vec!["cn8".into()]),
        ..RfmConfig::default()
    };
    let d = data(&r, &f, &f);
    let s = run(mk(true), &d);
    assert_eq!(s.f_score, [1, 1, 2]);
    assert_eq!(s.r_score, [2, 1, 1]);
    let n = run(mk(false), &d);
    assert_eq!(n.f_score, [1, 2, 2]);
    assert_eq!(n.r_score, [2, 2, 1]);
}

#[test]
fn vs_median_splits_at_the_median() {
    let f = [1., 1., 2., 10., 50.];
    let cfg = RfmConfig {
        f: method(Method::VsMedian),
        schemes: Some(vec![]),
        ..RfmConfig::default()
    };
    let res = run(cfg, &data(&f, &f, &f));
    assert_eq!(res.thresholds.frequency.cuts, [2.0]);
    assert_eq!(res.f_score, [1, 1, 1, 2, 2]);
}

#[test]
fn bins_are_configurable_per_metric() {
    let x: Vec<f64> = (1..=12).map(f64::from).collect();
    let cfg = RfmConfig {
        r: MetricConfig {
            bins: Some(3),
            ..MetricConfig::default()
        },
        m: MetricConfig {
            bins: Some(4),
            ..MetricConfig::default()
        },
        ..RfmConfig::default()
    };
    let model = RfmModel::new(cfg).unwrap();
    // rf10 and rfm11 need 5 levels, so the default list drops them.
    assert_eq!(model.scheme_names(), ["cn8", "pymc"]);
    let res = model.score(&data(&x, &x, &x));
    assert_eq!(*res.r_score.iter().max().unwrap(), 3);
    assert_eq!(*res.m_score.iter().max().unwrap(), 4);
    assert_eq!(res.rf_grid.customers.len(), 3);
}

#[test]
fn table_input_uses_the_configured_frequency_and_monetary_columns() {
    let mut t = CustomerTable::new(ids(4));
    let col = |v: [f64; 4]| ColumnData::Float(v.iter().map(|&x| Some(x)).collect());
    t.push(
        "recency_days",
        ColumnData::Int(vec![Some(1), Some(2), Some(3), Some(4)].into()),
    )
    .unwrap();
    t.push("orders", col([1., 2., 3., 4.])).unwrap();
    t.push("purchase_days", col([4., 3., 2., 1.])).unwrap();
    t.push("monetary", col([10., 20., 30., 40.])).unwrap();
    t.push("avg_order_value", col([40., 30., 20., 10.]))
        .unwrap();
    let cfg = RfmConfig {
        bins: 4,
        frequency: FrequencyDef::PurchaseDays,
        monetary: MonetaryDef::Mean,
        ..RfmConfig::default()
    };
    let res = RfmModel::new(cfg).unwrap().score_table(&t).unwrap();
    assert_eq!(res.f_score, [4, 3, 2, 1]);
    assert_eq!(res.m_score, [4, 3, 2, 1]);
    assert_eq!(res.thresholds.frequency.column, "purchase_days");
    // Revenue stays Σ monetary.
    let total: f64 = res.schemes[0].summary.iter().map(|s| s.revenue).sum();
    assert_eq!(total, 100.0);
    // Missing values are an error naming the column and customer.
    let mut t2 = CustomerTable::new(ids(1));
    t2.push("recency_days", ColumnData::Int(vec![None].into()))
        .unwrap();
    t2.push("orders", ColumnData::Int(vec![Some(1)].into()))
        .unwrap();
    t2.push("monetary", ColumnData::Int(vec![Some(1)].into()))
        .unwrap();
    let e = RfmModel::new(RfmConfig::default())
        .unwrap()
        .score_table(&t2)
        .unwrap_err();
    assert!(
        matches!(
            e,
            RfmError::Missing {
                column: "recency_days",
                ..
            }
        ),
        "{e}"
    );
}

// ---- schemes ----

#[test]
fn cn8_default_is_raw_values_against_the_mean_strict() {
    // Means: recency 50, orders 3, monetary 300.
    let r = [10., 10., 90., 90., 10., 10., 90., 50.];
    let f = [5., 1., 5., 1., 5., 1., 5., 1.];
    let m = [500., 500., 500., 500., 100., 100., 100., 100.];
    let res = run(RfmConfig::default(), &data(&r, &f, &m));
    let cn8 = res.scheme("cn8").unwrap();
    assert_eq!(
        cn8.names(Lang::Zh),
        [
            "重要价值客户",
            "重要发展客户",
            "重要保持客户",
            "重要挽留客户",
            "一般价值客户",
            "一般发展客户",
            "一般保持客户",
            "一般挽留客户",
        ]
    );
    assert_eq!(cn8.segment_of(3).en, "Important win-back");
    let refs = res.thresholds.cn8.unwrap();
    assert_eq!((refs.r, refs.f, refs.m), (45.0, 3.0, 300.0));
    // Recency 50 > 45 is low: customer 7 is 一般挽留.
    assert_eq!(cn8.summary.iter().map(|s| s.customers).sum::<u64>(), 8);
}

#[test]
fn cn8_median_value_and_score_variants() {
    let r = [1., 2., 3., 4., 100.];
    let f = [1., 2., 3., 4., 100.];
    let d = data(&r, &f, &f);
    let with = |c: Cn8Config| RfmConfig {
        cn8: c,
        schemes: Some(vec!["cn8".into()]),
        ..RfmConfig::default()
    };
    // Mean (22) vs median (3): customer 3 (value 4) is high on F only with the median.
    let mean = run(with(Cn8Config::default()), &d);
    let median = run(
        with(Cn8Config {
            reference: Reference::Median,
            ..Cn8Config::default()
        }),
        &d,
    );
    assert_eq!(
        mean.scheme("cn8").unwrap().segment_of(3).id,
        "general_development"
    );
    assert_eq!(
        median.scheme("cn8").unwrap().segment_of(3).id,
        "important_retention"
    );
    // Given values.
    let given = run(
        with(Cn8Config {
            reference: Reference::Value,
            values: Some(Cn8Values {
                r: 2.5,
                f: 2.5,
                m: 2.5,
            }),
            ..Cn8Config::default()
        }),
        &d,
    );
    assert_eq!(
        given.scheme("cn8").unwrap().segment_of(0).id,
        "general_development"
    );
    // On scores: scores 5,4,3,2,1 for R; mean score 3; strict.
    let on_score = run(
        with(Cn8Config {
            on: CompareOn::Score,
            ..Cn8Config::default()
        }),
        &d,
    );
    let refs = on_score.thresholds.cn8.unwrap();
    assert_eq!((refs.r, refs.f), (3.0, 3.0));
    assert_eq!(
        on_score.scheme("cn8").unwrap().segment_of(2).id,
        "general_win_back"
    );
}

#[test]
fn rf10_and_rfm11_label_hand_picked_customers() {
    // Ten customers, values 1..10 -> scores 1,1,2,2,...,5,5 on each metric.
    let up: Vec<f64> = (1..=10).map(f64::from).collect();
    let recent_first: Vec<f64> = (1..=10).map(f64::from).collect(); // R 5,5,4,4,...
    let low_f: Vec<f64> = up.clone();
    let res = run(RfmConfig::default(), &data(&recent_first, &low_f, &up));
    let rf10 = res.scheme("rf10").unwrap();
    let rfm11 = res.scheme("rfm11").unwrap();
    // c00: R5 F1 M1.
    assert_eq!(res.rfm_code[0], "511");
    assert_eq!(rf10.segment_of(0).id, "new_customers");
    assert_eq!(rfm11.segment_of(0).id, "new_customers");
    // c09: R1 F5 M5.
    assert_eq!(res.rfm_code[9], "155");
    assert_eq!(rf10.segment_of(9).id, "cant_lose");
    assert_eq!(rfm11.segment_of(9).id, "cant_lose");
    // c04: R3 F3 M3.
    assert_eq!(rf10.segment_of(4).id, "need_attention");
    assert_eq!(rfm11.segment_of(4).id, "need_attention");
    assert_eq!(rf10.segments.len(), 10);
    assert_eq!(rfm11.segments.len(), 11);
}

#[test]
fn pymc_scheme_uses_its_own_quartiles() {
    // Eight customers; quartile scores equal the bins of 1..8.
    let x: Vec<f64> = (1..=8).map(f64::from).collect();
    let r: Vec<f64> = x.iter().rev().copied().collect(); // most recent last
    let res = run(RfmConfig::default(), &data(&r, &x, &x));
    let p = res.scheme("pymc").unwrap();
    // Last customer: R4 F4 M4 -> Premium; first: R1 F1 M1 -> Inactive.
    assert_eq!(p.segment_of(7).en, "Premium Customer");
    assert_eq!(p.segment_of(0).en, "Inactive Customer");
    assert_eq!(
        res.thresholds.pymc.as_ref().unwrap().frequency,
        [2.75, 4.5, 6.25]
    );
}

#[test]
fn custom_scheme_from_toml() {
    let cfg = toml_cfg(
        r#"
        [rfm]
        schemes = ["mine", "cn8"]
        [[rfm.custom]]
        name = "mine"
        rules = [
          { zh = "高价值", en = "High value", r = [4, 5], f = [4, 5] },
          { zh = "其他", en = "Other", r = [1, 3] },
          { zh = "其他", en = "Other", r = [4, 5], f = [1, 3] },
        ]
        "#,
    )
    .unwrap();
    let model = RfmModel::new(cfg).unwrap();
    assert_eq!(model.scheme_names(), ["mine", "cn8"]);
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let r: Vec<f64> = x.iter().rev().copied().collect();
    let res = model.score(&data(&r, &x, &x));
    let mine = res.scheme("mine").unwrap();
    assert_eq!(mine.segments.len(), 2);
    assert_eq!(mine.segment_of(9).name(Lang::Zh), "高价值");
    assert_eq!(mine.segment_of(0).name(Lang::En), "Other");
}

#[test]
fn custom_scheme_gap_is_reported_at_construction() {
    let cfg = toml_cfg(
        r#"
        [rfm]
        [[rfm.custom]]
        name = "gappy"
        rules = [{ zh = "高", en = "High", r = [5, 5] }]
        "#,
    )
    .unwrap();
    let e = RfmModel::new(cfg).unwrap_err().to_string();
    assert!(e.starts_with("custom scheme `gappy`: 100 of 125"), "{e}");
}

// ---- degenerate data ----

#[test]
fn zero_customers_score_to_empty_results_with_notes() {
    let res = run(RfmConfig::default(), &data(&[], &[], &[]));
    assert!(res.is_empty());
    assert_eq!(res.notes.len(), 15);
    assert!(
        res.notes
            .iter()
            .all(|n| n.reason == "no customers to score")
    );
    for s in &res.schemes {
        assert!(
            s.summary
                .iter()
                .all(|x| x.customers == 0 && x.share.is_none())
        );
    }
    assert!(res.thresholds.cn8.is_none());
    // Such thresholds cannot be frozen: the error says why.
    let cfg = RfmConfig {
        frozen: Some(res.frozen()),
        ..RfmConfig::default()
    };
    let e = RfmModel::new(cfg).unwrap_err().to_string();
    assert!(e.contains("no customers cannot be frozen"), "{e}");
}

#[test]
fn one_customer_gets_one_level_per_metric_and_notes_for_the_rest() {
    let res = run(RfmConfig::default(), &data(&[5.], &[2.], &[10.]));
    assert_eq!(res.rfm_code, ["511"]);
    assert_eq!(res.notes.len(), 12);
    assert!(
        res.notes[0]
            .reason
            .contains("all 1 customers have the same")
    );
    let cn8 = res.scheme("cn8").unwrap();
    assert_eq!(cn8.segment_of(0).id, "general_win_back");
    assert!(
        cn8.notes
            .iter()
            .any(|n| n.en.contains("every customer is low on R") && n.zh.contains("R 都为低"))
    );
}

#[test]
fn identical_customers_do_not_panic_and_are_explained() {
    let v = [3.0; 6];
    for m in [
        Method::Balanced,
        Method::Quantile,
        Method::Ntile,
        Method::VsMean,
        Method::VsMedian,
    ] {
        let cfg = RfmConfig {
            r: method(m),
            f: method(m),
            m: method(m),
            schemes: Some(vec!["cn8".into(), "pymc".into()]),
            ..RfmConfig::default()
        };
        let res = run(cfg, &data(&v, &v, &v));
        let empty: usize = res
            .level_counts
            .frequency
            .iter()
            .filter(|&&c| c == 0)
            .count();
        assert_eq!(
            res.notes.iter().filter(|n| n.metric == "frequency").count(),
            empty,
            "{m:?}"
        );
        assert!(!res.scheme("pymc").unwrap().notes.is_empty());
    }
}

#[test]
fn two_distinct_values_fill_two_levels() {
    let f = [1., 1., 1., 2., 2.];
    let res = run(RfmConfig::default(), &data(&f, &f, &f));
    // Cut points 1, 1, 1.4, 2: the value 2 equals the top cut and stays below it.
    assert_eq!(res.level_counts.frequency, [3, 0, 0, 2, 0]);
    assert_eq!(
        res.notes.iter().filter(|n| n.metric == "frequency").count(),
        3
    );
}

#[test]
fn nan_and_duplicate_ids_are_errors() {
    let e = RfmData::new(ids(2), vec![1.0, f64::NAN], vec![1.0; 2], vec![1.0; 2]).unwrap_err();
    assert!(e.to_string().contains("customer `c01` (row 1)"), "{e}");
    let e = RfmData::new(ids(1), vec![1.0], vec![f64::INFINITY], vec![1.0]).unwrap_err();
    assert!(matches!(
        e,
        RfmError::NonFinite {
            column: "orders",
            ..
        }
    ));
    let e = RfmData::new(
        vec!["a".into(), "a".into()],
        vec![1.0; 2],
        vec![1.0; 2],
        vec![1.0; 2],
    )
    .unwrap_err();
    assert!(matches!(e, RfmError::DuplicateId(_)));
    let e = RfmData::new(ids(2), vec![1.0], vec![1.0; 2], vec![1.0; 2]).unwrap_err();
    assert!(matches!(e, RfmError::Length { .. }));
}

// ---- config ----

#[test]
fn full_toml_section_parses() {
    let cfg = toml_cfg(
        r#"
        [rfm]
        bins = 5
        frequency = "purchase_days"
        monetary = "mean"
        schemes = ["cn8", "rf10"]
        [rfm.r]
        method = "fixed"
        cuts = [30, 90, 180, 365]
        [rfm.f]
        method = "ntile"
        [rfm.m]
        method = "quantile"
        bins = 5
        [rfm.cn8]
        reference = "median"
        on = "score"
        strict = false
        "#,
    )
    .unwrap();
    assert_eq!(cfg.r.cuts.as_deref(), Some(&[30., 90., 180., 365.][..]));
    assert_eq!(cfg.cn8.on, CompareOn::Score);
    RfmModel::new(cfg).unwrap();
}

#[test]
fn unknown_keys_are_rejected() {
    let e = toml_cfg("[rfm]\nbinz = 5\n").unwrap_err().to_string();
    assert!(e.contains("binz"), "{e}");
    let e = toml_cfg("[rfm.r]\nmethod = \"quintile\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("quintile"), "{e}");
}

#[test]
fn invalid_configs_are_rejected_with_the_key_and_a_fix() {
    let err = |cfg: RfmConfig| RfmModel::new(cfg).unwrap_err().to_string();
    let e = err(RfmConfig {
        bins: 1,
        ..RfmConfig::default()
    });
    assert!(e.contains("between 2 and 9"), "{e}");
    let e = err(RfmConfig {
        f: MetricConfig {
            method: Method::Fixed,
            cuts: Some(vec![1.0, 5.0, 3.0]),
            ..MetricConfig::default()
        },
        ..RfmConfig::default()
    });
    assert!(
        e.contains("rfm.f: fixed cuts must be strictly increasing"),
        "{e}"
    );
    let e = err(RfmConfig {
        f: method(Method::Fixed),
        ..RfmConfig::default()
    });
    assert!(e.contains("needs cuts"), "{e}");
    let e = err(RfmConfig {
        r: MetricConfig {
            method: Method::VsMean,
            bins: Some(5),
            ..MetricConfig::default()
        },
        ..RfmConfig::default()
    });
    assert!(e.contains("always has 2 levels"), "{e}");
    let e = err(RfmConfig {
        bins: 4,
        schemes: Some(vec!["rf10".into()]),
        ..RfmConfig::default()
    });
    assert!(
        e.contains("scheme `rf10`") && e.contains("rfm.r.bins = 5"),
        "{e}"
    );
    let e = err(RfmConfig {
        schemes: Some(vec!["rfm10".into()]),
        ..RfmConfig::default()
    });
    assert!(
        e.contains("unknown scheme `rfm10`") && e.contains("rf10"),
        "{e}"
    );
    let e = err(RfmConfig {
        cn8: Cn8Config {
            reference: Reference::Value,
            ..Cn8Config::default()
        },
        ..RfmConfig::default()
    });
    assert!(e.contains("needs values"), "{e}");
}

// ---- frozen thresholds ----

#[test]
fn frozen_thresholds_round_trip_through_json_and_score_new_data_the_same_way() {
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let cfg = RfmConfig {
        f: method(Method::Ntile),
        ..RfmConfig::default()
    };
    let first = run(
        cfg.clone(),
        &data(&x, &[1., 1., 1., 1., 1., 1., 2., 3., 4., 5.], &x),
    );
    let json = serde_json::to_string(&first.frozen()).unwrap();
    let frozen = serde_json::from_str(&json).unwrap();
    let cfg2 = RfmConfig {
        frozen: Some(frozen),
        ..cfg
    };
    // Later data: a new customer with 1000 days and huge spend is scored on the old cuts.
    let later = RfmData::new(vec!["z".into()], vec![1000.0], vec![50.0], vec![1e6]).unwrap();
    let res = run(cfg2, &later);
    assert_eq!(res.rfm_code, ["155"]);
    assert_eq!(res.thresholds.cn8, first.thresholds.cn8);
    assert_eq!(
        res.scheme("cn8").unwrap().segment_of(0).id,
        "important_retention"
    );
}

#[test]
fn report_has_no_per_customer_rows_and_serialises() {
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let res = run(RfmConfig::default(), &data(&x, &x, &x));
    let rep = res.report();
    assert_eq!(rep.customers, 10);
    let json = serde_json::to_value(&rep).unwrap();
    assert!(json["schemes"][0]["segments"][0]["revenue_share"].is_number());
    assert_eq!(json["rf_grid"]["customers"].as_array().unwrap().len(), 5);
    let shares: f64 = rep.schemes[1].segments.iter().filter_map(|s| s.share).sum();
    assert!((shares - 1.0).abs() < 1e-12);
}

#[test]
fn rf10_ignores_m_whatever_its_bins() {
    // Found by the property test: rf10 with 7 M levels indexed past its grid.
    let x: Vec<f64> = (1..=14).map(f64::from).collect();
    let cfg = RfmConfig {
        m: MetricConfig {
            method: Method::Ntile,
            bins: Some(7),
            ..MetricConfig::default()
        },
        ..RfmConfig::default()
    };
    let model = RfmModel::new(cfg).unwrap();
    assert_eq!(model.scheme_names(), ["cn8", "rf10", "pymc"]);
    let res = model.score(&data(&x, &x, &x));
    assert_eq!(res.scheme("rf10").unwrap().segment_of(13).id, "cant_lose");
}

#[test]
fn tampered_frozen_pymc_edges_are_rejected_not_a_panic() {
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let res = run(RfmConfig::default(), &data(&x, &x, &x));
    let mut fz = res.frozen();
    fz.pymc.as_mut().unwrap().frequency = vec![1.0, 2.0, 3.0, 4.0];
    let e = RfmModel::new(RfmConfig {
        frozen: Some(fz),
        ..RfmConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("rfm.frozen.frequency: pymc quartile edges"),
        "{e}"
    );
}
