//! Hot functions of the CLV models (divan): ₂F₁, the BG/NBD log-likelihood with its gradient
//! over 10k rows (one optimiser evaluation), the conditional expectation, and the intervals of
//! expected purchases and CLV for 1M customers (200 parameter draws).
//!
//! `cargo bench -p clientele-clv`

#![allow(clippy::unwrap_used)]

use clientele_clv::hyp2f1::hyp2f1;
use clientele_clv::{
    BgNbd, CalibrationData, ClvOptions, GammaGamma, IntervalOptions, MbgNbd, Model, SpendInput,
    customer_intervals,
};
use divan::black_box;

fn main() {
    divan::main();
}

/// 10k deterministic CDNOW-like rows (x, tₓ, T) in weeks.
fn rows() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut s = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut x, mut tx, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let age = 27.0 + 12.0 * next();
        let n = (next().powi(3) * 20.0).floor();
        x.push(n);
        tx.push(if n > 0.0 { age * next() } else { 0.0 });
        t.push(age);
    }
    (x, tx, t)
}

#[divan::bench(args = [0.3, 0.9, 0.99])]
fn hyp2f1_z(z: f64) -> f64 {
    hyp2f1(black_box(2.7), black_box(3.4), black_box(5.1), black_box(z))
}

#[divan::bench]
fn bgnbd_ll_grad_10k(bencher: divan::Bencher) {
    let (x, tx, t) = rows();
    let m = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    bencher.bench(|| {
        let mut acc = [0.0; 5];
        for i in 0..x.len() {
            let (l, g) = m.row_log_likelihood_gradient(x[i], tx[i], t[i]);
            acc[0] += l;
            for k in 0..4 {
                acc[k + 1] += g[k];
            }
        }
        black_box(acc)
    });
}

#[divan::bench]
fn bgnbd_ll_10k(bencher: divan::Bencher) {
    let (x, tx, t) = rows();
    let m = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    bencher.bench(|| {
        let s: f64 = (0..x.len())
            .map(|i| m.row_log_likelihood(x[i], tx[i], t[i]))
            .sum();
        black_box(s)
    });
}

#[divan::bench(args = [39.0, 364.0])]
fn bgnbd_expected_purchases_10k(bencher: divan::Bencher, horizon: f64) {
    let (x, tx, t) = rows();
    let m = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    bencher.bench(|| {
        let s: f64 = (0..x.len())
            .map(|i| m.expected_purchases(horizon, x[i], tx[i], t[i]))
            .sum();
        black_box(s)
    });
}

/// `n` deterministic customers in days: T whole days in 1..=730, tₓ ≤ T, and a mean spend.
fn daily_customers(n: usize) -> (CalibrationData, Vec<f64>, Vec<f64>) {
    let mut s = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut x, mut tx, mut t, mut m) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let age = (1.0 + 729.0 * next()).round();
        let k = (next().powi(3) * 30.0).floor();
        x.push(k);
        tx.push(if k > 0.0 {
            (age * next()).round().max(1.0)
        } else {
            0.0
        });
        t.push(age);
        m.push(if k > 0.0 { 10.0 + 90.0 * next() } else { 0.0 });
    }
    let data = CalibrationData::new(x.clone(), tx, t).unwrap();
    (data, x, m)
}

/// A covariance of the log-parameters with standard errors of a few per cent.
fn log_covariance(se: &[f64], rho: f64) -> Vec<Vec<f64>> {
    (0..se.len())
        .map(|i| {
            (0..se.len())
                .map(|j| se[i] * se[j] * if i == j { 1.0 } else { rho })
                .collect()
        })
        .collect()
}

#[divan::bench(args = ["bg_nbd", "mbg_nbd"], sample_count = 3, sample_size = 1)]
fn intervals_1m_200_draws(bencher: divan::Bencher, model: &str) {
    let (data, x, m) = daily_customers(1_000_000);
    let model = match model {
        "bg_nbd" => Model::BgNbd(BgNbd::new(0.25, 20.0, 0.8, 2.5).unwrap()),
        _ => Model::MbgNbd(MbgNbd::new(0.25, 20.0, 0.8, 2.5).unwrap()),
    };
    let cov = log_covariance(&[0.01, 0.02, 0.04, 0.05], 0.3);
    let gg = GammaGamma::new(6.0, 4.0, 15.0).unwrap();
    let spend_cov = log_covariance(&[0.03, 0.03, 0.04], 0.5);
    let spend = SpendInput {
        model: &gg,
        log_covariance: Some(&spend_cov),
        frequency: &x,
        monetary: &m,
        own_mean_above: None,
    };
    let clv = ClvOptions::new(12, 0.01, 30.0).unwrap();
    let opts = IntervalOptions::new(200, 1, (0.05, 0.95)).unwrap();
    bencher.bench(|| {
        customer_intervals(&model, &cov, Some(&spend), &data, &clv, 364.0, &opts).unwrap()
    });
}
