#![allow(dead_code)]
//! Shared helpers for the report tests.

use std::path::PathBuf;

use serde_json::Value;

/// This crate's folder, read when the test runs (cargo sets it then too): a test binary built in
/// another checkout and reused from a shared build folder would otherwise read that checkout.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

pub fn fixture(name: &str) -> Value {
    let path = manifest_dir().join(format!("tests/data/{name}_summary.json"));
    let text = std::fs::read_to_string(&path).expect("read fixture");
    serde_json::from_str(&text).expect("parse fixture")
}

/// `target/report-test-output` (or `$CARGO_TARGET_DIR/report-test-output`).
pub fn out_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || manifest_dir().join("../../target"),
        std::path::PathBuf::from,
    );
    let dir = target.join("report-test-output");
    std::fs::create_dir_all(&dir).expect("create test output dir");
    dir
}
