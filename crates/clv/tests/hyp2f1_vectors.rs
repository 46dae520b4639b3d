//! ₂F₁ against the 40-digit reference vectors: 1e-12 relative on the value where it is finite
//! in double, else on the log.

#![allow(clippy::unwrap_used)]

mod common;

use clientele_clv::hyp2f1::{hyp2f1, ln_hyp2f1};

#[test]
fn hyp2f1_matches_reference_vectors() {
    let text = std::fs::read_to_string(common::data_path("hyp2f1_vectors.csv")).unwrap();
    let mut checked = 0;
    let mut worst = 0.0_f64;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        let (a, b, c, z) = (num(1), num(2), num(3), num(4));
        let value: f64 = f[5].parse().unwrap_or(f64::INFINITY);
        let log_value = num(6);
        let err = if value.is_finite() {
            (hyp2f1(a, b, c, z) / value - 1.0).abs()
        } else {
            (ln_hyp2f1(a, b, c, z) / log_value - 1.0).abs()
        };
        assert!(err < 1e-12, "{line}: rel err {err:e}");
        worst = worst.max(err);
        checked += 1;
    }
    assert_eq!(checked, 1415);
    assert!(worst < 1e-12);
}
