//! The published JSON Schema of `summary.json` (`docs/summary.schema.json`) is the one the types
//! give, and real runs' summaries are valid against it.
//!
//! After changing a type of the summary, write the schema anew with
//! `CLIENTELE_BLESS=1 cargo test -p clientele-engine --test schema` and describe the change in
//! CHANGELOG.md.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::Path;

use clientele_engine::{AnalyzeOptions, Config, NoProgress, analyze, write_outputs};

mod common;
use common::{published, schema_errors as errors, schema_text};

#[test]
fn the_published_schema_is_the_one_the_types_give() {
    let text = schema_text();
    if std::env::var_os("CLIENTELE_BLESS").is_some() {
        std::fs::write(published(), &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(published()).unwrap_or_default();
    assert!(
        on_disk == text,
        "docs/summary.schema.json is not the schema of the summary types: rerun with \
         CLIENTELE_BLESS=1 and describe the change in CHANGELOG.md"
    );
}

fn written_summary(config: &Config, opts: &AnalyzeOptions) -> serde_json::Value {
    let a = analyze(config, opts, &NoProgress).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    write_outputs(&a, &out, Default::default(), Default::default(), &[], &[]).unwrap();
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn cdnow_summary_is_valid_against_the_schema() {
    let mut config = Config::from_toml(
        r#"
[source]
delimiter = "whitespace"
[columns]
order_date = "date"
amount = "dollar_value"
[time]
as_of = "1998-06-30"
calibration_end = "1997-09-30"
"#,
        "<test>",
    )
    .unwrap();
    config.source.transactions =
        vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/data/CDNOW_master.txt")];
    let s = written_summary(&config, &AnalyzeOptions::default());
    assert_eq!(errors(&s), Vec::<String>::new());
}

#[test]
fn a_broken_summary_is_not_valid() {
    // the check can fail: a renamed or mistyped field is caught
    let mut config = Config::default();
    let dir = tempfile::tempdir().unwrap();
    let shop = clientele_engine::synthetic::generate(
        &clientele_engine::synthetic::ShopSpec::new(300, 3),
        &dir.path().join("shop"),
        &|_| {},
    )
    .unwrap();
    config.source.transactions = vec![shop.transactions];
    let s = written_summary(&config, &AnalyzeOptions::default());
    assert_eq!(errors(&s), Vec::<String>::new());
    let mut renamed = s.clone();
    let kpis = renamed.as_object_mut().unwrap().remove("kpis").unwrap();
    renamed["kpi"] = kpis;
    assert!(!errors(&renamed).is_empty());
    let mut mistyped = s.clone();
    mistyped["kpis"]["customers"] = serde_json::json!("300");
    assert!(!errors(&mistyped).is_empty());
    let mut bad_date = s.clone();
    bad_date["as_of"] = serde_json::json!("2024-13-31");
    assert!(!errors(&bad_date).is_empty());
    let mut bad_step = s;
    bad_step["clv"]["status"] = serde_json::json!("maybe");
    assert!(!errors(&bad_step).is_empty());
}
