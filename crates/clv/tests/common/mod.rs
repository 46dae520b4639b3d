//! Fixture loading shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

/// This crate's folder, read when the test runs (cargo sets it then too): a test binary built in
/// another checkout and reused from a shared build folder would otherwise read that checkout.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

pub fn data_path(name: &str) -> PathBuf {
    manifest_dir().join("tests/data").join(name)
}

/// Numeric columns of a small CSV with a header (no quoting).
pub fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(data_path(name)).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut cols = vec![Vec::new(); header.len()];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        for (i, f) in line.split(',').enumerate() {
            cols[i].push(f.trim().parse::<f64>().unwrap_or(f64::NAN));
        }
    }
    (header, cols)
}

/// CDNOW sample summary as (x, tx, T).
pub fn cdnow() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (_, c) = read_csv("cdnow_customers_summary.csv");
    (c[1].clone(), c[2].clone(), c[3].clone())
}

pub fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}
