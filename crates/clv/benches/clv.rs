//! Hot functions of the CLV models (divan): ₂F₁, the BG/NBD log-likelihood with its gradient
//! over 10k rows (one optimiser evaluation), and the conditional expectation.
//!
//! `cargo bench -p clientele-clv`

#![allow(clippy::unwrap_used)]

use clientele_clv::BgNbd;
use clientele_clv::hyp2f1::hyp2f1;
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
