//! The `*_all` predictions and CLV evaluate once per distinct (x, tₓ, T) row and scatter back;
//! they must be bit-identical to evaluating every customer, and `compress` must keep the
//! likelihood.

#![allow(clippy::unwrap_used)]

use clientele_clv::clv::{ClvOptions, clv, customer_clv, dert_clv};
use clientele_clv::*;

/// Deterministic pseudo-random data with many repeated rows (small integer grid) plus a
/// fraction of non-integer times and a -0.0 recency for bitwise handling (`integer` false: the
/// general sort; true: whole numbers only, the packed-u64 sort).
fn random_data(n: usize, seed: u64, integer: bool) -> (CalibrationData, Vec<f64>) {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as f64 / (1u64 << 31) as f64
    };
    let (mut x, mut tx, mut t, mut v) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let big_t = (20.0 + (next() * 30.0).floor()).max(1.0);
        let xi = (next() * next() * 12.0).floor();
        let mut txi = if xi == 0.0 {
            0.0
        } else {
            (xi + next() * (big_t - xi)).floor().min(big_t)
        };
        if !integer && i % 7 == 0 && xi > 0.0 {
            txi = (txi - next()).max(0.0);
        }
        if !integer && xi == 0.0 && i % 11 == 0 {
            txi = -0.0;
        }
        x.push(xi);
        tx.push(txi);
        t.push(big_t);
        v.push(10.0 + 90.0 * next());
    }
    (CalibrationData::new(x, tx, t).unwrap(), v)
}

fn models() -> Vec<Model> {
    vec![
        Model::BgNbd(BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap()),
        Model::MbgNbd(MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap()),
        Model::ParetoNbd(ParetoNbd::new(0.553, 10.578, 0.606, 11.669).unwrap()),
        Model::BgBb(BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap()),
    ]
}

fn same_bits(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (p, q)) in a.iter().zip(b).enumerate() {
        assert_eq!(p.to_bits(), q.to_bits(), "{what} row {i}: {p} vs {q}");
    }
}

#[test]
fn per_unique_row_predictions_equal_per_customer_values() {
    // 40k rows crosses the parallel thresholds; 300 stays serial.
    for (n, seed) in [(300, 1), (40_000, 2)] {
        for integer in [true, false] {
            let (data, value) = random_data(n, seed, integer);
            let (x, tx, t) = (data.frequency(), data.recency(), data.age());
            for model in models() {
                if matches!(model, Model::BgBb(_)) && !integer {
                    continue;
                }
                let name = format!("{:?} n={n} integer={integer}", model.kind());
                let want: Vec<f64> = (0..n).map(|i| model.p_alive(x[i], tx[i], t[i])).collect();
                same_bits(&model.p_alive_all(&data), &want, &format!("p_alive {name}"));
                let want: Vec<f64> = (0..n)
                    .map(|i| model.expected_purchases(13.5, x[i], tx[i], t[i]))
                    .collect();
                same_bits(
                    &model.expected_purchases_all(13.5, &data),
                    &want,
                    &format!("expected {name}"),
                );
                let opts = ClvOptions::new(7, 0.013, 4.345).unwrap();
                let want: Vec<f64> = (0..n)
                    .map(|i| customer_clv(&model, x[i], tx[i], t[i], value[i], &opts))
                    .collect();
                same_bits(
                    &clv(&model, &data, &value, &opts).unwrap(),
                    &want,
                    &format!("clv {name}"),
                );
                if let Model::ParetoNbd(p) = model {
                    let want: Vec<f64> = (0..n)
                        .map(|i| p.dert(0.002, x[i], tx[i], t[i]).unwrap() * value[i])
                        .collect();
                    same_bits(
                        &dert_clv(&p, &data, &value, 0.002).unwrap(),
                        &want,
                        &format!("dert {name}"),
                    );
                }
            }
        }
    }
}

#[test]
fn compress_keeps_weights_and_likelihood() {
    for integer in [true, false] {
        compress_check(integer);
    }
}

fn compress_check(integer: bool) {
    let (data, _) = random_data(40_000, 3, integer);
    let c = data.compress();
    assert!(c.len() < data.len() / 2, "{} distinct rows", c.len());
    assert_eq!(c.total_weight(), data.total_weight());
    // Sorted by (x, tₓ, T) in total order, no repeats.
    for i in 1..c.len() {
        let a = (c.frequency()[i - 1], c.recency()[i - 1], c.age()[i - 1]);
        let b = (c.frequency()[i], c.recency()[i], c.age()[i]);
        let ord =
            a.0.total_cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.total_cmp(&b.2));
        assert_eq!(ord, std::cmp::Ordering::Less, "row {i}");
    }
    for model in models().into_iter().take(3) {
        let (full, comp) = (model.log_likelihood(&data), model.log_likelihood(&c));
        assert!((full - comp).abs() < 1e-9 * full.abs(), "{full} vs {comp}");
    }
}
