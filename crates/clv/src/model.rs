//! One type for "any transaction model", so the engine can pick the model from config.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bgbb::BgBb;
use crate::bgnbd::BgNbd;
use crate::data::CalibrationData;
use crate::error::Result;
use crate::fit::{FitOptions, FitReport, Fitted};
use crate::mbgnbd::MbgNbd;
use crate::pareto_nbd::ParetoNbd;

/// Which transaction model (config names `bg_nbd | mbg_nbd | pareto_nbd | bg_bb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// BG/NBD (Fader, Hardie & Lee 2005).
    BgNbd,
    /// MBG/NBD (Batislam et al. 2007).
    MbgNbd,
    /// Pareto/NBD (Schmittlein et al. 1987).
    ParetoNbd,
    /// BG/BB for discrete opportunities (Fader, Hardie & Shang 2010).
    BgBb,
}

impl ModelKind {
    /// The config name (`bg_nbd`, `mbg_nbd`, `pareto_nbd`, `bg_bb`), as in fit reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::BgNbd => "bg_nbd",
            ModelKind::MbgNbd => "mbg_nbd",
            ModelKind::ParetoNbd => "pareto_nbd",
            ModelKind::BgBb => "bg_bb",
        }
    }
}

/// A transaction model with validated parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "model", content = "params", rename_all = "snake_case")]
pub enum Model {
    /// BG/NBD.
    BgNbd(BgNbd),
    /// MBG/NBD.
    MbgNbd(MbgNbd),
    /// Pareto/NBD.
    ParetoNbd(ParetoNbd),
    /// BG/BB.
    BgBb(BgBb),
}

/// A fitted transaction model and its fit report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FittedModel {
    /// The model at the maximum-likelihood parameters.
    pub model: Model,
    /// Parameters, SEs, log-likelihood and optimiser outcome.
    pub report: FitReport,
}

/// Fits the chosen model to calibration data.
pub fn fit(kind: ModelKind, data: &CalibrationData, opts: &FitOptions) -> Result<FittedModel> {
    fn wrap<M>(f: Fitted<M>, g: impl FnOnce(M) -> Model) -> FittedModel {
        FittedModel {
            model: g(f.model),
            report: f.report,
        }
    }
    Ok(match kind {
        ModelKind::BgNbd => wrap(BgNbd::fit(data, opts)?, Model::BgNbd),
        ModelKind::MbgNbd => wrap(MbgNbd::fit(data, opts)?, Model::MbgNbd),
        ModelKind::ParetoNbd => wrap(ParetoNbd::fit(data, opts)?, Model::ParetoNbd),
        ModelKind::BgBb => wrap(BgBb::fit(data, opts)?, Model::BgBb),
    })
}

/// Per-element map, in parallel for large inputs (each element independent, so the result
/// does not depend on the thread count).
pub(crate) fn par_map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if n >= 8192 {
        (0..n).into_par_iter().map(f).collect()
    } else {
        (0..n).map(f).collect()
    }
}

macro_rules! dispatch {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            Model::BgNbd($m) => $e,
            Model::MbgNbd($m) => $e,
            Model::ParetoNbd($m) => $e,
            Model::BgBb($m) => $e,
        }
    };
}

impl Model {
    /// Which model this is.
    pub fn kind(&self) -> ModelKind {
        match self {
            Model::BgNbd(_) => ModelKind::BgNbd,
            Model::MbgNbd(_) => ModelKind::MbgNbd,
            Model::ParetoNbd(_) => ModelKind::ParetoNbd,
            Model::BgBb(_) => ModelKind::BgBb,
        }
    }

    /// Parameters in the model's order (see [`FitReport::param_names`]).
    pub fn params(&self) -> [f64; 4] {
        dispatch!(self, m => m.params())
    }

    /// Log-likelihood of one customer.
    pub fn row_log_likelihood(&self, x: f64, tx: f64, t: f64) -> f64 {
        dispatch!(self, m => m.row_log_likelihood(x, tx, t))
    }

    /// Total log-likelihood in the data's units.
    pub fn log_likelihood(&self, data: &CalibrationData) -> f64 {
        dispatch!(self, m => m.log_likelihood(data))
    }

    /// P(alive at the end of calibration | x, tₓ, T).
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        dispatch!(self, m => m.p_alive(x, tx, t))
    }

    /// Expected purchases in (T, T + horizon] given the history (x, tₓ, T).
    pub fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
        dispatch!(self, m => m.expected_purchases(horizon, x, tx, t))
    }

    /// Expected purchases in (0, t] for a new customer.
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        dispatch!(self, m => m.expected_purchases_new(t))
    }

    /// P(X(t) = n) for a new customer; None for Pareto/NBD (not implemented). BG/BB takes t
    /// as a whole number of opportunities (rounded).
    pub fn prob_purchases(&self, n: u32, t: f64) -> Option<f64> {
        match self {
            Model::BgNbd(m) => Some(m.prob_purchases(n, t)),
            Model::MbgNbd(m) => Some(m.prob_purchases(n, t)),
            Model::ParetoNbd(_) => None,
            Model::BgBb(m) => Some(m.prob_purchases(n, t.max(0.0).round() as u32)),
        }
    }

    /// E[X(T, T+h] | alive at T, x, T] for the models where the expectation factors as that
    /// times P(alive) (BG/NBD, MBG/NBD, Pareto/NBD; h > 0), so it can be shared by all tₓ.
    pub(crate) fn expected_if_alive(&self, h: f64, x: f64, t: f64) -> Option<f64> {
        match self {
            Model::BgNbd(m) => Some(m.expected_purchases_if_alive(h, x, t)),
            Model::MbgNbd(m) => Some(m.expected_purchases_if_alive(h, x, t)),
            Model::ParetoNbd(m) => Some(m.expected_purchases_if_alive(h, x, t)),
            Model::BgBb(_) => None,
        }
    }

    /// Whether E[X] splits into an expectation if alive, a function of (x, T) only, times
    /// P(alive) (BG/NBD, MBG/NBD, Pareto/NBD): then the costly part is computed once per
    /// distinct (x, T), and P(alive) once per customer whatever the number of horizons.
    pub(crate) fn splits_off_p_alive(&self) -> bool {
        matches!(
            self,
            Model::BgNbd(_) | Model::MbgNbd(_) | Model::ParetoNbd(_)
        )
    }

    /// Whether P(alive) costs a few logs (BG/NBD, MBG/NBD): then it is computed per customer,
    /// which is cheaper than finding the distinct rows.
    fn cheap_p_alive(&self) -> bool {
        matches!(self, Model::BgNbd(_) | Model::MbgNbd(_))
    }

    /// [`Self::p_alive`] for every row of `data`: bit-identical to calling it on each row,
    /// evaluated once per distinct (x, tₓ, T) row where P(alive) is costly (Pareto/NBD,
    /// BG/BB).
    ///
    /// The data keeps the last model's values, so the scoring steps that each need them for
    /// the same model (expected purchases, purchase chances, CLV, forecast) work them out once.
    pub fn p_alive_all(&self, data: &CalibrationData) -> Vec<f64> {
        let key = (self.kind(), self.params().map(f64::to_bits));
        data.p_alive_memo(key, || {
            if self.cheap_p_alive() {
                let (x, tx, t) = (data.frequency(), data.recency(), data.age());
                return par_map(data.len(), |i| self.p_alive(x[i], tx[i], t[i]));
            }
            data.unique_rows().map(|x, tx, t| self.p_alive(x, tx, t))
        })
    }

    /// [`Self::expected_purchases`] for every row of `data`: bit-identical to calling it on
    /// each row. The costly part is evaluated once per distinct (x, T) (BG/NBD, MBG/NBD: the
    /// expectation if alive, times each customer's P(alive)) or (x, tₓ, T) row (others).
    pub fn expected_purchases_all(&self, horizon: f64, data: &CalibrationData) -> Vec<f64> {
        if self.splits_off_p_alive() {
            if horizon <= 0.0 {
                return vec![0.0; data.len()];
            }
            let v = data.unique_x_age();
            let ea = par_map(v.len(), |j| {
                self.expected_if_alive(horizon, v.x[j], v.t[j])
                    .unwrap_or(f64::NAN)
            });
            let p_alive = self.p_alive_all(data);
            return par_map(data.len(), |i| ea[v.inverse[i] as usize] * p_alive[i]);
        }
        data.unique_rows()
            .map(|x, tx, t| self.expected_purchases(horizon, x, tx, t))
    }

    /// Tracking curve: expected cumulative repeat transactions of a cohort at each of
    /// `times`, Σ over customers born at `births[i] < τ` of E[X(τ − births[i])] (lifetimes'
    /// `expected_cumulative_transactions` without its date bucketing). Same units as T.
    pub fn expected_cumulative_transactions(&self, births: &[f64], times: &[f64]) -> Vec<f64> {
        times
            .iter()
            .map(|&tau| {
                let parts = par_map(births.len(), |i| {
                    if births[i] < tau {
                        self.expected_purchases_new(tau - births[i])
                    } else {
                        0.0
                    }
                });
                parts.iter().sum()
            })
            .collect()
    }
}
