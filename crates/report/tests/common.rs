#![allow(dead_code)]
//! Shared helpers for the report tests.

use serde_json::Value;

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/data/{name}_summary.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("read fixture");
    serde_json::from_str(&text).expect("parse fixture")
}

/// `target/report-test-output` (or `$CARGO_TARGET_DIR/report-test-output`).
pub fn out_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        std::path::PathBuf::from,
    );
    let dir = target.join("report-test-output");
    std::fs::create_dir_all(&dir).expect("create test output dir");
    dir
}
