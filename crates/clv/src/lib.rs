//! Customer-lifetime-value models for clientele: BG/NBD, MBG/NBD, Pareto/NBD, BG/BB
//! ("buy till you die") and the Gamma-Gamma spend model, with maximum-likelihood fitting,
//! P(alive), expected purchases, discounted CLV and holdout validation.
//!
//! Pure model code: no I/O, no clock, no printing. Time is in the model's unit (the unit of
//! `recency`/`T`); frequency counts *repeat* purchases (the CLV convention of
//! `clientele_core::ClvSummary`). Results match lifetimes 0.11.3 and the published CDNOW
//! values (see `tests/`).
//!
//! Engine-facing API:
//! - [`CalibrationData`] (`new`, `with_weights`, `from_summary`) — validated (x, tₓ, T) rows;
//! - [`fit`]`(ModelKind, &CalibrationData, &FitOptions) -> Result<FittedModel>`;
//! - [`Model`] methods `p_alive`, `expected_purchases(horizon, x, tx, T)`,
//!   `expected_purchases_new(t)`, `prob_purchases`, `*_all` (parallel; costly terms once per distinct row),
//!   `expected_cumulative_transactions`;
//! - [`Model`] purchase timing ([`purchase`]): `p_purchase(τ, x, tx, T)` / `p_no_purchase`
//!   (at least one / no purchase in (T, T+τ]), `p_alive_at(τ, …)` (alive at T+τ),
//!   `next_purchase_time(x, tx, T, max)` (median wait, `None` past `max`), each with a
//!   `*_all(…, &CalibrationData)` version; arguments checked (`ClvError::InvalidArgument`);
//! - [`GammaGamma::fit`]`(&frequency, &monetary, &FitOptions)` and
//!   [`GammaGamma::expected_average_values`];
//! - [`clv()`](clv::clv) with [`ClvOptions`], [`clv::dert_clv`] for the Pareto/NBD;
//! - [`holdout_validation`] → serialisable [`HoldoutReport`];
//! - [`fit_with_covariates`]`(CovariateModel, &CalibrationData, &Covariates, &CovariateOptions,
//!   &FitOptions) -> Result<CovariateFit>` — Pareto/NBD or BG/NBD with static covariates in
//!   CLVTools' parameterisation (matches its published apparel results), with a
//!   likelihood-ratio test and per-customer `p_alive_all` / `expected_purchases_all`.
//! - [`customer_intervals`] with [`IntervalOptions`]: per-customer intervals of expected
//!   purchases and CLV from the uncertainty of the fitted parameters
//!   ([`FitReport::log_covariance`]), not the customer's own randomness.
//!
//! ```
//! use clientele_clv::{CalibrationData, ClvOptions, FitOptions, GammaGamma, ModelKind};
//!
//! // (x, tₓ, T) patterns in weeks with the number of customers showing each.
//! let x = vec![0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0, 10.0];
//! let tx = vec![0.0, 20.0, 2.0, 25.0, 8.0, 30.0, 33.0, 35.0];
//! let t = vec![38.86, 38.86, 38.8, 38.5, 38.5, 38.0, 38.0, 38.0];
//! let w = vec![1411.0, 439.0, 100.0, 214.0, 50.0, 100.0, 80.0, 50.0];
//! let data = CalibrationData::with_weights(x.clone(), tx, t, w)?;
//!
//! let fitted = clientele_clv::fit(ModelKind::BgNbd, &data, &FitOptions::default())?;
//! assert!(fitted.report.converged);
//! let model = fitted.model;
//! let p = model.p_alive(2.0, 30.43, 38.86);
//! assert!((0.0..=1.0).contains(&p));
//! let next_year = model.expected_purchases_all(52.0, &data);
//! assert!(next_year.iter().all(|e| e.is_finite() && *e >= 0.0));
//!
//! // Spend: mean repeat spend per customer (0 without repeats → population mean).
//! let spend = vec![0.0, 22.0, 15.0, 30.0, 18.0, 45.0, 40.0, 60.0];
//! let (gg, _) = GammaGamma::fit(&x, &spend, &FitOptions::default())?;
//! let value = gg.model.expected_average_values(&x, &spend)?;
//! let opts = ClvOptions::lifetimes(clientele_core::TimeUnit::Weeks);
//! let clv = clientele_clv::clv::clv(&model, &data, &value, &opts)?;
//! assert!(clv.iter().all(|v| v.is_finite() && *v >= 0.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// `Deserialize` for a parameter struct through its validating `new`: a model read back from
/// `summary.json` keeps the invariants (finite, > 0) that every formula relies on.
macro_rules! deserialize_via_new {
    ($ty:ident { $($field:ident),+ }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                struct Raw {
                    $($field: f64),+
                }
                let Raw { $($field),+ } = Raw::deserialize(d)?;
                $ty::new($($field),+).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod bgbb;
pub mod bgnbd;
pub mod choice;
pub mod clv;
pub mod covariates;
pub mod data;
pub mod error;
pub mod fit;
pub mod forecast;
pub mod gamma_gamma;
pub mod hyp2f1;
pub mod intervals;
pub mod mbgnbd;
pub mod model;
mod optimize;
pub mod pareto_nbd;
pub mod purchase;
pub mod special;
pub mod validation;

pub use bgbb::BgBb;
pub use bgnbd::BgNbd;
pub use choice::{Candidate, Criterion, ModelComparison, compare_by_bic, compare_on_holdout};
pub use clv::{ClvOptions, clv as customer_lifetime_values};
pub use covariates::{
    CovariateFit, CovariateModel, CovariateOptions, Covariates, CovariatesOn, LikelihoodRatioTest,
    fit_with_covariates,
};
pub use data::CalibrationData;
pub use error::{ClvError, CovariateProblem, FitHint, FitTrouble, Result};
pub use fit::{FitOptions, FitReport, Fitted, MIN_CUSTOMERS};
pub use gamma_gamma::{ExtremeSpenders, GammaGamma, SpendFitReport};
pub use intervals::{
    Band, Bands, CustomerIntervals, IntervalMethod, IntervalOptions, IntervalReport,
    PointEstimates, SpendInput, customer_intervals, customer_intervals_around,
};
pub use mbgnbd::MbgNbd;
pub use model::{FittedModel, Model, ModelKind, fit};
pub use pareto_nbd::ParetoNbd;
pub use validation::{ErrorSummary, FrequencyGroup, HoldoutReport, holdout_validation};
