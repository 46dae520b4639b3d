//! Per-customer agreement with lifetimes 0.11.3 at fixed parameters (fixture produced by
//! `tests/reference/lifetimes_reference.py`): ≤ 1e-9 relative (1e-12 absolute below 1e-3).

#![allow(clippy::unwrap_used)]

mod common;

use clientele_clv::*;

#[test]
fn predictions_match_lifetimes_per_customer() {
    let (h, c) = common::read_csv("lifetimes_reference.csv");
    let col = |name: &str| &c[h.iter().position(|n| n == name).unwrap()];
    let models = [
        (
            "bg",
            Model::BgNbd(BgNbd::new(0.24259, 4.41353, 0.79289, 2.42575).unwrap()),
        ),
        (
            "mbg",
            Model::MbgNbd(MbgNbd::new(0.52484, 6.18299, 0.89136, 1.61400).unwrap()),
        ),
        (
            "pnbd",
            Model::ParetoNbd(ParetoNbd::new(0.55328, 10.57775, 0.60617, 11.66691).unwrap()),
        ),
    ];
    let close = |a: f64, b: f64| {
        (a - b).abs() <= 1e-9 * b.abs() || (b.abs() < 1e-3 && (a - b).abs() < 1e-12)
    };
    for (name, m) in models {
        let (pa, e) = (col(&format!("{name}_palive")), col(&format!("{name}_e39")));
        for i in 0..c[0].len() {
            let (x, tx, t) = (c[0][i], c[1][i], c[2][i]);
            let p = m.p_alive(x, tx, t);
            assert!(close(p, pa[i]), "{name} row {i}: p_alive {p} vs {}", pa[i]);
            let v = m.expected_purchases(39.0, x, tx, t);
            assert!(close(v, e[i]), "{name} row {i}: E {v} vs {}", e[i]);
        }
    }
}
