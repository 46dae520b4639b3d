//! Static covariates on CLVTools' apparel data against the published CLVTools results
//! (Meierer et al., "Estimating Individual Customer Lifetime Values with R: The CLVTools
//! Package"; values in `/work/shared/data/apparel/README.md`), a BG/NBD recovery on simulated
//! data with known coefficients, and the design's input errors.
//!
//! Summary in CLVTools' convention: weeks, transactions on the same day merged, time from each
//! customer's first purchase, estimation period 104 weeks from the first purchase
//! (`estimation.split = 104`: 2005-01-02 + 728 days = 2006-12-31, transactions on that day
//! included), so T = 104 for all 600 customers.

#![allow(clippy::unwrap_used)]

mod common;

use clientele_clv::*;
use common::data_path;

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
fn days(date: &str) -> i64 {
    let mut it = date.split('-').map(|p| p.parse::<i64>().unwrap());
    let (y, m, d) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Rows of a CLVTools CSV export (`"",Id,...`), without the header, quotes stripped.
fn rows(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(data_path(name)).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|f| f.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

/// Customer ids in order, the (x, tₓ, T) summary and the Gender/Channel covariates.
fn apparel() -> (CalibrationData, Covariates) {
    let split = days("2005-01-02") + 104 * 7;
    assert_eq!(split, days("2006-12-31"));
    let mut by_id: std::collections::BTreeMap<u32, Vec<i64>> = Default::default();
    for r in rows("apparel/apparel_trans.csv") {
        by_id
            .entry(r[1].parse().unwrap())
            .or_default()
            .push(days(&r[2]));
    }
    let (mut x, mut tx, mut t) = (vec![], vec![], vec![]);
    for d in by_id.values_mut() {
        d.sort_unstable();
        d.dedup();
        let first = d[0];
        assert_eq!(first, days("2005-01-02"));
        let cal: Vec<i64> = d.iter().copied().filter(|&v| v <= split).collect();
        x.push((cal.len() - 1) as f64);
        tx.push((cal[cal.len() - 1] - first) as f64 / 7.0);
        t.push((split - first) as f64 / 7.0);
    }
    assert_eq!(x.len(), 600);
    let cov_rows = rows("apparel/apparel_static_cov.csv");
    let ids: Vec<u32> = by_id.keys().copied().collect();
    let mut gender = vec![f64::NAN; 600];
    let mut channel = vec![f64::NAN; 600];
    for r in &cov_rows {
        let i = ids.binary_search(&r[1].parse().unwrap()).unwrap();
        gender[i] = r[2].parse().unwrap();
        channel[i] = r[3].parse().unwrap();
    }
    let cov =
        Covariates::from_columns(vec![("Gender".into(), gender), ("Channel".into(), channel)])
            .unwrap();
    (CalibrationData::new(x, tx, t).unwrap(), cov)
}

/// |got − want| within half a unit of the last printed digit.
#[track_caller]
fn printed(got: f64, want: f64, decimals: i32) {
    let half = 0.5 * 10f64.powi(-decimals);
    assert!(
        (got - want).abs() <= half,
        "got {got}, published {want} ({decimals} decimals)"
    );
}

/// CLVTools' published Pareto/NBD estimates (r, α, s, β) without covariates.
const PLAIN: [f64; 4] = [1.4490, 48.636, 0.5613, 46.884];
/// ... and with Gender and Channel on both processes (r, α, s, β, trans.Gender,
/// trans.Channel, life.Gender, life.Channel).
const WITH_COVARIATES: [f64; 8] = [
    1.8378, 92.9123, 0.5920, 49.6227, 0.2859, 0.6241, -0.6430, 0.7907,
];

/// The estimates agree with the published ones to 1 % of a standard error.
///
/// Not to the printed digits: the likelihood is flat along a ridge and CLVTools' L-BFGS-B
/// (numeric gradients, optimx defaults) stops short of its top. Measured: without covariates
/// our point and the published one have the same LL to 1e-6 and differ by at most 4e-5
/// relative (r 1.44894, α 48.6349, β 46.8821); with covariates the published point's LL is
/// 2.3e-5 below ours (both print as −5821.0627) and the estimates differ by at most 0.004
/// standard errors (r 1.83897, α 92.963, s 0.59130, β 49.513; γ 0.28614, 0.62393, −0.64187,
/// 0.78976), at a gradient norm below 1e-9 here.
#[track_caller]
fn on_the_published_ridge(got: &[f64], se: &[f64], published: &[f64]) {
    assert_eq!(got.len(), published.len());
    for i in 0..got.len() {
        assert!(
            (got[i] - published[i]).abs() <= 0.01 * se[i],
            "estimate {i}: {} vs published {} (se {})",
            got[i],
            published[i],
            se[i]
        );
    }
}

#[test]
fn pareto_nbd_with_gender_and_channel_matches_clvtools() {
    let (data, cov) = apparel();
    let opts = FitOptions::default();
    let fit = fit_with_covariates(
        CovariateModel::ParetoNbd,
        &data,
        &cov,
        &CovariateOptions::default(),
        &opts,
    )
    .unwrap();

    // Without covariates: r 1.4490, α 48.636, s 0.5613, β 46.884, LL −5848.0978.
    let plain = &fit.without_covariates;
    printed(plain.log_likelihood, -5848.0978, 4);
    let se = plain.std_errors.as_ref().unwrap();
    for (got, want) in se
        .iter()
        .zip([(0.243, 3), (7.489, 3), (0.271, 3), (35.61, 2)])
    {
        printed(*got, want.0, want.1);
    }
    on_the_published_ridge(&plain.params, se, &PLAIN);

    assert!(fit.converged, "{fit:?}");
    assert_eq!(
        fit.coefficient_names,
        [
            "trans.Gender",
            "trans.Channel",
            "life.Gender",
            "life.Channel"
        ]
    );
    printed(fit.log_likelihood, -5821.0627, 4);
    let est: Vec<f64> = fit
        .params
        .iter()
        .chain(&fit.coefficients)
        .copied()
        .collect();
    let se: Vec<f64> = [&fit.param_std_errors, &fit.coefficient_std_errors]
        .iter()
        .flat_map(|v| v.as_ref().unwrap().clone())
        .collect();
    on_the_published_ridge(&est, &se, &WITH_COVARIATES);
    // The published point is on the same ridge, a little below its top: its LL prints the
    // same but is lower than ours.
    let at_published = {
        let mut f = fit.clone();
        f.params = WITH_COVARIATES[..4].to_vec();
        f.trans_effects = WITH_COVARIATES[4..6].to_vec();
        f.life_effects = WITH_COVARIATES[6..].to_vec();
        (0..data.len())
            .map(|i| {
                f.customer_model(cov.row(i)).unwrap().row_log_likelihood(
                    data.frequency()[i],
                    data.recency()[i],
                    data.age()[i],
                )
            })
            .sum::<f64>()
    };
    printed(at_published, -5821.0627, 4);
    assert!(
        fit.log_likelihood > at_published,
        "{} vs {at_published}",
        fit.log_likelihood
    );
    assert_eq!(fit.lr_test.df, 4);
    printed(fit.lr_test.statistic, 2.0 * (5848.0978 - 5821.0627), 3);

    // Gender constrained to one coefficient on both processes: LL −5826.5342, LR χ² 10.943.
    let constrained = fit_with_covariates(
        CovariateModel::ParetoNbd,
        &data,
        &cov,
        &CovariateOptions {
            on: CovariatesOn::Both,
            constrained: vec!["Gender".into()],
        },
        &opts,
    )
    .unwrap();
    assert_eq!(
        constrained.coefficient_names,
        ["trans.Channel", "life.Channel", "constr.Gender"]
    );
    printed(constrained.log_likelihood, -5826.5342, 4);
    let lr = fit.lr_test_against(&constrained).unwrap();
    assert_eq!(lr.df, 1);
    printed(lr.statistic, 10.943, 3);
    assert!((lr.p_value - 0.00094).abs() < 5e-6, "{lr:?}");

    // Per-customer predictions are the customer's own Pareto/NBD.
    let p = fit.p_alive_all(&data, &cov).unwrap();
    let e = fit.expected_purchases_all(52.0, &data, &cov).unwrap();
    for i in [0, 1, 17, 599] {
        let m = fit.customer_model(cov.row(i)).unwrap();
        let (x, tx, t) = (data.frequency()[i], data.recency()[i], data.age()[i]);
        assert_eq!(p[i], m.p_alive(x, tx, t));
        assert_eq!(e[i], m.expected_purchases(52.0, x, tx, t));
    }
    let json = serde_json::to_string(&fit).unwrap();
    let back: CovariateFit = serde_json::from_str(&json).unwrap();
    assert_eq!(back, fit);
}

/// BG/NBD customers with covariates (z₁ ~ Bernoulli(½), z₂ ~ N(0, 1)) in CLVTools'
/// parameterisation, first purchase at 0 and observed to T ∈ [26, 52] weeks.
fn simulate_bg_nbd(n: usize, seed: u64, truth: &[f64; 8]) -> (CalibrationData, Covariates) {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Beta, Distribution, Exp, Gamma, Normal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let [r, alpha, a, b, gt1, gt2, gl1, gl2] = *truth;
    let normal = Normal::new(0.0, 1.0).unwrap();
    let (mut x, mut tx, mut t, mut z1, mut z2) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let (c1, c2): (f64, f64) = (f64::from(rng.random_bool(0.5)), normal.sample(&mut rng));
        let alpha_i = alpha * (-(gt1 * c1 + gt2 * c2)).exp();
        let life = (gl1 * c1 + gl2 * c2).exp();
        let lambda = Gamma::new(r, 1.0 / alpha_i).unwrap().sample(&mut rng);
        let p = Beta::new(a * life, b * life).unwrap().sample(&mut rng);
        let age = rng.random_range(26.0..52.0);
        let wait = Exp::new(lambda).unwrap();
        let (mut now, mut count, mut last) = (0.0, 0.0, 0.0);
        loop {
            now += wait.sample(&mut rng);
            if now > age {
                break;
            }
            count += 1.0;
            last = now;
            if rng.random::<f64>() < p {
                break;
            }
        }
        x.push(count);
        tx.push(last);
        t.push(age);
        z1.push(c1);
        z2.push(c2);
    }
    let cov = Covariates::from_columns(vec![("z1".into(), z1), ("z2".into(), z2)]).unwrap();
    (CalibrationData::new(x, tx, t).unwrap(), cov)
}

#[test]
fn bg_nbd_with_covariates_recovers_known_coefficients() {
    // r, α, a, b, trans.z1, trans.z2, life.z1, life.z2
    let truth = [0.8, 6.0, 0.7, 2.5, 0.5, -0.3, 0.6, 0.3];
    let (data, cov) = simulate_bg_nbd(20_000, 21, &truth);
    let fit = fit_with_covariates(
        CovariateModel::BgNbd,
        &data,
        &cov,
        &CovariateOptions::default(),
        &FitOptions::default(),
    )
    .unwrap();
    assert!(fit.converged, "{fit:?}");
    assert_eq!(fit.param_names, ["r", "alpha", "a", "b"]);
    assert_eq!(
        fit.coefficient_names,
        ["trans.z1", "trans.z2", "life.z1", "life.z2"]
    );
    let est: Vec<f64> = fit
        .params
        .iter()
        .chain(&fit.coefficients)
        .copied()
        .collect();
    let se: Vec<f64> = [&fit.param_std_errors, &fit.coefficient_std_errors]
        .iter()
        .flat_map(|v| v.as_ref().unwrap().clone())
        .collect();
    for i in 0..8 {
        assert!(
            (est[i] - truth[i]).abs() <= 4.0 * se[i],
            "estimate {i}: {} vs truth {} (se {})",
            est[i],
            truth[i],
            se[i]
        );
    }
    // The covariates matter: the model without them is rejected.
    assert_eq!(fit.lr_test.df, 4);
    assert!(fit.lr_test.p_value < 1e-10, "{:?}", fit.lr_test);

    // Purchase-only and dropout-only designs nest in the full one.
    for on in [CovariatesOn::Purchase, CovariatesOn::Dropout] {
        let part = fit_with_covariates(
            CovariateModel::BgNbd,
            &data,
            &cov,
            &CovariateOptions {
                on,
                constrained: vec![],
            },
            &FitOptions::default(),
        )
        .unwrap();
        assert_eq!(part.coefficients.len(), 2);
        assert!(part.log_likelihood < fit.log_likelihood);
        assert_eq!(fit.lr_test_against(&part).unwrap().df, 2);
    }

    // A customer's BG/NBD has the covariate-shifted α, a and b.
    let m = fit.customer_model(&[1.0, 0.5]).unwrap();
    let p = m.params();
    let eta_t = fit.coefficients[0] + 0.5 * fit.coefficients[1];
    let eta_l = fit.coefficients[2] + 0.5 * fit.coefficients[3];
    assert_eq!(p[0], fit.params[0]);
    assert!((p[1] / (fit.params[1] * (-eta_t).exp()) - 1.0).abs() < 1e-14);
    assert!((p[2] / (fit.params[2] * eta_l.exp()) - 1.0).abs() < 1e-14);
    assert!((p[3] / (fit.params[3] * eta_l.exp()) - 1.0).abs() < 1e-14);
}

fn two_columns(a: Vec<f64>, b: Vec<f64>) -> Result<Covariates> {
    Covariates::from_columns(vec![("Gender".into(), a), ("Channel".into(), b)])
}

#[test]
fn a_constant_covariate_is_an_error_naming_it() {
    let e = two_columns(vec![0.0, 1.0, 0.0], vec![1.0; 3]).unwrap_err();
    assert!(
        matches!(&e, ClvError::BadCovariate { column, problem: CovariateProblem::Constant { .. } } if column == "Channel"),
        "{e:?}"
    );
    assert!(e.to_string().contains("single level"), "{e}");
}

#[test]
fn collinear_covariates_are_an_error_naming_the_columns() {
    // Channel = 1 − Gender.
    let e = two_columns(vec![0.0, 1.0, 1.0, 0.0], vec![1.0, 0.0, 0.0, 1.0]).unwrap_err();
    assert_eq!(
        e,
        ClvError::BadCovariate {
            column: "Channel".into(),
            problem: CovariateProblem::Collinear {
                with: vec!["Gender".into()]
            }
        }
    );
}

#[test]
fn a_nan_covariate_is_an_error_naming_it() {
    let e = two_columns(vec![0.0, f64::NAN, 1.0], vec![0.0, 1.0, 1.0]).unwrap_err();
    assert_eq!(
        e,
        ClvError::BadCovariate {
            column: "Gender".into(),
            problem: CovariateProblem::NonFinite { count: 1 }
        }
    );
}

#[test]
fn a_design_that_does_not_fit_the_data_or_options_is_an_error() {
    let (data, cov) = apparel();
    let short = two_columns(vec![0.0, 1.0, 1.0], vec![1.0, 0.0, 1.0]).unwrap();
    let fit = |cov: &Covariates, opts: CovariateOptions| {
        fit_with_covariates(
            CovariateModel::ParetoNbd,
            &data,
            cov,
            &opts,
            &FitOptions::default(),
        )
    };
    assert!(matches!(
        fit(&short, CovariateOptions::default()),
        Err(ClvError::LengthMismatch {
            expected: 600,
            actual: 3,
            ..
        })
    ));
    let unknown = CovariateOptions {
        on: CovariatesOn::Both,
        constrained: vec!["Age".into()],
    };
    assert!(matches!(
        fit(&cov, unknown),
        Err(ClvError::BadCovariate { column, problem: CovariateProblem::Unknown }) if column == "Age"
    ));
    let one_process = CovariateOptions {
        on: CovariatesOn::Purchase,
        constrained: vec!["Gender".into()],
    };
    assert!(matches!(
        fit(&cov, one_process),
        Err(ClvError::BadCovariate {
            problem: CovariateProblem::ConstraintNeedsBoth,
            ..
        })
    ));
}

#[test]
fn customer_models_match_covariate_columns_by_name() {
    let (data, cov) = apparel();
    let fit = fit_with_covariates(
        CovariateModel::ParetoNbd,
        &data,
        &cov,
        &CovariateOptions {
            on: CovariatesOn::Purchase,
            constrained: vec![],
        },
        &FitOptions::default(),
    )
    .unwrap();
    assert_eq!(fit.coefficient_names, ["trans.Gender", "trans.Channel"]);
    assert_eq!(fit.life_effects, [0.0, 0.0]);
    let rows: Vec<Vec<f64>> = (0..cov.len())
        .map(|i| vec![cov.row(i)[1], cov.row(i)[0]])
        .collect();
    let swapped = Covariates::from_rows(vec!["Channel".into(), "Gender".into()], &rows).unwrap();
    assert_eq!(
        fit.customer_models(&swapped).unwrap(),
        fit.customer_models(&cov).unwrap()
    );
    let only_gender = Covariates::from_columns(vec![(
        "Gender".into(),
        (0..cov.len()).map(|i| cov.row(i)[0]).collect(),
    )])
    .unwrap();
    assert!(matches!(
        fit.customer_models(&only_gender),
        Err(ClvError::BadCovariate { column, problem: CovariateProblem::Unknown }) if column == "Channel"
    ));
}

/// A covariate that separates the customers (1 exactly for those who bought again) has no
/// finite maximum: the fit stops at the bound and names it, quickly, instead of running on.
#[test]
fn a_separating_covariate_is_an_error_naming_it() {
    let (data, _) = apparel();
    let repeat: Vec<f64> = data
        .frequency()
        .iter()
        .map(|x| f64::from(u8::from(*x > 0.0)))
        .collect();
    let cov = Covariates::from_columns(vec![("Repeat".to_string(), repeat)]).unwrap();
    let t0 = std::time::Instant::now();
    let e = fit_with_covariates(
        CovariateModel::ParetoNbd,
        &data,
        &cov,
        &CovariateOptions::default(),
        &FitOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            ClvError::BadCovariate { column, problem: CovariateProblem::Separation { .. } }
                if column == "Repeat"
        ),
        "{e}"
    );
    assert!(e.to_string().contains("Repeat"), "{e}");
    eprintln!("separation detected in {:.1} s", t0.elapsed().as_secs_f64());
}
