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

/// Simulated BG/NBD customers (x, tₓ, T) and a mean spend per customer (Gamma-Gamma with
/// p 6, q 4, γ 15), seeded: λ ~ Gamma(r, α), dropout p ~ Beta(a, b) after each purchase, T
/// uniform on [26, 39] weeks.
pub fn simulate_bg_nbd(
    n: usize,
    params: [f64; 4],
    seed: u64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Beta, Distribution, Exp, Gamma};
    let [r, alpha, a, b] = params;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let rate = Gamma::new(r, 1.0 / alpha).unwrap();
    let drop = Beta::new(a, b).unwrap();
    let nu = Gamma::new(4.0, 1.0 / 15.0).unwrap();
    let (mut xs, mut txs, mut ts, mut ms) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let lambda: f64 = rate.sample(&mut rng).max(1e-12);
        let p: f64 = drop.sample(&mut rng);
        let t = (26.0 + 13.0 * rng.random::<f64>() * 7.0).round() / 7.0;
        let gap = Exp::new(lambda).unwrap();
        let (mut now, mut x, mut tx) = (0.0f64, 0.0f64, 0.0f64);
        loop {
            now += gap.sample(&mut rng);
            if now > t {
                break;
            }
            x += 1.0;
            tx = now;
            if rng.random::<f64>() < p {
                break;
            }
        }
        let scale: f64 = nu.sample(&mut rng);
        let spend = Gamma::new(6.0 * x.max(1.0), 1.0 / (scale * x.max(1.0))).unwrap();
        xs.push(x);
        txs.push(tx);
        ts.push(t);
        ms.push(if x > 0.0 { spend.sample(&mut rng) } else { 0.0 });
    }
    (xs, txs, ts, ms)
}
