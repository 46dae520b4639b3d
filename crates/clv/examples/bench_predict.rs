//! Times every per-customer prediction of the BG/NBD, MBG/NBD and Pareto/NBD on a summary CSV
//! (header `x,tx,T,m`: repeat purchases, recency and age in **weeks**, mean repeat spend),
//! prints the timings as JSON and, with `--out`, writes the predictions per customer (same
//! row order as the input) for comparison with lifetimes and PyMC-Marketing. Driven by
//! `bench/predict.sh`.
//!
//! `cargo run --release -p clientele-clv --example bench_predict -- summary.csv --out pred.csv [--reps 3] [--skip-pnbd]`
//!
//! Steps per model (wall time, all customers; a step under 10 s is run `--reps` times and the
//! median kept, a longer one runs once):
//! - `fit`: maximum likelihood (compress to distinct rows, BFGS, standard errors);
//! - `p_alive`: P(alive at T);
//! - `expected_52w`: expected purchases in (T, T+52];
//! - `p_purchase_30d`, `p_purchase_90d`: P(at least one purchase in 30/7 and 90/7 weeks);
//! - `next_purchase`: median time to the next purchase, up to 104 weeks;
//! - `clv`: expected spend (Gamma-Gamma) and the 12-month CLV point estimate (lifetimes' month
//!   of 4.345 weeks, 1 % a month);
//! - `intervals`: 5–95 % intervals of expected purchases in 52 weeks and of the 12-month CLV
//!   from 200 parameter draws, Gamma-Gamma parameters varied too (point estimates included).
//!
//! The Gamma-Gamma fit is timed once (`gg_fit`). Output columns: `<model>_p_alive`,
//! `<model>_e52`, `<model>_pp30`, `<model>_pp90`, `<model>_next` (empty when past 104 weeks),
//! `<model>_clv`, `<model>_clv_p05`, `<model>_clv_p95`, with `<model>` one of `bg`, `mbg`,
//! `pnbd`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::fmt::Write as _;
use std::time::Instant;

use clientele_clv::{
    CalibrationData, ClvOptions, FitOptions, GammaGamma, IntervalOptions, ModelKind, SpendInput,
    customer_intervals,
};
use clientele_core::TimeUnit;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall time of `reps` runs, or of one run when it takes 10 s or more.
fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        out = Some(f());
        times.push(t0.elapsed().as_secs_f64());
        if times[0] >= 10.0 {
            break;
        }
    }
    (median(times), out.unwrap())
}

/// One model's predictions per customer.
struct Predictions {
    tag: &'static str,
    cols: Vec<Vec<f64>>,
}

const COLS: [&str; 8] = [
    "p_alive", "e52", "pp30", "pp90", "next", "clv", "clv_p05", "clv_p95",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: bench_predict summary.csv [--out pred.csv] [--reps N] [--skip-pnbd]");
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let reps: usize = flag("--reps").map_or(1, |v| v.parse().unwrap());
    let out_path = flag("--out");
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
    let clv_opts = ClvOptions::lifetimes(TimeUnit::Weeks);
    let draws = IntervalOptions::new(IntervalOptions::DEFAULT_DRAWS, 0, (0.05, 0.95)).unwrap();

    let (gg_s, (gg, gg_report)) = time(reps, || GammaGamma::fit(&x, &m, &opts).unwrap());
    let gg_model = gg.model;
    let spend = SpendInput {
        model: &gg_model,
        log_covariance: gg_report.log_covariance(),
        frequency: &x,
        monetary: &m,
        own_mean_above: gg_report.own_mean_above(),
    };

    let mut kinds = vec![
        (ModelKind::BgNbd, "bg"),
        (ModelKind::MbgNbd, "mbg"),
        (ModelKind::ParetoNbd, "pnbd"),
    ];
    if skip_pnbd {
        kinds.pop();
    }
    let mut models = serde_json::Map::new();
    let mut preds = Vec::new();
    for (kind, tag) in kinds {
        let (fit_s, fitted) = time(reps, || clientele_clv::fit(kind, &data, &opts).unwrap());
        let model = fitted.model;
        let (pa_s, p_alive) = time(reps, || model.p_alive_all(&data));
        let (e_s, e52) = time(reps, || model.expected_purchases_all(52.0, &data));
        let (p30_s, pp30) = time(reps, || model.p_purchase_all(30.0 / 7.0, &data).unwrap());
        let (p90_s, pp90) = time(reps, || model.p_purchase_all(90.0 / 7.0, &data).unwrap());
        let (next_s, next) = time(reps, || model.next_purchase_time_all(104.0, &data).unwrap());
        let (clv_s, clv_point) = time(reps, || {
            let value = gg_model
                .expected_average_values_with(&x, &m, gg_report.own_mean_above())
                .unwrap();
            clientele_clv::clv::clv(&model, &data, &value, &clv_opts).unwrap()
        });
        let cov = fitted.report.log_covariance.as_ref().unwrap();
        let (iv_s, iv) = time(reps, || {
            customer_intervals(&model, cov, Some(&spend), &data, &clv_opts, 52.0, &draws).unwrap()
        });
        let clv = iv.clv.unwrap();
        assert_eq!(
            clv.point, clv_point,
            "interval point estimates are the plain CLV"
        );
        let r = &fitted.report;
        models.insert(
            tag.to_string(),
            serde_json::json!({
                "params": r.params, "param_names": r.param_names, "ll": r.log_likelihood,
                "converged": r.converged, "gradient_norm": r.gradient_norm, "rows": r.n_rows,
                "fit_s": fit_s, "p_alive_s": pa_s, "expected_52w_s": e_s,
                "p_purchase_30d_s": p30_s, "p_purchase_90d_s": p90_s,
                "next_purchase_s": next_s, "clv_s": clv_s, "intervals_s": iv_s,
                "interval_draws_used": iv.report.used_draws,
                "next_purchase_within_104w": next.iter().filter(|v| v.is_some()).count(),
                "sum_p_alive": p_alive.iter().sum::<f64>(),
                "sum_expected_52w": e52.iter().sum::<f64>(),
                "total_clv": iv.report.total_clv.as_ref().map(|b| [b.point, b.lower, b.upper]),
            }),
        );
        let next = next.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        preds.push(Predictions {
            tag,
            cols: vec![
                p_alive, e52, pp30, pp90, next, clv.point, clv.lower, clv.upper,
            ],
        });
    }

    let out = serde_json::json!({
        "customers": data.len(),
        "threads": rayon::current_num_threads(),
        "reps": reps,
        "read_s": read_s,
        "gg_fit_s": gg_s,
        "gg": { "params": gg_report.fit.params, "ll": gg_report.fit.log_likelihood,
                "converged": gg_report.fit.converged, "used": gg_report.used },
        "models": models,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());

    if let Some(out_path) = out_path {
        let mut s = String::new();
        let header: Vec<String> = preds
            .iter()
            .flat_map(|p| COLS.iter().map(move |c| format!("{}_{c}", p.tag)))
            .collect();
        s.push_str(&header.join(","));
        s.push('\n');
        for i in 0..data.len() {
            let mut first = true;
            for p in &preds {
                for col in &p.cols {
                    if !first {
                        s.push(',');
                    }
                    first = false;
                    if col[i].is_finite() {
                        // Shortest representation that reads back to the same double.
                        write!(s, "{:?}", col[i]).unwrap();
                    }
                }
            }
            s.push('\n');
        }
        std::fs::write(out_path, s).unwrap();
    }
}
