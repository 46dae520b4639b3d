//! Speed check, not part of the default run (timings never decide pass/fail):
//! `CARGO_TARGET_DIR=/work/target-grade cargo test -p clientele-grade --release --test perf -- --ignored --nocapture`

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::time::Instant;

use clientele_core::{ColumnData, CustomerTable};
use clientele_grade::{compile, presets};

fn big_table(n: usize) -> CustomerTable {
    let mut t = CustomerTable::new((0..n).map(|i| format!("c{i:07}")).collect());
    // Cheap deterministic pseudo-random values.
    let h = |i: usize, k: u64| {
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k;
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^ (x >> 29)
    };
    let int =
        |k: u64, m: u64| ColumnData::Int((0..n).map(|i| Some((h(i, k) % m) as i64)).collect());
    t.push("orders", int(1, 30)).unwrap();
    t.push("categories", int(2, 10)).unwrap();
    t.push("recency_days", int(3, 720)).unwrap();
    t.push(
        "r_score",
        ColumnData::Int((0..n).map(|i| Some((h(i, 4) % 5 + 1) as i64)).collect()),
    )
    .unwrap();
    t.push(
        "f_score",
        ColumnData::Int((0..n).map(|i| Some((h(i, 5) % 5 + 1) as i64)).collect()),
    )
    .unwrap();
    t.push(
        "monetary",
        ColumnData::Float(
            (0..n)
                .map(|i| Some((h(i, 6) % 200_000) as f64 / 100.0))
                .collect(),
        ),
    )
    .unwrap();
    t.push(
        "satisfaction",
        ColumnData::Float(
            (0..n)
                .map(|i| (h(i, 7) % 10 != 0).then(|| (h(i, 8) % 41) as f64 / 10.0 + 1.0))
                .collect(),
        ),
    )
    .unwrap();
    t
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn five_schemes_on_a_million_customers() {
    let t = big_table(1_000_000);
    let names = [
        "behaviour",
        "behaviour_percentile",
        "rfm8",
        "rf_grid",
        "satisfaction",
    ];
    let schemes: Vec<_> = names.iter().map(|n| presets::get(n).unwrap()).collect();
    let start = Instant::now();
    let compiled: Vec<_> = schemes.iter().map(|s| compile(s, &t).unwrap()).collect();
    let compiled_at = start.elapsed();
    let results: Vec<_> = compiled.iter().map(|c| c.apply(&t).unwrap()).collect();
    let total = start.elapsed();
    for r in &results {
        assert_eq!(r.len(), t.len());
    }
    println!(
        "1M customers, {} schemes: compile (incl. percentiles/means) {:?}, total {:?}",
        names.len(),
        compiled_at,
        total
    );
    let start = Instant::now();
    let _cols: Vec<_> = results.iter().map(|r| r.to_column()).collect();
    println!("to_column for all: {:?}", start.elapsed());
}
