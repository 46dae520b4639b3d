//! Agreement with scikit-learn 1.9 on the same data (see tests/reference/sklearn_reference.py,
//! which rebuilds the points bit for bit in numpy and wrote sklearn_reference.json).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use clientele_cluster::synth::Blobs;
use clientele_cluster::{KMeansParams, kmeans};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let v: Value = serde_json::from_str(include_str!("reference/sklearn_reference.json")).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn data(case: &Value) -> (Vec<f64>, Vec<u32>) {
    let n = case["n"].as_u64().unwrap() as usize;
    let k = case["k"].as_u64().unwrap() as usize;
    let seed = case["seed"].as_u64().unwrap();
    let b = match case["kind"].as_str().unwrap() {
        "customers" => Blobs::customers(n, seed),
        _ => Blobs::separated(n, k, seed),
    };
    let (x, truth) = b.generate();
    let sum = x.iter().fold(0u64, |a, v| a.wrapping_add(v.to_bits()));
    assert_eq!(
        sum.to_string(),
        case["checksum"].as_str().unwrap(),
        "data differ from numpy's"
    );
    (x, truth)
}

/// Labels renumbered by first appearance, FNV-1a: equal hashes = same partition.
fn partition_hash(labels: &[u32]) -> u64 {
    let mut first = std::collections::HashMap::new();
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for l in labels {
        let next = first.len() as u64;
        h ^= *first.entry(*l).or_insert(next);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h
}

fn check(name: &str) {
    let case = cases().into_iter().find(|c| c["name"] == name).unwrap();
    let (x, truth) = data(&case);
    let k = case["k"].as_u64().unwrap() as usize;
    let fit = kmeans(&x, 5, &KMeansParams::new(k)).unwrap();
    let sk = case["sklearn_inertia"].as_f64().unwrap();
    let ratio = fit.inertia / sk;
    eprintln!(
        "{name}: clientele {} scikit-learn {sk} ratio {ratio:.6}",
        fit.inertia
    );
    assert!(
        ratio <= 1.01,
        "{name}: inertia {} vs scikit-learn {sk} (ratio {ratio})",
        fit.inertia
    );
    assert!(
        ratio >= 0.99,
        "{name}: suspiciously low inertia {} vs {sk}",
        fit.inertia
    );
    if let Some(h) = case.get("sklearn_partition_hash") {
        assert_eq!(
            partition_hash(&fit.labels),
            partition_hash(&truth),
            "{name}: blobs not recovered"
        );
        assert_eq!(
            partition_hash(&fit.labels).to_string(),
            h.as_str().unwrap(),
            "{name}: partition differs"
        );
    }
}

#[test]
fn customers_k4_inertia_within_1_percent() {
    check("customers_k4");
}

#[test]
fn customers_k8_inertia_within_1_percent() {
    check("customers_k8");
}

#[test]
fn separated_k4_same_partition() {
    check("separated_k4");
}

#[test]
fn separated_k8_same_partition() {
    check("separated_k8");
}
