//! Times the CLV pipeline on a per-customer summary CSV (header `x,tx,T,m`: repeat purchases,
//! recency, age, mean repeat spend; any time unit, `--unit days|weeks` says which for the
//! 52-week horizon and the CLV month) and prints JSON. Driven by `bench/compare_lifetimes.py`.
//!
//! `cargo run --release -p clientele-clv --example bench_clv -- summary.csv [--unit days] [--reps 3]`
//!
//! Steps (each the median of `--reps` runs, wall time):
//! - `compress`: unique (x, tₓ, T) rows alone (also inside both fits);
//! - `bgnbd_fit`: compress to unique (x, tₓ, T) rows + BG/NBD fit (incl. standard errors);
//! - `pnbd_fit`: Pareto/NBD fit (compress included);
//! - `gg_fit`: Gamma-Gamma fit on the repeat customers;
//! - `predict_clv`: P(alive) + expected purchases in the next 52 weeks + E[M] + 12-month CLV
//!   (lifetimes' defaults: 1 % a month) for every customer, with the BG/NBD.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use clientele_clv::{BgNbd, CalibrationData, ClvOptions, FitOptions, GammaGamma, Model, ParetoNbd};
use clientele_core::TimeUnit;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        out = Some(f());
        times.push(t0.elapsed().as_secs_f64());
    }
    (median(times), out.unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: bench_clv summary.csv [--unit days|weeks] [--reps N] [--skip-pnbd]");
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let unit = match flag("--unit").map(String::as_str) {
        Some("weeks") => TimeUnit::Weeks,
        _ => TimeUnit::Days,
    };
    let reps: usize = flag("--reps").map_or(1, |v| v.parse().unwrap());
    let skip_pnbd = args.iter().any(|a| a == "--skip-pnbd");

    let t0 = Instant::now();
    let text = std::fs::read_to_string(path).unwrap();
    let (mut x, mut tx, mut t, mut m) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let mut f = line.split(',').map(|v| v.trim().parse::<f64>().unwrap());
        x.push(f.next().unwrap());
        tx.push(f.next().unwrap());
        t.push(f.next().unwrap());
        m.push(f.next().unwrap());
    }
    let read_s = t0.elapsed().as_secs_f64();
    let data = CalibrationData::new(x.clone(), tx, t).unwrap();
    let opts = FitOptions::default();
    let week = match unit {
        TimeUnit::Days => 7.0,
        _ => 1.0,
    };

    let (compress_s, unique) = time(reps, || data.compress().len());
    let (bg_s, bg) = time(reps, || BgNbd::fit(&data, &opts).unwrap());
    let pnbd = (!skip_pnbd).then(|| time(reps, || ParetoNbd::fit(&data, &opts).unwrap()));
    let (gg_s, (gg, _)) = time(reps, || GammaGamma::fit(&x, &m, &opts).unwrap());

    let model = Model::BgNbd(bg.model);
    let clv_opts = ClvOptions::lifetimes(unit);
    let (pred_s, (p_alive, e52, clv)) = time(reps, || {
        let p_alive = model.p_alive_all(&data);
        let e52 = model.expected_purchases_all(52.0 * week, &data);
        let value = gg.model.expected_average_values(&x, &m).unwrap();
        let clv = clientele_clv::clv::clv(&model, &data, &value, &clv_opts).unwrap();
        (p_alive, e52, clv)
    });

    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let report = |r: &clientele_clv::FitReport| {
        serde_json::json!({
            "params": r.params, "ll": r.log_likelihood, "converged": r.converged,
            "gradient_norm": r.gradient_norm, "iterations": r.iterations, "rows": r.n_rows,
        })
    };
    let out = serde_json::json!({
        "customers": data.len(),
        "threads": rayon::current_num_threads(),
        "read_s": read_s,
        "unique_rows": unique,
        "compress_s": compress_s,
        "bgnbd_fit_s": bg_s,
        "pnbd_fit_s": pnbd.as_ref().map(|p| p.0),
        "gg_fit_s": gg_s,
        "predict_clv_s": pred_s,
        "bgnbd": report(&bg.report),
        "pnbd": pnbd.as_ref().map(|p| report(&p.1.report)),
        "gg": report(&gg.report),
        "sum_p_alive": sum(&p_alive),
        "sum_expected_52w": sum(&e52),
        "sum_clv": sum(&clv),
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
