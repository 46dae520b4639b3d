//! Per-customer intervals from the parameter uncertainty (`clientele_clv::intervals`): on
//! CDNOW every interval is finite and ordered and holds the point estimate for nearly every
//! customer, the totals' intervals hold the point totals, a seed gives the same result on any
//! number of threads, and intervals shrink as the number of customers grows.

#![allow(clippy::unwrap_used)]

mod common;

use clientele_clv::*;
use clientele_core::TimeUnit;
use common::{read_csv, simulate_bg_nbd};

struct Cdnow {
    data: CalibrationData,
    x: Vec<f64>,
    m: Vec<f64>,
}

/// The 2,357-customer CDNOW sample with each customer's mean repeat spend.
fn cdnow() -> Cdnow {
    let (_, c) = read_csv("cdnow_customers_summary_with_transactions.csv");
    let data = CalibrationData::new(c[1].clone(), c[2].clone(), c[3].clone()).unwrap();
    Cdnow {
        data,
        x: c[1].clone(),
        m: c[4].clone(),
    }
}

fn share_inside(b: &Bands) -> f64 {
    let inside = (0..b.point.len())
        .filter(|&i| b.lower[i] <= b.point[i] && b.point[i] <= b.upper[i])
        .count();
    inside as f64 / b.point.len() as f64
}

fn check_bands(b: &Bands) {
    for i in 0..b.point.len() {
        assert!(b.lower[i].is_finite() && b.upper[i].is_finite(), "row {i}");
        assert!(
            b.lower[i] <= b.upper[i],
            "row {i}: {} > {}",
            b.lower[i],
            b.upper[i]
        );
        assert!(b.lower[i] >= 0.0, "row {i}");
    }
    let share = share_inside(b);
    assert!(share >= 0.95, "point inside the interval for {share}");
}

fn check_band(b: &Band) {
    assert!(b.lower.is_finite() && b.upper.is_finite());
    assert!(b.lower <= b.point && b.point <= b.upper, "{b:?}");
}

/// A purchase model fitted to the sample with its covariance, and the spend model.
struct Fits {
    model: Model,
    cov: Vec<Vec<f64>>,
    spend: GammaGamma,
    spend_report: SpendFitReport,
}

impl Fits {
    fn of(kind: ModelKind, d: &Cdnow) -> Fits {
        let fitted = fit(kind, &d.data, &FitOptions::default()).unwrap();
        let (gg, spend_report) = GammaGamma::fit(&d.x, &d.m, &FitOptions::default()).unwrap();
        Fits {
            cov: fitted.report.log_covariance.clone().unwrap(),
            model: fitted.model,
            spend: gg.model,
            spend_report,
        }
    }

    fn spend<'a>(&'a self, d: &'a Cdnow) -> SpendInput<'a> {
        SpendInput {
            model: &self.spend,
            log_covariance: self.spend_report.log_covariance(),
            frequency: &d.x,
            monetary: &d.m,
            own_mean_above: self.spend_report.own_mean_above(),
        }
    }
}

fn run(kind: ModelKind, d: &Cdnow, draws: usize, seed: u64) -> CustomerIntervals {
    let f = Fits::of(kind, d);
    let opts = IntervalOptions::new(draws, seed, (0.05, 0.95)).unwrap();
    let clv = ClvOptions::lifetimes(TimeUnit::Weeks);
    let spend = f.spend(d);
    customer_intervals(&f.model, &f.cov, Some(&spend), &d.data, &clv, 39.0, &opts).unwrap()
}

#[test]
fn cdnow_intervals_are_finite_ordered_and_hold_the_point_estimates() {
    let d = cdnow();
    for (kind, draws) in [
        (ModelKind::BgNbd, 200),
        (ModelKind::MbgNbd, 200),
        (ModelKind::ParetoNbd, 40),
    ] {
        let r = run(kind, &d, draws, 42);
        eprintln!("{kind:?}: {:?}", r.report);
        assert_eq!(r.report.draws, draws);
        assert_eq!(r.report.used_draws + r.report.rejected_draws, draws);
        assert!(r.report.used_draws >= draws * 9 / 10);
        assert!(r.report.spend_parameters_varied);
        assert!(r.report.method.contains("not the customer's own"));
        check_bands(&r.purchases);
        let clv = r.clv.as_ref().unwrap();
        check_bands(clv);
        check_band(&r.report.total_purchases);
        check_band(r.report.total_clv.as_ref().unwrap());
        // The point estimates are the crate's own.
        let fitted = fit(kind, &d.data, &FitOptions::default()).unwrap();
        assert_eq!(
            r.purchases.point,
            fitted.model.expected_purchases_all(39.0, &d.data)
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_intervals_on_any_number_of_threads() {
    let d = cdnow();
    let a = run(ModelKind::BgNbd, &d, 100, 7);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = one.install(|| run(ModelKind::BgNbd, &d, 100, 7));
    assert_eq!(a, b);
    let c = run(ModelKind::BgNbd, &d, 100, 8);
    assert_ne!(a.purchases.lower, c.purchases.lower);
}

#[test]
fn full_cdnow_weighted_rows_count_in_the_totals() {
    let (_, c) = read_csv("cdnow_full_weekly.csv");
    let data =
        CalibrationData::with_weights(c[0].clone(), c[1].clone(), c[2].clone(), c[3].clone())
            .unwrap();
    let fitted = fit(ModelKind::BgNbd, &data, &FitOptions::default()).unwrap();
    let cov = fitted.report.log_covariance.unwrap();
    let opts = IntervalOptions::default();
    let clv = ClvOptions::lifetimes(TimeUnit::Weeks);
    let r = customer_intervals(&fitted.model, &cov, None, &data, &clv, 39.0, &opts).unwrap();
    assert!(r.clv.is_none() && r.report.total_clv.is_none());
    check_bands(&r.purchases);
    let t = r.report.total_purchases;
    check_band(&t);
    let want: f64 = (r.purchases.point.iter().zip(data.weights()))
        .map(|(p, w)| p * w)
        .sum();
    assert_eq!(t.point, want);
}

#[test]
fn bg_bb_intervals_on_the_donations() {
    let (_, c) = read_csv("donations.csv");
    let data =
        CalibrationData::with_weights(c[0].clone(), c[1].clone(), c[2].clone(), c[3].clone())
            .unwrap();
    let fitted = fit(ModelKind::BgBb, &data, &FitOptions::default()).unwrap();
    let cov = fitted.report.log_covariance.unwrap();
    let opts = IntervalOptions::new(100, 3, (0.1, 0.9)).unwrap();
    let clv = ClvOptions::new(5, 0.0, 1.0).unwrap();
    let r = customer_intervals(&fitted.model, &cov, None, &data, &clv, 5.0, &opts).unwrap();
    check_bands(&r.purchases);
    check_band(&r.report.total_purchases);
}

/// Mean interval width relative to the mean point estimate.
fn relative_width(b: &Bands) -> f64 {
    let width: f64 = (0..b.point.len()).map(|i| b.upper[i] - b.lower[i]).sum();
    width / b.point.iter().sum::<f64>()
}

/// `n` customers simulated from a BG/NBD with spend, both models fitted.
struct Simulated {
    data: CalibrationData,
    x: Vec<f64>,
    m: Vec<f64>,
    model: Model,
    cov: Vec<Vec<f64>>,
    spend: GammaGamma,
    spend_report: SpendFitReport,
}

impl Simulated {
    fn new(n: usize, seed: u64) -> Simulated {
        let (x, tx, t, m) = simulate_bg_nbd(n, [0.25, 4.0, 0.8, 2.5], seed);
        let data = CalibrationData::new(x.clone(), tx, t).unwrap();
        let fitted = fit(ModelKind::BgNbd, &data, &FitOptions::default()).unwrap();
        let (gg, spend_report) = GammaGamma::fit(&x, &m, &FitOptions::default()).unwrap();
        Simulated {
            data,
            x,
            m,
            model: fitted.model,
            cov: fitted.report.log_covariance.unwrap(),
            spend: gg.model,
            spend_report,
        }
    }

    /// The intervals of expected purchases in 39 weeks and of CLV.
    fn intervals(&self, opts: &IntervalOptions) -> CustomerIntervals {
        let spend = SpendInput {
            model: &self.spend,
            log_covariance: self.spend_report.log_covariance(),
            frequency: &self.x,
            monetary: &self.m,
            own_mean_above: self.spend_report.own_mean_above(),
        };
        let clv = ClvOptions::lifetimes(TimeUnit::Weeks);
        customer_intervals(
            &self.model,
            &self.cov,
            Some(&spend),
            &self.data,
            &clv,
            39.0,
            opts,
        )
        .unwrap()
    }
}

#[test]
fn intervals_shrink_as_customers_grow() {
    let widths: Vec<(f64, f64)> = [1_000, 50_000]
        .iter()
        .map(|&n| {
            let opts = IntervalOptions::new(100, 5, (0.05, 0.95)).unwrap();
            let r = Simulated::new(n, 11).intervals(&opts);
            check_bands(&r.purchases);
            check_bands(r.clv.as_ref().unwrap());
            (
                relative_width(&r.purchases),
                relative_width(r.clv.as_ref().unwrap()),
            )
        })
        .collect();
    eprintln!("relative widths 1k, 50k: {widths:?}");
    // √50 ≈ 7 in theory; ask for a clear factor.
    assert!(widths[0].0 > 3.0 * widths[1].0, "{widths:?}");
    assert!(widths[0].1 > 3.0 * widths[1].1, "{widths:?}");
}

#[test]
fn bad_options_and_covariances_are_errors() {
    assert!(IntervalOptions::new(0, 1, (0.05, 0.95)).is_err());
    assert!(IntervalOptions::new(10, 1, (0.0, 0.95)).is_err());
    assert!(IntervalOptions::new(10, 1, (0.05, 1.0)).is_err());
    assert!(IntervalOptions::new(10, 1, (0.95, 0.05)).is_err());
    let d = cdnow();
    let model = Model::BgNbd(BgNbd::new(0.24, 4.4, 0.79, 2.4).unwrap());
    let clv = ClvOptions::lifetimes(TimeUnit::Weeks);
    let opts = IntervalOptions::default();
    let three = vec![vec![0.0; 3]; 3];
    let e = customer_intervals(&model, &three, None, &d.data, &clv, 39.0, &opts).unwrap_err();
    assert!(matches!(e, ClvError::LengthMismatch { .. }), "{e}");
    let mut neg = vec![vec![0.0; 4]; 4];
    neg[0][0] = -1.0;
    let e = customer_intervals(&model, &neg, None, &d.data, &clv, 39.0, &opts).unwrap_err();
    assert!(matches!(e, ClvError::InvalidArgument { .. }), "{e}");
    let zero = vec![vec![0.0; 4]; 4];
    let e = customer_intervals(&model, &zero, None, &d.data, &clv, -1.0, &opts).unwrap_err();
    assert!(
        matches!(
            e,
            ClvError::InvalidArgument {
                name: "horizon",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn draws_far_outside_the_domain_are_rejected_and_counted() {
    // A huge spend covariance: most q draws fall at or below 1 (no finite mean) and are left
    // out, and the report says how many.
    let d = cdnow();
    let fitted = fit(ModelKind::BgNbd, &d.data, &FitOptions::default()).unwrap();
    let cov = fitted.report.log_covariance.unwrap();
    let (gg, _) = GammaGamma::fit(&d.x, &d.m, &FitOptions::default()).unwrap();
    let mut wide = vec![vec![0.0; 3]; 3];
    wide[1][1] = 4.0;
    let spend = SpendInput {
        model: &gg.model,
        log_covariance: Some(&wide),
        frequency: &d.x,
        monetary: &d.m,
        own_mean_above: None,
    };
    let opts = IntervalOptions::new(200, 1, (0.05, 0.95)).unwrap();
    let clv = ClvOptions::lifetimes(TimeUnit::Weeks);
    let r = customer_intervals(
        &fitted.model,
        &cov,
        Some(&spend),
        &d.data,
        &clv,
        39.0,
        &opts,
    )
    .unwrap();
    assert!(r.report.rejected_draws > 0, "{:?}", r.report);
    assert_eq!(r.report.used_draws + r.report.rejected_draws, 200);
    check_band(r.report.total_clv.as_ref().unwrap());
}

/// Largest gap between the linearised and the drawn band ends, over customers, in units of
/// the drawn band's half width (the draws' own Monte Carlo error is about 0.1 of it).
fn linear_gap(drawn: &Bands, linear: &Bands) -> f64 {
    (0..drawn.point.len())
        .map(|i| {
            let half = 0.5 * (drawn.upper[i] - drawn.lower[i]);
            let gap = (drawn.lower[i] - linear.lower[i])
                .abs()
                .max((drawn.upper[i] - linear.upper[i]).abs());
            if half > 0.0 { gap / half } else { 0.0 }
        })
        .fold(0.0, f64::max)
}

#[test]
fn linearised_bands_match_the_draws_when_customers_are_many() {
    let sim = Simulated::new(100_000, 5);
    let run = |method: IntervalMethod| {
        let opts = IntervalOptions::new(1_000, 3, (0.05, 0.95))
            .unwrap()
            .with_method(method);
        sim.intervals(&opts)
    };
    // 100,000 customers are below the automatic switch: draws
    let auto = run(IntervalMethod::Auto);
    assert!(!auto.report.linear);
    let drawn = run(IntervalMethod::Draws);
    assert_eq!(auto, drawn);
    let linear = run(IntervalMethod::Linear);
    assert!(linear.report.linear, "{:?}", linear.report);
    assert_eq!(linear.report.used_draws, 0);
    assert!(linear.report.method.contains("linearised"));
    assert_eq!(linear.purchases.point, drawn.purchases.point);
    check_bands(&linear.purchases);
    check_bands(linear.clv.as_ref().unwrap());
    for b in [&linear.purchases, linear.clv.as_ref().unwrap()] {
        assert!((0..b.point.len()).all(|i| b.lower[i] <= b.point[i] && b.point[i] <= b.upper[i]));
    }
    let gaps = (
        linear_gap(&drawn.purchases, &linear.purchases),
        linear_gap(drawn.clv.as_ref().unwrap(), linear.clv.as_ref().unwrap()),
    );
    eprintln!("largest gap, in drawn half widths (purchases, CLV): {gaps:?}");
    assert!(gaps.0 < 0.15 && gaps.1 < 0.15, "{gaps:?}");
    let total = |d: &Band, l: &Band| {
        let half = 0.5 * (d.upper - d.lower);
        ((d.lower - l.lower).abs().max((d.upper - l.upper).abs())) / half
    };
    let tp = total(
        &drawn.report.total_purchases,
        &linear.report.total_purchases,
    );
    let tc = total(
        drawn.report.total_clv.as_ref().unwrap(),
        linear.report.total_clv.as_ref().unwrap(),
    );
    eprintln!("totals' gap: {tp}, {tc}");
    assert!(tp < 0.15 && tc < 0.15, "{tp} {tc}");
}

/// Intervals around the point estimates a caller made with the crate's functions are the
/// intervals that make them: the same bands to the bit, drawn or linearised; points of the
/// wrong length are refused.
#[test]
fn intervals_around_the_callers_point_estimates_are_those_made_here() {
    let d = cdnow();
    let f = Fits::of(ModelKind::MbgNbd, &d);
    let (fitted_model, cov, spend) = (&f.model, &f.cov, f.spend(&d));
    let clv_opts = ClvOptions::lifetimes(TimeUnit::Weeks);
    let purchases = fitted_model.expected_purchases_all(39.0, &d.data);
    let values = f
        .spend
        .expected_average_values_with(&d.x, &d.m, f.spend_report.own_mean_above())
        .unwrap();
    let clv = clientele_clv::clv::clv(fitted_model, &d.data, &values, &clv_opts).unwrap();
    let points = PointEstimates {
        purchases,
        values: Some(values),
        clv: Some(clv.clone()),
    };
    for method in [IntervalMethod::Draws, IntervalMethod::Linear] {
        let opts = IntervalOptions::new(60, 3, (0.05, 0.95))
            .unwrap()
            .with_method(method);
        // without a spend model only the purchases are read
        for spend in [Some(&spend), None] {
            let (m, c, data) = (fitted_model, cov, &d.data);
            let made = customer_intervals(m, c, spend, data, &clv_opts, 39.0, &opts).unwrap();
            let given = Some(points.clone());
            let around =
                customer_intervals_around(m, c, spend, data, &clv_opts, 39.0, &opts, given)
                    .unwrap();
            assert_eq!(made, around, "{method:?}, spend model {}", spend.is_some());
        }
    }
    let short = PointEstimates {
        clv: Some(clv[1..].to_vec()),
        ..points
    };
    let opts = IntervalOptions::new(60, 3, (0.05, 0.95)).unwrap();
    let e = customer_intervals_around(
        fitted_model,
        cov,
        Some(&spend),
        &d.data,
        &clv_opts,
        39.0,
        &opts,
        Some(short),
    )
    .unwrap_err();
    assert!(
        matches!(e, ClvError::LengthMismatch { column: "clv", .. }),
        "{e}"
    );
}
