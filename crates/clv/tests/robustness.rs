//! Bad input gives typed errors; heavy buyers and long horizons stay finite; invariants hold.

#![allow(clippy::unwrap_used)]

use clientele_clv::*;
use proptest::prelude::*;

fn data(x: &[f64], tx: &[f64], t: &[f64]) -> Result<CalibrationData> {
    CalibrationData::new(x.to_vec(), tx.to_vec(), t.to_vec())
}

#[test]
fn each_input_rule_has_its_typed_error() {
    assert_eq!(data(&[], &[], &[]), Err(ClvError::Empty));
    assert!(matches!(
        data(&[1.0], &[1.0, 2.0], &[3.0]),
        Err(ClvError::LengthMismatch {
            column: "recency",
            ..
        })
    ));
    assert_eq!(
        data(&[f64::NAN, 1.0], &[0.0, 1.0], &[2.0, 2.0]),
        Err(ClvError::NonFinite {
            column: "frequency",
            count: 1
        })
    );
    assert_eq!(
        data(&[-1.0, -2.0], &[0.0, 0.0], &[2.0, 2.0]),
        Err(ClvError::NegativeFrequency { count: 2 })
    );
    assert_eq!(
        data(&[1.5], &[1.0], &[2.0]),
        Err(ClvError::NonIntegerFrequency { count: 1 })
    );
    assert_eq!(
        data(&[1.0], &[-1.0], &[2.0]),
        Err(ClvError::NegativeRecency { count: 1 })
    );
    assert_eq!(
        data(&[1.0, 2.0], &[3.0, 1.0], &[2.0, 2.0]),
        Err(ClvError::RecencyAboveT { count: 1 })
    );
    assert_eq!(
        data(&[0.0], &[1.0], &[2.0]),
        Err(ClvError::ZeroFrequencyNonZeroRecency { count: 1 })
    );
    assert_eq!(
        CalibrationData::with_weights(vec![1.0], vec![1.0], vec![2.0], vec![0.0]),
        Err(ClvError::BadWeight { count: 1 })
    );
    let frac = data(&[1.0], &[1.5], &[2.0]).unwrap();
    assert!(matches!(
        frac.check_discrete(),
        Err(ClvError::DiscreteRule { count: 1, .. })
    ));
    assert!(matches!(
        BgBb::fit(&frac, &FitOptions::default()),
        Err(ClvError::DiscreteRule { .. })
    ));
}

#[test]
fn spend_rules_have_typed_errors() {
    let o = FitOptions::default();
    assert_eq!(
        GammaGamma::fit(&[1.0, 2.0, 0.0], &[0.0, -3.0, 0.0], &o).unwrap_err(),
        ClvError::NoPositiveSpend {
            zero_or_negative: 2
        }
    );
    assert_eq!(
        GammaGamma::fit(&[1.0], &[f64::INFINITY], &o).unwrap_err(),
        ClvError::NonFinite {
            column: "monetary_value",
            count: 1
        }
    );
    assert!(matches!(
        GammaGamma::fit(&[], &[], &o),
        Err(ClvError::Empty)
    ));
}

#[test]
fn invalid_parameters_and_arguments_are_rejected() {
    assert!(matches!(
        BgNbd::new(0.0, 1.0, 1.0, 1.0),
        Err(ClvError::InvalidParameter { name: "r", .. })
    ));
    assert!(matches!(
        ParetoNbd::new(1.0, f64::NAN, 1.0, 1.0),
        Err(ClvError::InvalidParameter { name: "alpha", .. })
    ));
    assert!(ClvOptions::new(12, -2.0, 4.345).is_err());
    assert!(ClvOptions::new(12, 0.01, 0.0).is_err());
    let p = ParetoNbd::new(0.55, 10.6, 0.6, 11.7).unwrap();
    assert!(matches!(
        p.dert(0.0, 1.0, 1.0, 2.0),
        Err(ClvError::InvalidArgument { .. })
    ));
    let opts = FitOptions {
        penalizer: -1.0,
        ..FitOptions::default()
    };
    let d = data(&[1.0, 0.0], &[1.0, 0.0], &[2.0, 2.0]).unwrap();
    assert!(matches!(
        fit(ModelKind::BgNbd, &d, &opts),
        Err(ClvError::InvalidArgument {
            name: "penalizer",
            ..
        })
    ));
}

const KINDS: [ModelKind; 4] = [
    ModelKind::BgNbd,
    ModelKind::MbgNbd,
    ModelKind::ParetoNbd,
    ModelKind::BgBb,
];

#[test]
fn no_repeat_purchases_is_its_own_error() {
    // Before: "the information matrix at the optimum is not positive definite".
    let n = 500;
    let t: Vec<f64> = (0..n).map(|i| f64::from(5 + i % 40)).collect();
    let d = data(&vec![0.0; n as usize], &vec![0.0; n as usize], &t).unwrap();
    for k in KINDS {
        let e = fit(k, &d, &FitOptions::default()).unwrap_err();
        assert_eq!(e, ClvError::NoRepeatPurchases { customers: 500 }, "{k:?}");
        assert!(
            e.to_string()
                .starts_with("no customer bought more than once (500 customers)")
        );
    }
}

#[test]
fn zero_observation_time_is_its_own_error() {
    let d = data(&[0.0; 20], &[0.0; 20], &[0.0; 20]).unwrap();
    for k in KINDS {
        assert_eq!(
            fit(k, &d, &FitOptions::default()).unwrap_err(),
            ClvError::ZeroObservationTime { customers: 20 },
            "{k:?}"
        );
    }
}

#[test]
fn too_few_customers_or_repeat_customers_are_named() {
    let d = data(&[1.0, 0.0, 2.0], &[3.0, 0.0, 4.0], &[5.0, 5.0, 5.0]).unwrap();
    assert_eq!(
        fit(ModelKind::BgNbd, &d, &FitOptions::default()).unwrap_err(),
        ClvError::TooFewCustomers {
            model: "bg_nbd",
            what: "customers",
            found: 3,
            minimum: MIN_CUSTOMERS
        }
    );
    // 30 customers but only two of them came back: fewer than the four parameters.
    let mut x = vec![0.0; 30];
    let mut tx = vec![0.0; 30];
    (x[0], tx[0], x[1], tx[1]) = (1.0, 3.0, 2.0, 4.0);
    let d = data(&x, &tx, &[6.0; 30]).unwrap();
    let e = fit(ModelKind::ParetoNbd, &d, &FitOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            ClvError::TooFewCustomers {
                model: "pareto_nbd",
                found: 2,
                minimum: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        GammaGamma::fit(&[1.0, 2.0, 0.0], &[10.0, 20.0, 0.0], &FitOptions::default()).unwrap_err(),
        ClvError::TooFewCustomers {
            model: "gamma_gamma",
            what: "repeat customers with spend > 0",
            found: 2,
            minimum: 3
        }
    );
}

fn models() -> Vec<Model> {
    vec![
        Model::BgNbd(BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap()),
        Model::BgNbd(BgNbd::new(0.2426, 4.4135, 1.0, 2.4258).unwrap()),
        Model::MbgNbd(MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap()),
        Model::ParetoNbd(ParetoNbd::new(0.5533, 10.5778, 0.6062, 11.6669).unwrap()),
        Model::ParetoNbd(ParetoNbd::new(0.5533, 15.0, 0.6062, 3.0).unwrap()),
    ]
}

#[test]
fn heavy_buyers_and_long_horizons_stay_finite() {
    for m in models() {
        for x in [300.0, 500.0, 1000.0] {
            for (tx, t) in [(2990.0, 3000.0), (100.0, 3000.0), (3000.0, 3000.0)] {
                let p = m.p_alive(x, tx, t);
                assert!((0.0..=1.0).contains(&p), "{m:?} {x} {tx} {t}: {p}");
                assert!(m.row_log_likelihood(x, tx, t).is_finite(), "{m:?} {x} {tx}");
                for h in [30.0, 365.0, 3650.0] {
                    let e = m.expected_purchases(h, x, tx, t);
                    assert!(e.is_finite() && e >= 0.0, "{m:?} x={x} tx={tx} h={h}: {e}");
                }
            }
        }
        let e = m.expected_purchases_new(3650.0);
        assert!(e.is_finite() && e > 0.0);
    }
    let bgbb = BgBb::new(1.2, 0.75, 0.66, 2.78).unwrap();
    assert!(
        bgbb.expected_purchases(3650.0, 300.0, 900.0, 1000.0)
            .is_finite()
    );
    let p = ParetoNbd::new(0.5533, 10.5778, 0.6062, 11.6669).unwrap();
    assert!(p.dert(0.0003, 1000.0, 2990.0, 3000.0).unwrap().is_finite());
}

/// The default model (MBG/NBD) must fit whatever the data: here CDNOW's 1/10 sample (in days)
/// observed 1 to 100 years longer without a purchase, where every customer has lapsed and the
/// Pareto/NBD's fit stalls (its dropout heterogeneity vanishes, s and β grow without bound).
/// P(alive) falls towards 0 the longer the silence, also for one-time buyers.
#[test]
fn mbg_nbd_fits_when_every_customer_lapsed_long_ago() {
    let text = include_str!("data/cdnow_customers_summary_with_transactions.csv");
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); 4];
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        for (c, f) in cols.iter_mut().zip(line.split(',')) {
            c.push(f.trim().parse().unwrap());
        }
    }
    let days = |v: &[f64], add: f64| v.iter().map(|w| w * 7.0 + add).collect::<Vec<f64>>();
    let mut last_mean = 1.0;
    for years in [0.0, 1.0, 5.0, 30.0, 100.0] {
        let add = years * 365.0;
        let d = data(&cols[1], &days(&cols[2], 0.0), &days(&cols[3], add))
            .unwrap()
            .compress();
        let f = fit(ModelKind::MbgNbd, &d, &FitOptions::default()).unwrap();
        assert!(f.report.converged, "{years} years: {:?}", f.report);
        assert!(f.report.iterations < 100, "{years} years: {:?}", f.report);
        let p = f.model.p_alive_all(&d);
        assert!(p.iter().all(|p| (0.0..=1.0).contains(p)), "{years} years");
        let mean = p.iter().sum::<f64>() / p.len() as f64;
        assert!(mean < last_mean, "{years} years: mean P(alive) {mean}");
        last_mean = mean;
        // one-time buyers are not certain to be alive, and less likely the longer ago
        let once = |t: f64| f.model.p_alive(0.0, 0.0, t);
        assert!(once(30.0 + add) < 1.0 && once(300.0 + add) < once(30.0 + add));
    }
    assert!(last_mean < 1e-3, "{last_mean}");
}

#[test]
fn dert_equals_the_discounted_integral_of_expected_purchases() {
    // DERT = ∫ e^(−δh) dE(h) = δ ∫ e^(−δh) E(h) dh (integration by parts), numerically.
    let p = ParetoNbd::new(0.5533, 10.5778, 0.6062, 11.6669).unwrap();
    let (x, tx, t, d) = (4.0, 20.0, 35.0, 0.02);
    let mut integral = 0.0;
    let (n, hmax) = (200_000, 3000.0);
    let step = hmax / n as f64;
    for k in 0..n {
        let h = (k as f64 + 0.5) * step;
        integral += d * (-d * h).exp() * p.expected_purchases(h, x, tx, t) * step;
    }
    let dert = p.dert(d, x, tx, t).unwrap();
    assert!((integral / dert - 1.0).abs() < 1e-6, "{integral} vs {dert}");
}

#[test]
fn holdout_report_compares_with_the_baseline() {
    let m = Model::BgNbd(BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap());
    let d = data(&[0.0, 1.0, 8.0], &[0.0, 10.0, 30.0], &[38.0, 38.0, 38.0]).unwrap();
    let r = holdout_validation(&m, &d, 39.0, &[0.0, 1.0, 6.0]).unwrap();
    assert_eq!(r.predicted.len(), 3);
    assert_eq!(r.model.sum_actual, 7.0);
    assert_eq!(
        r.by_frequency
            .iter()
            .map(|g| g.frequency.as_str())
            .collect::<Vec<_>>(),
        ["0", "1", "7+"]
    );
    assert!((r.baseline.sum_predicted - (1.0 + 8.0) / 38.0 * 39.0).abs() < 1e-12);
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("by_frequency"));
    assert!(holdout_validation(&m, &d, 39.0, &[0.0]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn euler_transformation_identity(a in 0.1f64..20.0, b in 0.1f64..20.0, c in 0.5f64..30.0, z in 0.0f64..0.95) {
        // ln 2F1(a,b;c;z) = (c−a−b) ln(1−z) + ln 2F1(c−a,c−b;c;z) when both sides are positive.
        let lhs = hyp2f1::ln_hyp2f1(a, b, c, z);
        let rhs = (c - a - b) * (-z).ln_1p() + hyp2f1::ln_hyp2f1(c - a, c - b, c, z);
        if rhs.is_finite() {
            prop_assert!((lhs - rhs).abs() <= 1e-10 * (1.0 + lhs.abs()), "{} vs {}", lhs, rhs);
        }
        // Symmetry in a, b.
        prop_assert!((lhs - hyp2f1::ln_hyp2f1(b, a, c, z)).abs() <= 1e-12 * (1.0 + lhs.abs()));
    }

    #[test]
    fn predictions_are_probabilities_and_monotone(
        mi in 0usize..5, x in 0u32..200, frac in 0.0f64..1.0, t in 0.5f64..3000.0,
        h1 in 0.0f64..2000.0, dh in 0.0f64..2000.0,
    ) {
        let m = models()[mi];
        let x = f64::from(x);
        let tx = if x == 0.0 { 0.0 } else { frac * t };
        let p = m.p_alive(x, tx, t);
        prop_assert!((0.0..=1.0).contains(&p));
        let e1 = m.expected_purchases(h1, x, tx, t);
        let e2 = m.expected_purchases(h1 + dh, x, tx, t);
        prop_assert!(e1.is_finite() && e1 >= 0.0);
        prop_assert!(e2 >= e1 * (1.0 - 1e-12), "{} then {}", e1, e2);
    }
}
