#![allow(dead_code)]
//! The real runs the report tests render, each analyzed once per test binary.

use std::path::PathBuf;
use std::sync::OnceLock;

use clientele_core::Day;
use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{AnalyzeOptions, Config, NoProgress, Summary, analyze, write_outputs};

/// This crate's folder, read when the test runs (cargo sets it then too): a test binary built in
/// another checkout and reused from a shared build folder would otherwise read that checkout.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

fn day(s: &str) -> Day {
    Day::parse_iso(s).expect("date")
}

/// The demo shop (2,000 customers, seed 7, with attributes, satisfaction and leads) analyzed
/// with everything on: a holdout validation from 2025-06-30, monthly history, and the same
/// shop at 2025-09-30 as the previous run. Every section of the report is present.
pub fn demo() -> &'static Summary {
    static RUN: OnceLock<Summary> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let shop = generate(&ShopSpec::new(2000, 7), &dir.path().join("shop"), &|_| {})
            .expect("generate the demo shop");
        let mut config = Config::default();
        config.source.transactions = vec![shop.transactions.clone()];
        config.source.attributes = Some(shop.attributes.clone());
        config.source.satisfaction = Some(shop.satisfaction.clone());
        config.source.leads = Some(shop.leads.clone());
        config.time.calibration_end = Some(day("2025-06-30"));
        let mut earlier = config.clone();
        earlier.time.as_of = Some(day("2025-09-30"));
        earlier.time.calibration_end = None;
        let prev = analyze(&earlier, &AnalyzeOptions::default(), &NoProgress).expect("previous");
        let prev_dir = dir.path().join("prev");
        write_outputs(
            &prev,
            &prev_dir,
            Default::default(),
            Default::default(),
            &[],
            &[],
        )
        .expect("write the previous run");
        let opts = AnalyzeOptions {
            history_monthly: true,
            previous: Some(prev_dir),
            ..AnalyzeOptions::default()
        };
        let a = analyze(&config, &opts, &NoProgress).expect("analyze the demo shop");
        without_paths(a.summary)
    })
}

/// CDNOW (23,570 customers, 1997-01 – 1998-06), as `.ci/run` analyzes it but in English: no
/// attributes, no categories, no grading scheme the data supports.
pub fn cdnow() -> &'static Summary {
    static RUN: OnceLock<Summary> = OnceLock::new();
    RUN.get_or_init(|| cdnow_in(clientele_engine::Lang::En))
}

/// CDNOW analyzed in Chinese: its tables and lists name every group in Chinese.
pub fn cdnow_zh() -> &'static Summary {
    static RUN: OnceLock<Summary> = OnceLock::new();
    RUN.get_or_init(|| cdnow_in(clientele_engine::Lang::Zh))
}

fn cdnow_in(lang: clientele_engine::Lang) -> Summary {
    {
        let mut config = Config::default();
        config.source.transactions =
            vec![manifest_dir().join("../ingest/tests/data/CDNOW_master.txt")];
        config.source.delimiter = "whitespace".parse().expect("delimiter");
        config.columns.order_date = Some("date".into());
        config.columns.amount = Some("dollar_value".into());
        config.time.as_of = Some(day("1998-06-30"));
        config.output.lang = lang;
        let a = analyze(&config, &AnalyzeOptions::default(), &NoProgress).expect("analyze CDNOW");
        without_paths(a.summary)
    }
}

/// The summary as if the run had been in a folder of its own: input files by name, and the
/// config hash (which covers the side tables' paths) fixed, so snapshots do not depend on
/// where the test put its files.
fn without_paths(mut s: Summary) -> Summary {
    let name = |f: &String| {
        std::path::Path::new(f)
            .file_name()
            .map_or_else(|| f.clone(), |n| n.to_string_lossy().into_owned())
    };
    s.inputs.files = s.inputs.files.iter().map(name).collect();
    for t in &mut s.side_tables {
        t.file = name(&t.file);
    }
    s.config_hash = "0123456789ab".into();
    s
}

/// `target/report-test-output` (or `$CARGO_TARGET_DIR/report-test-output`).
pub fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| manifest_dir().join("../../target"), PathBuf::from);
    let dir = target.join("report-test-output");
    std::fs::create_dir_all(&dir).expect("create test output dir");
    dir
}
