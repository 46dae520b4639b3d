//! K-means benchmark: 1M customer-like rows × 5 features, k = 8 by default.
//!
//! `cargo run --release -p clientele-cluster --example bench_kmeans -- [n] [k] [seed] [segment]`
//!
//! With a fourth argument `segment`, it also times the whole `segment()` pipeline (k = 2..=8,
//! silhouette sample, profiles) on a customer table built from the same points.
//!
//! The data comes from `clientele_cluster::synth` (seed 42), which
//! `bench/compare_sklearn.py` rebuilds bit for bit, so both tools fit the same points. Prints
//! one JSON line: timings, inertia, iterations and a data checksum.

use std::time::Instant;

use clientele_cluster::synth::Blobs;
use clientele_cluster::{ClusterConfig, KMeansParams, kmeans, segment};
use clientele_core::{ColumnData, CustomerTable};

/// The 5 synthetic features as customer metrics in realistic units.
fn table(x: &[f64], n: usize) -> Result<CustomerTable, Box<dyn std::error::Error>> {
    let mut t = CustomerTable::new((0..n).map(|i| format!("c{i:07}")).collect());
    let col = |j: usize, a: f64, b: f64| {
        ColumnData::Float(
            (0..n)
                .map(|i| Some((a + b * x[i * 5 + j]).exp().round()))
                .collect(),
        )
    };
    t.push("recency_days", col(0, 3.5, 1.0))?;
    t.push("orders", col(1, 1.0, 0.8))?;
    t.push("monetary", col(2, 5.0, 1.2))?;
    t.push("categories", col(3, 1.0, 0.5))?;
    t.push("avg_order_value", col(4, 4.0, 0.7))?;
    Ok(t)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map_or(Ok(1_000_000), |s| s.parse())?;
    let k: usize = args.get(1).map_or(Ok(8), |s| s.parse())?;
    let seed: u64 = args.get(2).map_or(Ok(0), |s| s.parse())?;
    let t0 = Instant::now();
    let (x, _) = Blobs::customers(n, 42).generate();
    let gen_s = t0.elapsed().as_secs_f64();
    let checksum: f64 = x.iter().sum();
    let mut p = KMeansParams::new(k);
    p.seed = seed;
    let t1 = Instant::now();
    let fit = kmeans(&x, 5, &p)?;
    let fit_s = t1.elapsed().as_secs_f64();
    let mut full = p.clone();
    full.sample_size = usize::MAX;
    let t2 = Instant::now();
    let fit_full = kmeans(&x, 5, &full)?;
    let full_s = t2.elapsed().as_secs_f64();
    if args.get(3).is_some_and(|a| a == "segment") {
        let t3 = Instant::now();
        let seg = segment(&table(&x, n)?, &ClusterConfig::default())?;
        eprintln!(
            "segment(): {:.3} s, chose k = {}, silhouettes {:?}",
            t3.elapsed().as_secs_f64(),
            seg.model.k,
            seg.scores
                .iter()
                .map(|s| (s.k, (s.silhouette * 1000.0).round() / 1000.0))
                .collect::<Vec<_>>()
        );
    }
    println!(
        "{{\"tool\":\"clientele\",\"n\":{n},\"k\":{k},\"threads\":{},\"generate_s\":{gen_s:.3},\"checksum\":{checksum:.6},\
\"fit_s\":{fit_s:.3},\"inertia\":{:.6},\"n_iter\":{},\"full_init_fit_s\":{full_s:.3},\"full_init_inertia\":{:.6}}}",
        rayon::current_num_threads(),
        fit.inertia,
        fit.n_iter,
        fit_full.inertia
    );
    Ok(())
}
