//! The run the page tests serve, analyzed once per test binary: the demo shop (2,000
//! customers, seed 7, with attributes, satisfaction and leads) in Chinese, with monthly history
//! and the same shop a quarter earlier as the previous run (so migration and alerts exist). The
//! earlier run is served too (`prev`), so each customer has a history of two snapshots, and the
//! primary folder keeps it under `history/` as a refresh would (so the alerts compare them).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use clientele_core::{Day, Lang};
use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{
    AnalyzeOptions, Config, ExtraFile, NoProgress, Summary, analyze, write_outputs,
};

/// The served folders and the primary run's summary.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    /// The primary run.
    pub out: PathBuf,
    /// The run a quarter earlier.
    pub prev: PathBuf,
    /// The primary run's summary.
    pub summary: Summary,
}

fn day(s: &str) -> Day {
    Day::parse_iso(s).expect("date")
}

pub fn fixture() -> &'static Fixture {
    static RUN: OnceLock<Fixture> = OnceLock::new();
    RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let shop = generate(&ShopSpec::new(2000, 7), &tmp.path().join("shop"), &|_| {})
            .expect("generate the demo shop");
        let mut config = Config::default();
        config.source.transactions = vec![shop.transactions.clone()];
        config.source.attributes = Some(shop.attributes.clone());
        config.source.satisfaction = Some(shop.satisfaction.clone());
        config.source.leads = Some(shop.leads.clone());
        config.output.lang = Lang::Zh;
        let mut earlier = config.clone();
        earlier.time.as_of = Some(day("2025-09-30"));
        let prev = analyze(&earlier, &AnalyzeOptions::default(), &NoProgress).expect("previous");
        let prev_dir = tmp.path().join("prev");
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
            previous: Some(prev_dir.clone()),
            ..AnalyzeOptions::default()
        };
        let a = analyze(&config, &opts, &NoProgress).expect("analyze the demo shop");
        let kept = ExtraFile {
            name: "history/0001-2025-09-30/summary.json".into(),
            bytes: std::fs::read(prev_dir.join("summary.json")).expect("the previous summary"),
        };
        let out = tmp.path().join("out");
        write_outputs(
            &a,
            &out,
            Default::default(),
            Default::default(),
            &[],
            &[kept],
        )
        .expect("write the run");
        Fixture {
            out,
            prev: prev_dir,
            summary: a.summary,
            _tmp: tmp,
        }
    })
}

/// `$CARGO_TARGET_DIR/server-test-output` (or `target/server-test-output`).
pub fn out_dir() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| manifest.join("../../target"), PathBuf::from);
    let dir = target.join("server-test-output");
    std::fs::create_dir_all(&dir).expect("create the test output folder");
    dir
}
