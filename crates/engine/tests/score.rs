//! Scoring customers with a finished run's stored models and rules gives them exactly what the
//! run gave them: the run is written to disk, its `summary.json` and recorded settings read
//! back as `clientele serve` reads them, and a sample of its customers, reduced to the scorer's
//! input columns and sent as JSON rows, is scored and compared column by column.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::Path;

use clientele_core::{ColumnData, CustomerTable, Day};
use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{
    Analysis, AnalyzeOptions, Config, EngineError, Fault, MANIFEST_FILE, Manifest, NoProgress,
    ScoreError, Scored, Scorer, Summary, analyze, write_outputs,
};
use serde_json::{Map, Value};

/// A finished run, and its scorer built from what the run wrote to disk.
struct Run {
    analysis: Analysis,
    scorer: Scorer,
    /// Rows of the customer table to score.
    sample: Vec<usize>,
}

fn run(config: &Config) -> Run {
    let analysis = analyze(config, &AnalyzeOptions::default(), &NoProgress).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    write_outputs(
        &analysis,
        &out,
        Default::default(),
        Default::default(),
        &[],
        &[],
    )
    .unwrap();
    let summary =
        Summary::from_json(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(out.join(MANIFEST_FILE)).unwrap()).unwrap();
    let settings = Config::from_settings(&manifest.settings.unwrap()).unwrap();
    let scorer = Scorer::new(&summary, &settings).unwrap();
    let n = analysis.customers.len();
    let step = (n / 200).max(1);
    let sample = (0..n).step_by(step).take(200).collect();
    Run {
        analysis,
        scorer,
        sample,
    }
}

fn shop(dir: &Path, customers: u64, seed: u64) -> Config {
    let mut spec = ShopSpec::new(customers, seed);
    spec.days = 500;
    let shop = generate(&spec, &dir.join("shop"), &|_| {}).unwrap();
    let mut config = Config::default();
    config.source.transactions = vec![shop.transactions];
    config.source.attributes = Some(shop.attributes);
    config.source.satisfaction = Some(shop.satisfaction);
    config.source.leads = Some(shop.leads);
    config
}

/// The scorer's input columns of `rows`, as a CRM would send them: numbers, dates as
/// `YYYY-MM-DD`, missing values as `null`.
fn json_rows(r: &Run, rows: &[usize]) -> Vec<Map<String, Value>> {
    let t = &r.analysis.customers;
    rows.iter()
        .map(|&i| {
            let mut m = Map::new();
            m.insert("customer_id".into(), Value::String(t.ids()[i].to_string()));
            for input in r.scorer.inputs() {
                let c = t.column(&input.column).unwrap();
                let v = match c {
                    ColumnData::Int(v) => v.get(i).map_or(Value::Null, Value::from),
                    ColumnData::Float(v) => v.get(i).map_or(Value::Null, Value::from),
                    ColumnData::Date(v) => v.get(i).map_or(Value::Null, |d| d.to_string().into()),
                    ColumnData::Text(v) => v.get(i).map_or(Value::Null, Value::from),
                };
                m.insert(input.column.clone(), v);
            }
            m
        })
        .collect()
}

fn score_sample(r: &Run) -> Vec<Scored> {
    let batch = r.scorer.batch_from_rows(&json_rows(r, &r.sample)).unwrap();
    r.scorer.score(&batch).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Every output of the scorer equals the run's own column for the same customers.
fn assert_same_as_run(r: &Run, scored: &[Scored]) {
    let t = &r.analysis.customers;
    let s = &r.analysis.summary;
    assert_eq!(scored.len(), r.sample.len());
    let text = |name: &str, i: usize| t.texts(name).unwrap().get(i).map(str::to_string);
    let float = |name: &str, i: usize| t.floats(name).unwrap().get(i);
    let schemes = r.scorer.schemes();
    assert_eq!(
        schemes,
        s.grades
            .iter()
            .map(|g| g.scheme.as_str())
            .collect::<Vec<_>>()
    );
    let clv = s.clv.done().unwrap();
    for (o, &i) in scored.iter().zip(&r.sample) {
        let id = &t.ids()[i];
        assert_eq!(o.customer_id, id);
        for g in &s.grades {
            assert_eq!(o.grades[&g.scheme], text(&g.column, i), "{id} {}", g.scheme);
        }
        let rfm = o.rfm.as_ref().unwrap();
        let ints = |name: &str| t.ints(name).unwrap().get(i).unwrap();
        assert_eq!(
            (i64::from(rfm.r), i64::from(rfm.f), i64::from(rfm.m)),
            (ints("r_score"), ints("f_score"), ints("m_score")),
            "{id}"
        );
        assert_eq!(Some(rfm.code.clone()), text("rfm_code", i));
        assert_eq!(rfm.segment, text("rfm_segment", i));
        for (scheme, seg) in &rfm.segments {
            assert_eq!(Some(seg.clone()), text(&format!("segment_{scheme}"), i));
        }
        assert_eq!(rfm.segments.len(), s.rfm.as_ref().unwrap().schemes.len());
        for (name, got) in [
            ("p_alive", o.p_alive),
            (clv.expected_purchases_column.as_str(), o.expected_purchases),
            ("expected_value", o.expected_value),
            ("clv", o.clv),
        ] {
            let want = float(name, i);
            let (Some(a), Some(b)) = (got, want) else {
                panic!("{id} {name}: {got:?} vs {want:?}");
            };
            assert!(close(a, b), "{id} {name}: {a} vs {b}");
        }
        assert_eq!(o.lifecycle_stage, text("lifecycle_stage", i), "{id}");
        if s.clusters.done().is_some() {
            let label = t.ints("cluster").unwrap().get(i);
            assert_eq!(o.cluster.map(i64::from), label, "{id}");
            assert_eq!(o.cluster_name, text("cluster_name", i), "{id}");
        } else {
            assert_eq!((o.cluster, &o.cluster_name), (None, &None));
        }
    }
}

#[test]
fn a_sample_of_a_runs_customers_scores_exactly_as_the_run_graded_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = shop(dir.path(), 1500, 7);
    let r = run(&config);
    // the classic gradings the shop's columns allow, and every other output
    let s = &r.analysis.summary;
    assert!(s.grades.len() >= 3, "{:?}", s.grades);
    assert!(s.clusters.done().is_some() && s.clv.done().unwrap().clv_total.is_some());
    let omitted: Vec<&str> = r
        .scorer
        .omitted()
        .iter()
        .map(|o| o.output.as_str())
        .collect();
    assert_eq!(omitted, ["value_tier"]);
    let scored = score_sample(&r);
    assert_same_as_run(&r, &scored);
    // the inputs are the customer-table columns the outputs read, BTYD columns derived
    let names: Vec<&str> = r
        .scorer
        .inputs()
        .iter()
        .map(|i| i.column.as_str())
        .collect();
    for c in [
        "first_purchase",
        "last_purchase",
        "purchase_days",
        "recency_days",
        "orders",
        "monetary",
        "monetary_value",
        "income",
        "age",
    ] {
        assert!(names.contains(&c), "{c} not in {names:?}");
    }
    for c in ["frequency", "recency", "T", "p_alive", "r_score", "clv"] {
        assert!(!names.contains(&c), "{c} in {names:?}");
    }
    // and the output reads as JSON
    let json = serde_json::to_value(&scored[0]).unwrap();
    assert!(json["grades"].is_object() && json["rfm"]["r"].is_u64());
}

#[test]
fn rules_over_statistics_scores_and_clv_use_the_runs_values_in_its_language() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = shop(dir.path(), 1200, 3);
    let rules = Config::from_toml(
        r#"
[output]
lang = "en"
[lifecycle]
p_alive = "stricter"
[cluster]
enabled = false

[[scheme]]
name = "value"
rules = [
  { grade = "top", when = "monetary >= p80(monetary) AND orders > mean(orders)" },
  { grade = "likely", when = "p_alive > 0.5 AND clv > median(clv)" },
  { grade = "slipping", when = "lifecycle_stage = 'At risk' OR r_score <= 2" },
]
default = "rest"

[[scheme]]
name = "grid"
preset = "rf_grid"

[[scheme]]
name = "classes"
preset = "rfm8"

[[scheme]]
name = "focus"
mode = "tags"
rules = [
  { grade = "top-young", when = "grade_value = 'top' AND age < 35" },
  { grade = "champion", when = "grade_grid = 'Champions'" },
]
"#,
        "<test>",
    )
    .unwrap();
    config.output = rules.output;
    config.lifecycle = rules.lifecycle;
    config.cluster = rules.cluster;
    config.scheme = rules.scheme;
    let r = run(&config);
    let s = &r.analysis.summary;
    // the statistics were recorded as resolved, at full precision
    let value = s.grades.iter().find(|g| g.scheme == "value").unwrap();
    let stats: Vec<&str> = value.resolved.iter().map(|x| x.expr.as_str()).collect();
    assert_eq!(stats, ["p80(monetary)", "mean(orders)", "p50(clv)"]);
    let scored = score_sample(&r);
    assert_same_as_run(&r, &scored);
    // every grade the schemes give occurs in the sample, in English
    let grid: std::collections::BTreeSet<&str> = scored
        .iter()
        .filter_map(|o| o.grades["grid"].as_deref())
        .collect();
    assert!(
        grid.contains("Champions") || grid.contains("Hibernating"),
        "{grid:?}"
    );
    // a batch of one customer: the statistics stay the run's, not the batch's
    for &i in r.sample.iter().take(20) {
        let batch = r.scorer.batch_from_rows(&json_rows(&r, &[i])).unwrap();
        let one = r.scorer.score(&batch).unwrap();
        let same = scored
            .iter()
            .find(|o| o.customer_id == one[0].customer_id)
            .unwrap();
        assert_eq!(&one[0], same);
    }
}

#[test]
fn cdnow_customers_score_as_the_run_scored_them() {
    let mut config = Config::from_toml(
        "[source]\ndelimiter = \"whitespace\"\n[columns]\norder_date = \"date\"\n\
         amount = \"dollar_value\"\n[time]\nas_of = \"1998-06-30\"\nunit = \"weeks\"\n\
         [cluster]\nenabled = false\n",
        "<test>",
    )
    .unwrap();
    config.source.transactions =
        vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/data/CDNOW_master.txt")];
    let r = run(&config);
    let scored = score_sample(&r);
    assert_same_as_run(&r, &scored);
}

/// A small run shared by the error tests.
fn small() -> &'static Run {
    static RUN: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut config = shop(dir.path(), 600, 5);
        config.cluster.enabled = false;
        run(&config)
    })
}

fn score_err(r: &Run, rows: &[Map<String, Value>]) -> ScoreError {
    let e = r
        .scorer
        .batch_from_rows(rows)
        .and_then(|b| r.scorer.score(&b))
        .unwrap_err();
    assert_eq!(e.fault(), Fault::User, "{e}");
    match e {
        EngineError::Score(s) => s,
        other => panic!("{other}"),
    }
}

#[test]
fn missing_columns_are_all_named_with_the_outputs_that_need_them() {
    let r = small();
    let mut rows = json_rows(r, &r.sample[..5]);
    for row in &mut rows {
        row.remove("monetary_value");
        row.remove("first_purchase");
    }
    let e = score_err(r, &rows);
    let ScoreError::MissingColumns(m) = &e else {
        panic!("{e}")
    };
    let named: Vec<(&str, Vec<&str>)> = m
        .iter()
        .map(|c| {
            (
                c.column.as_str(),
                c.used_by.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(named[0].0, "first_purchase");
    assert!(named[0].1.contains(&"lifecycle_stage") && named[0].1.contains(&"p_alive"));
    assert_eq!(named[1], ("monetary_value", vec!["clv"]));
    assert!(
        e.to_string()
            .starts_with("missing columns: first_purchase (for "),
        "{e}"
    );
}

#[test]
fn values_of_the_wrong_type_are_named_by_row_customer_and_column() {
    let r = small();
    let rows = json_rows(r, &r.sample[..3]);
    for (column, value, says, says_zh) in [
        (
            "orders",
            Value::from("abc"),
            "must be a whole number",
            "应为整数",
        ),
        (
            "orders",
            Value::from(2.5),
            "must be a whole number",
            "应为整数",
        ),
        (
            "last_purchase",
            Value::from("2024-13-01"),
            "must be a date",
            "应为日期",
        ),
        (
            "monetary",
            Value::from(true),
            "must be a number",
            "应为数字",
        ),
        ("purchase_days", Value::Null, "has no value", "没有值"),
    ] {
        let mut bad = rows.clone();
        bad[2].insert(column.into(), value.clone());
        let e = score_err(r, &bad);
        let ScoreError::BadValue {
            row,
            customer_id,
            column: c,
            reason,
        } = &e
        else {
            panic!("{column}: {e}")
        };
        assert_eq!((*row, c.as_str()), (2, column), "{e}");
        assert_eq!(customer_id, bad[2]["customer_id"].as_str().unwrap());
        assert!(reason.en.contains(says), "{column} {value}: {e}");
        // in Chinese too, for a caller that shows it
        let zh = e.zh();
        assert!(
            zh.starts_with("第 2 行（客户 `") && zh.contains(says_zh),
            "{column} {value}: {zh}"
        );
        assert!(!zh.contains(says), "{zh}");
    }
    // ids: missing, duplicated, empty
    let mut bad = rows.clone();
    bad[1].remove("customer_id");
    assert!(matches!(
        score_err(r, &bad),
        ScoreError::BadId { row: 1, .. }
    ));
    let mut bad = rows.clone();
    let twice = bad[0]["customer_id"].clone();
    bad[2].insert("customer_id".into(), twice);
    assert!(matches!(
        score_err(r, &bad),
        ScoreError::BadId { row: 2, .. }
    ));
    // purchases after the run's as-of date, and inconsistent histories
    let mut bad = rows.clone();
    let later = Day(r.scorer.as_of().0 + 1).to_string();
    bad[0].insert("last_purchase".into(), later.into());
    let e = score_err(r, &bad);
    assert!(e.to_string().contains("after the run's as-of date"), "{e}");
    assert!(e.zh().contains("晚于本次运行的基准日"), "{}", e.zh());
    let mut bad = rows.clone();
    bad[0].insert("purchase_days".into(), 0.into());
    assert!(matches!(score_err(r, &bad), ScoreError::BadValue { .. }));
}

#[test]
fn any_batch_scores_or_is_refused_without_a_panic() {
    let r = small();
    // empty
    assert!(
        r.scorer
            .score(&CustomerTable::new(Vec::new()))
            .unwrap()
            .is_empty()
    );
    assert!(
        r.scorer
            .score(&r.scorer.batch_from_rows(&[]).unwrap())
            .unwrap()
            .is_empty()
    );
    // non-finite, negative and huge values in a table built by hand
    let base = r
        .scorer
        .batch_from_rows(&json_rows(r, &r.sample[..4]))
        .unwrap();
    for x in [f64::NAN, f64::INFINITY, -1e300, 1e300, -5.0] {
        let mut t = base.clone();
        let mut m = t.floats("monetary").unwrap().to_vec();
        m[1] = Some(x);
        t.set("monetary", ColumnData::Float(m.into())).unwrap();
        match r.scorer.score(&t) {
            Ok(s) => {
                assert!(x.is_finite(), "{x} scored");
                assert_eq!(s.len(), 4);
            }
            Err(e) => assert_eq!(e.fault(), Fault::User, "{x}: {e}"),
        }
    }
    // ints given as floats are taken when whole, text where a number belongs is refused
    let mut t = base.clone();
    let orders: Vec<Option<f64>> = t
        .ints("orders")
        .unwrap()
        .iter()
        .map(|x| x.map(|x| x as f64))
        .collect();
    t.set("orders", ColumnData::Float(orders.into())).unwrap();
    assert_eq!(r.scorer.score(&t).unwrap(), r.scorer.score(&base).unwrap());
    let mut t = base.clone();
    t.set("orders", ColumnData::Text(vec![Some("1"); 4].into()))
        .unwrap();
    assert!(matches!(
        r.scorer.score(&t).unwrap_err(),
        EngineError::Score(ScoreError::ColumnType { .. })
    ));
    // 10,000 customers: the sample again and again under new ids
    let mut rows = Vec::with_capacity(10_000);
    let sample = json_rows(r, &r.sample);
    for k in 0..10_000 {
        let mut row = sample[k % sample.len()].clone();
        row.insert("customer_id".into(), format!("x{k}").into());
        rows.push(row);
    }
    let big = r
        .scorer
        .score(&r.scorer.batch_from_rows(&rows).unwrap())
        .unwrap();
    assert_eq!(big.len(), 10_000);
    let first = score_sample(r);
    assert_eq!(big[3].clv, first[3].clv);
    assert_eq!(big[3].grades, first[3].grades);
}

#[test]
fn settings_that_are_not_the_runs_are_refused() {
    let r = small();
    let mut other = Config::default();
    other.rfm.bins = 4;
    let e = Scorer::new(&r.analysis.summary, &other).unwrap_err();
    assert_eq!(e.fault(), Fault::User);
    assert!(e.to_string().contains("not those of the run"), "{e}");
}

#[test]
fn schemes_that_cannot_be_scored_are_left_out_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = shop(dir.path(), 600, 9);
    config.cluster.enabled = false;
    config.scheme = Config::from_toml(
        r#"
[[scheme]]
name = "tiered"
rules = [{ grade = "a", when = "value_tier = 'A'" }]
default = "other"

[[scheme]]
name = "after"
rules = [{ grade = "x", when = "grade_tiered = 'a' AND orders > 3" }]
default = "y"

[[scheme]]
name = "big"
rules = [{ grade = "big", when = "monetary > p90(monetary)" }]
default = "small"
"#,
        "<test>",
    )
    .unwrap()
    .scheme;
    let r = run(&config);
    let omitted: Vec<(&str, &str)> = r
        .scorer
        .omitted()
        .iter()
        .map(|o| (o.output.as_str(), o.reason.en.as_str()))
        .collect();
    assert_eq!(omitted[0].0, "value_tier");
    assert_eq!(
        omitted[1],
        (
            "cluster",
            "the run has no clusters: off in the run's settings"
        )
    );
    assert_eq!(omitted[2].0, "grades.tiered");
    assert!(
        omitted[2].1.starts_with("value tiers (ABC, HML) rank"),
        "{omitted:?}"
    );
    assert_eq!(
        omitted[3],
        (
            "grades.after",
            "it reads `grade_tiered`, which is not scored"
        )
    );
    assert_eq!(r.scorer.schemes(), ["big"]);
    let scored = score_sample(&r);
    let t = &r.analysis.customers;
    for (o, &i) in scored.iter().zip(&r.sample) {
        assert_eq!(o.grades.len(), 1);
        let want = t.texts("grade_big").unwrap().get(i).map(str::to_string);
        assert_eq!(o.grades["big"], want);
        assert_eq!((o.cluster, &o.cluster_name), (None, &None));
    }
    // a summary.json written before the statistics were recorded cannot grade with them
    let mut old = r.analysis.summary.clone();
    for g in &mut old.grades {
        g.resolved.clear();
    }
    let settings = Config::from_settings(&r.analysis.settings).unwrap();
    let scorer = Scorer::new(&old, &settings).unwrap();
    assert!(scorer.schemes().is_empty());
    let why = &scorer.omitted().last().unwrap();
    assert_eq!(why.output, "grades.big");
    assert!(
        why.reason.en.contains("`p90(monetary)` is not known"),
        "{}",
        why.reason.en
    );
}
