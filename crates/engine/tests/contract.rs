//! The analysis contract: a real run's `summary.json` reads back as the same typed
//! [`Summary`], summaries of the previous schema version still read, and other versions are
//! refused with a line that says what to do.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{
    AnalyzeOptions, Config, EngineError, NoProgress, SCHEMA_VERSION, Step, Summary, analyze,
    write_outputs,
};

/// A small generated shop analyzed twice (a quarter apart), the second run with a monthly
/// history, a holdout validation and the first run as `previous`: every section is present.
fn full_run() -> &'static (Summary, PathBuf) {
    static RUN: OnceLock<(Summary, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let shop = generate(&ShopSpec::new(1500, 11), &dir.join("shop"), &|_| {}).unwrap();
        let mut config = Config::default();
        config.source.transactions = vec![shop.transactions.clone()];
        config.source.attributes = Some(shop.attributes.clone());
        config.source.satisfaction = Some(shop.satisfaction.clone());
        config.source.leads = Some(shop.leads.clone());
        config.time.calibration_end = Some(clientele_core::Day::parse_iso("2025-06-30").unwrap());
        config.output.target_lists = true;
        let mut earlier = config.clone();
        earlier.time.as_of = Some(clientele_core::Day::parse_iso("2025-09-30").unwrap());
        let prev = analyze(&earlier, &AnalyzeOptions::default(), &NoProgress).unwrap();
        let prev_dir = dir.join("prev");
        write_outputs(
            &prev,
            &prev_dir,
            Default::default(),
            Default::default(),
            &[],
            &[],
        )
        .unwrap();
        let opts = AnalyzeOptions {
            history_monthly: true,
            previous: Some(prev_dir),
            ..AnalyzeOptions::default()
        };
        let a = analyze(&config, &opts, &NoProgress).unwrap();
        let out = dir.join("out");
        write_outputs(&a, &out, Default::default(), Default::default(), &[], &[]).unwrap();
        (a.summary, out)
    })
}

mod common;

fn v1(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn a_full_run_has_every_section() {
    let (s, _) = full_run();
    assert_eq!(s.schema_version, SCHEMA_VERSION);
    assert!(matches!(s.clv, Step::Done(_)), "{:?}", s.clv.problem());
    assert!(
        matches!(s.validation, Step::Done(_)),
        "{:?}",
        s.validation.problem()
    );
    assert!(
        matches!(s.clusters, Step::Done(_)),
        "{:?}",
        s.clusters.problem()
    );
    assert!(
        matches!(s.behaviour, Step::Done(_)),
        "{:?}",
        s.behaviour.problem()
    );
    assert!(s.lifecycle.is_some() && s.rfm.is_some() && s.value_tiers.is_some());
    assert!(!s.grades.is_empty() && !s.target_lists.is_empty());
    assert!(!s.next_steps.is_empty() && !s.top_customers.is_empty());
    assert!(s.migration.is_some() && !s.history.is_empty());
}

#[test]
fn summary_json_reads_back_as_the_same_summary() {
    let (s, out) = full_run();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let back = Summary::from_json(&text).unwrap();
    if back != *s {
        // name the first field that differs
        let (a, b) = (format!("{s:#?}"), format!("{back:#?}"));
        let at = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let context: Vec<&str> = a.lines().skip(at.saturating_sub(8)).take(10).collect();
        panic!(
            "summary.json does not read back the same: at\n{}\n… read back: {:?}",
            context.join("\n"),
            b.lines().nth(at)
        );
    }
    // and writes the same text again: no field is lost or reshaped on the way
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text);
}

#[test]
fn a_full_runs_summary_is_valid_against_the_published_schema() {
    let (_, out) = full_run();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(common::schema_errors(&v), Vec::<String>::new());
}

#[test]
fn the_engine_decides_what_surfaces_show() {
    let (s, _) = full_run();
    // next steps: groups with an action, most value at stake first, each group of people
    // once, none of most of the shop, each with its list
    assert!(!s.next_steps.is_empty() && s.next_steps.len() <= clientele_engine::NEXT_STEPS);
    let stake = |n: &clientele_engine::NextStep| n.value_at_stake.expect("value at stake");
    assert!(
        s.next_steps
            .windows(2)
            .all(|w| stake(&w[0]) >= stake(&w[1]))
    );
    let names: std::collections::HashSet<&str> =
        s.next_steps.iter().map(|n| n.name_en.as_str()).collect();
    assert_eq!(names.len(), s.next_steps.len(), "a name twice");
    for n in &s.next_steps {
        assert_eq!(n.value_basis, Some(clientele_engine::ValueBasis::Clv));
        assert!(n.share.is_none_or(|x| x <= 0.5), "{n:?}");
        assert!(n.action_zh.is_some() && n.action_en.is_some(), "{n:?}");
        let file = n.file.as_deref().expect("a target list");
        let list = s.target_lists.iter().find(|l| l.file == file).unwrap();
        assert_eq!(list.customers as u64, n.customers, "{n:?}");
    }
    // RFM segments and lifecycle stages carry the playbook's actions
    let rfm = s.rfm.as_ref().unwrap();
    assert!(
        rfm.schemes
            .iter()
            .flat_map(|x| &x.segments)
            .any(|g| g.action_en.is_some())
    );
    let stages = &s.lifecycle.as_ref().unwrap().stages.counts;
    assert!(stages.iter().any(|c| c.action_zh.is_some()));
    // the Pareto crossing lies on the drawn curve's 80 % line
    let vt = s.value_tiers.as_ref().unwrap();
    let cross = vt.customers_for_80_percent.unwrap();
    let before = vt.pareto.iter().rfind(|p| p.customers < cross).unwrap();
    assert!(before.value < 0.8 + 1e-9, "{cross} {before:?}");
    // move counts and shares
    let m = s.migration.as_ref().unwrap();
    for mig in m.schemes.iter().chain(&m.lifecycle) {
        assert!(mig.moves.iter().all(|mv| mv.customers.is_empty()));
        let both = mig.stayed + mig.moved;
        let share = (both > 0).then(|| mig.moved as f64 / both as f64);
        // rates are written rounded (crates/engine/src/numbers.rs)
        match (mig.moved_share, share) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{}: {a} {b}", mig.name),
            (a, b) => assert_eq!(a, b, "{}", mig.name),
        }
    }
    // top customers: best first
    let clv: Vec<f64> = s.top_customers.iter().map(|c| c.clv.unwrap()).collect();
    assert!(clv.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn summaries_of_clientele_0_1_still_read() {
    for name in ["small_full_0.1_summary.json", "cdnow_0.1_summary.json"] {
        let s = Summary::from_json(&v1(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.schema_version, SCHEMA_VERSION, "{name}");
        assert!(s.clv.done().is_some(), "{name}");
        assert!(s.rfm.is_some(), "{name}");
    }
    let s = Summary::from_json(&v1("small_full_0.1_summary.json")).unwrap();
    let m = s.migration.expect("migration");
    let mig = &m.schemes[0];
    assert!(mig.moves.iter().map(|mv| mv.count).sum::<u64>() > 0);
    assert!(mig.moved_share.is_some());
    assert!(matches!(s.validation, Step::Done(_)));
    assert!(matches!(s.behaviour, Step::Done(_)));
}

#[test]
fn other_versions_are_refused_with_what_to_do() {
    let (s, _) = full_run();
    let mut v = serde_json::to_value(s).unwrap();
    v["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    let e = Summary::from_json(&v.to_string()).unwrap_err();
    assert!(matches!(e, EngineError::SummaryVersion { .. }), "{e}");
    assert!(e.to_string().contains("upgrade clientele"), "{e}");
    v["schema_version"] = serde_json::json!(0);
    let e = Summary::from_json(&v.to_string()).unwrap_err();
    assert!(e.to_string().contains("rerun the analysis"), "{e}");
    for bad in [
        "[1,2]",
        "{\"a\": 1}",
        "not json",
        "{\"schema_version\": \"2\"}",
    ] {
        let e = Summary::from_json(bad).unwrap_err();
        assert!(
            e.to_string().starts_with("not a clientele summary.json"),
            "{bad}: {e}"
        );
    }
}
