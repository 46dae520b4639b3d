//! Rough timing of scoring + every built-in scheme on synthetic customers (not a test):
//! `cargo run --release -p clientele-rfm --example bench_1m -- 1000000`
#![allow(clippy::print_stdout)] // an example prints its timings

use std::time::Instant;

use clientele_rfm::{Method, MetricConfig, RfmConfig, RfmData, RfmModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    // Deterministic pseudo-random values (xorshift), with ties like real data.
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let ids: Vec<String> = (0..n).map(|i| format!("{i:08}")).collect();
    let r: Vec<f64> = (0..n).map(|_| (next() % 540) as f64).collect();
    let f: Vec<f64> = (0..n)
        .map(|_| (1 + (next() % 1000).pow(2) / 50_000) as f64)
        .collect();
    let m: Vec<f64> = (0..n).map(|_| (next() % 100_000) as f64 / 100.0).collect();
    let t0 = Instant::now();
    let data = RfmData::new(ids, r, f, m)?;
    let t1 = Instant::now();
    for (label, cfg) in [
        ("quantile", RfmConfig::default()),
        (
            "ntile",
            RfmConfig {
                r: MetricConfig {
                    method: Method::Ntile,
                    ..MetricConfig::default()
                },
                f: MetricConfig {
                    method: Method::Ntile,
                    ..MetricConfig::default()
                },
                m: MetricConfig {
                    method: Method::Ntile,
                    ..MetricConfig::default()
                },
                ..RfmConfig::default()
            },
        ),
    ] {
        let t = Instant::now();
        let res = RfmModel::new(cfg)?.score(&data);
        println!(
            "{label}: {n} customers, {} schemes: {:.3} s",
            res.schemes.len(),
            t.elapsed().as_secs_f64()
        );
    }
    println!("input checks: {:.3} s", (t1 - t0).as_secs_f64());
    Ok(())
}
