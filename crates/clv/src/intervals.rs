//! Per-customer intervals for CLV and expected purchases from the uncertainty of the fitted
//! population parameters.
//!
//! **What the intervals mean.** A fit estimates the population parameters (r, α, a, b; p, q,
//! γ) from a finite number of customers, so they are uncertain; the maximum-likelihood
//! estimate is asymptotically normal on the log scale with the covariance
//! [`FitReport::log_covariance`](crate::FitReport::log_covariance) (the inverse observed
//! information). [`customer_intervals`] draws parameter sets from that normal, recomputes each
//! customer's expected purchases and CLV for every draw, and reports per customer the chosen
//! quantiles (5 % and 95 % by default) over the draws. They say how far the *expectation* could
//! move because the parameters are estimated. They are **not** prediction intervals for what a
//! customer will actually buy or spend: a customer's own randomness (whether they buy at all,
//! how much) is far wider and is not in them. With more customers the parameters are better
//! known and the intervals shrink towards the point estimate.
//!
//! **How.** For the BG/NBD and MBG/NBD the costly terms (expected purchases if alive, summed
//! over the CLV months; ₂F₁ series) depend on (x, T) only: they are computed once per distinct
//! (x, T) and draw; where one x has many distinct T (daily data), they are interpolated along
//! ln(α + T) from 16 exact values per piece (Chebyshev; below 1e-11 relative, see
//! `Pass::pair_table`). P(alive) costs a few logarithms and is evaluated once per distinct
//! (x, tₓ, T) row and draw. The Pareto/NBD and BG/BB evaluate their expectations once per
//! distinct row and draw. Customers are processed by distinct row in parallel chunks: the
//! row's draws sit in a small buffer and the quantiles are selected from it
//! (`select_nth_unstable_by`), so memory stays at O(customers + distinct (x, T) × draws) and
//! never customers × draws. Draws come from a seeded [`ChaCha8Rng`] one after another, and
//! chunks and sums follow fixed boundaries, so the same seed gives the same result for any
//! number of threads.
//!
//! Draws the model rejects (parameters outside its domain, a spend draw with q ≤ 1 and so no
//! finite mean, or a non-finite prediction) are left out and counted in
//! [`IntervalReport::rejected_draws`].
//!
//! **Linearised bands for many customers** ([`IntervalMethod`]). The parameters' spread shrinks
//! as 1/√customers, and over so narrow a spread each customer's value is linear in the
//! log-parameters to many digits, so its quantiles are those of a normal: point ± z·σ. σ comes
//! from central differences one standard deviation along each axis of the covariance's
//! Cholesky factor (2 × 7 parameter sets instead of 200 draws; σ² = Σᵢ ((f(θ + Lᵢ) −
//! f(θ − Lᵢ))/2)², the delta method with secant slopes). Past
//! [`IntervalMethod::LINEAR_FROM`] customers this is the default: at 1.8M customers the bands
//! are ±0.25 % of the value and the 200 draws' own Monte Carlo error is larger than the
//! linearisation's (docs/BENCHMARKS.md), at a fifteenth of the cost. A parameter set the model
//! rejects sends the run back to draws.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bgbb::BgBb;
use crate::bgnbd::BgNbd;
use crate::clv::ClvOptions;
use crate::data::CalibrationData;
use crate::error::{ClvError, Result, non_negative_arg};
use crate::gamma_gamma::GammaGamma;
use crate::mbgnbd::MbgNbd;
use crate::model::{Model, ModelKind};
use crate::pareto_nbd::ParetoNbd;
use crate::special::logistic;

/// Distinct rows per parallel task; fixed, so the order of every sum is too.
const ROW_CHUNK: usize = 512;

/// Chunks made before their results are scattered into the bands (memory, not order).
const CHUNKS_PER_BATCH: usize = 256;

/// Chebyshev points per piece of ln(α + T) in the (x, T) tables ([`Pass::pair_table`]).
const CHEB_NODES: usize = 16;
/// Widest piece of ln(α + T) one set of Chebyshev points covers.
const CHEB_PIECE: f64 = 2.0;

/// Chebyshev point n of [`CHEB_NODES`] on [−1, 1] (extrema, endpoints included).
fn cheb_node(n: usize) -> f64 {
    (std::f64::consts::PI * n as f64 / (CHEB_NODES - 1) as f64).cos()
}

/// The polynomial through `vals` at the Chebyshev points, at s ∈ [−1, 1] (barycentric form).
fn barycentric(vals: &[[f64; 2]; CHEB_NODES], s: f64) -> [f64; 2] {
    let (mut num, mut den) = ([0.0; 2], 0.0);
    for (n, v) in vals.iter().enumerate() {
        let diff = s - cheb_node_cached(n);
        if diff == 0.0 {
            return *v;
        }
        let mut w = if n % 2 == 0 { 1.0 } else { -1.0 };
        if n == 0 || n == CHEB_NODES - 1 {
            w *= 0.5;
        }
        let c = w / diff;
        num[0] += c * v[0];
        num[1] += c * v[1];
        den += c;
    }
    [num[0] / den, num[1] / den]
}

/// [`cheb_node`] from a table.
fn cheb_node_cached(n: usize) -> f64 {
    static NODES: std::sync::OnceLock<[f64; CHEB_NODES]> = std::sync::OnceLock::new();
    NODES.get_or_init(|| std::array::from_fn(cheb_node))[n]
}

/// What [`IntervalReport::method`] says of draws ([`METHOD_LINEAR`] of linearised bands).
pub const METHOD: &str = "parametric uncertainty of the population parameters: draws from the \
     asymptotic normal of the maximum-likelihood log-parameters (inverse observed information); \
     not the customer's own purchase or spend randomness";

/// What [`IntervalReport::method`] says of linearised bands ([`IntervalMethod::Linear`]).
pub const METHOD_LINEAR: &str = "parametric uncertainty of the population parameters, \
     linearised: point ± z·σ, σ from central differences one standard deviation along each axis \
     of the asymptotic normal of the maximum-likelihood log-parameters (inverse observed \
     information); not the customer's own purchase or spend randomness";

/// How the quantiles over the parameters' uncertainty are found (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// Draws below [`IntervalMethod::LINEAR_FROM`] customers, linearised from there.
    #[default]
    Auto,
    /// Quantiles of parameter draws.
    Draws,
    /// Point ± z·σ of the delta method.
    Linear,
}

impl IntervalMethod {
    /// Customers (the rows' weights summed) from which [`IntervalMethod::Auto`] linearises: the
    /// parameters' relative spread is then about 1 % or less, and the draws cost a second or
    /// more.
    pub const LINEAR_FROM: f64 = 500_000.0;

    /// Whether bands for `customers` customers are linearised.
    pub fn linear_for(self, customers: f64) -> bool {
        match self {
            IntervalMethod::Auto => customers >= Self::LINEAR_FROM,
            IntervalMethod::Draws => false,
            IntervalMethod::Linear => true,
        }
    }
}

/// How many parameter draws, which seed, which quantiles and which method (validated by
/// [`Self::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IntervalOptions {
    draws: usize,
    seed: u64,
    lower: f64,
    upper: f64,
    method: IntervalMethod,
}

impl IntervalOptions {
    /// Draws used by default.
    pub const DEFAULT_DRAWS: usize = 200;

    /// Validated options: `draws` ≥ 1, and quantiles `level = (lower, upper)` with
    /// 0 < lower < upper < 1 (the default is 200 draws, seed 0, (0.05, 0.95)).
    pub fn new(draws: usize, seed: u64, level: (f64, f64)) -> Result<Self> {
        if draws == 0 {
            return Err(ClvError::InvalidArgument {
                name: "draws",
                value: 0.0,
                rule: "must be at least 1",
            });
        }
        let (lower, upper) = level;
        for (name, v) in [("lower quantile", lower), ("upper quantile", upper)] {
            if !(v > 0.0 && v < 1.0) {
                return Err(ClvError::InvalidArgument {
                    name,
                    value: v,
                    rule: "must be inside (0, 1)",
                });
            }
        }
        if lower >= upper {
            return Err(ClvError::InvalidArgument {
                name: "lower quantile",
                value: lower,
                rule: "must be below the upper quantile",
            });
        }
        Ok(IntervalOptions {
            draws,
            seed,
            lower,
            upper,
            method: IntervalMethod::Auto,
        })
    }

    /// The same options with bands made by `method` ([`IntervalMethod::Auto`] by default).
    pub fn with_method(self, method: IntervalMethod) -> Self {
        IntervalOptions { method, ..self }
    }

    /// How the bands are made.
    pub fn method(&self) -> IntervalMethod {
        self.method
    }

    /// Parameter draws requested.
    pub fn draws(&self) -> usize {
        self.draws
    }

    /// Seed of the random draws.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The (lower, upper) quantiles reported.
    pub fn level(&self) -> (f64, f64) {
        (self.lower, self.upper)
    }
}

impl Default for IntervalOptions {
    fn default() -> Self {
        IntervalOptions {
            draws: Self::DEFAULT_DRAWS,
            seed: 0,
            lower: 0.05,
            upper: 0.95,
            method: IntervalMethod::Auto,
        }
    }
}

impl<'de> Deserialize<'de> for IntervalOptions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            draws: usize,
            seed: u64,
            lower: f64,
            upper: f64,
            #[serde(default)]
            method: IntervalMethod,
        }
        let r = Raw::deserialize(d)?;
        IntervalOptions::new(r.draws, r.seed, (r.lower, r.upper))
            .map(|o| o.with_method(r.method))
            .map_err(serde::de::Error::custom)
    }
}

/// The spend side of the CLV: the fitted Gamma-Gamma and each customer's (x, m̄), as given to
/// [`GammaGamma::expected_average_values_with`].
#[derive(Debug, Clone, Copy)]
pub struct SpendInput<'a> {
    /// The fitted spend model.
    pub model: &'a GammaGamma,
    /// Covariance of (ln p, ln q, ln γ) ([`crate::SpendFitReport::log_covariance`]); None holds
    /// the spend parameters at their estimate, so only the transaction parameters vary.
    pub log_covariance: Option<&'a [Vec<f64>]>,
    /// Repeat purchases per customer (the rows of the [`CalibrationData`]).
    pub frequency: &'a [f64],
    /// Mean spend per repeat purchase per customer.
    pub monetary: &'a [f64],
    /// [`crate::SpendFitReport::own_mean_above`]: customers above it keep their own mean.
    pub own_mean_above: Option<f64>,
}

/// A point estimate and its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Band {
    /// At the maximum-likelihood parameters.
    pub point: f64,
    /// Lower quantile over the parameters' uncertainty.
    pub lower: f64,
    /// Upper quantile over the parameters' uncertainty.
    pub upper: f64,
}

/// One value per customer (row of the [`CalibrationData`]): point estimate and interval.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bands {
    /// At the maximum-likelihood parameters (what [`Model::expected_purchases_all`] and
    /// [`crate::clv::clv`] give).
    pub point: Vec<f64>,
    /// Lower quantile over the parameter draws.
    pub lower: Vec<f64>,
    /// Upper quantile over the parameter draws.
    pub upper: Vec<f64>,
}

/// How the intervals were made, and the intervals of the totals; for `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IntervalReport {
    /// What the intervals are: [`METHOD`] or [`METHOD_LINEAR`] (parameter uncertainty, not
    /// the customer's own randomness).
    pub method: String,
    /// True: linearised bands, point ± z·σ ([`IntervalMethod`]), and no draws were used.
    #[serde(default)]
    pub linear: bool,
    /// Parameter draws requested.
    pub draws: usize,
    /// Draws the intervals are made of (requested less rejected; 0 when linearised).
    pub used_draws: usize,
    /// Draws the model rejected (module doc).
    pub rejected_draws: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// Lower quantile reported.
    pub lower_quantile: f64,
    /// Upper quantile reported.
    pub upper_quantile: f64,
    /// Horizon of the expected purchases, in the model's time unit.
    pub horizon: f64,
    /// Whether the spend parameters were drawn too (false: held at their estimate, or no
    /// spend model).
    pub spend_parameters_varied: bool,
    /// Expected purchases of all customers (weighted sum over rows) in the horizon: the
    /// quantiles of the sum per draw.
    pub total_purchases: Band,
    /// CLV of all customers, the same way; None without a spend model.
    pub total_clv: Option<Band>,
}

/// Per-customer intervals and their report.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerIntervals {
    /// Method, draws and the totals' intervals.
    pub report: IntervalReport,
    /// Expected purchases in (T, T + horizon].
    pub purchases: Bands,
    /// Discounted CLV ([`crate::clv::clv`]); None without a spend model.
    pub clv: Option<Bands>,
}

/// Per-customer intervals of expected purchases in (T, T + `horizon`] and, with `spend`, of
/// the discrete discounted CLV under `clv_options`, from the uncertainty of the population
/// parameters (module doc: not the customer's own randomness).
///
/// `log_covariance` is the covariance of the model's log-parameters
/// ([`crate::FitReport::log_covariance`] of the fit of `model`). Weights of `data` count in the
/// totals; a weighted row gets one interval.
pub fn customer_intervals(
    model: &Model,
    log_covariance: &[Vec<f64>],
    spend: Option<&SpendInput<'_>>,
    data: &CalibrationData,
    clv_options: &ClvOptions,
    horizon: f64,
    options: &IntervalOptions,
) -> Result<CustomerIntervals> {
    customer_intervals_around(
        model,
        log_covariance,
        spend,
        data,
        clv_options,
        horizon,
        options,
        None,
    )
}

/// The point estimates the intervals are placed around, made by the caller already: expected
/// purchases in the horizon ([`Model::expected_purchases_all`]) and, with a spend model, the
/// expected values ([`GammaGamma::expected_average_values_with`]) and the CLV
/// ([`crate::clv::clv`]), one per row of the data. They must be those functions' values for the
/// same model, data and options; a caller that scored its customers with them passes them here
/// instead of having them made again (a third of the intervals' time at a million customers).
/// They are the intervals' own points afterwards ([`CustomerIntervals`]), so they are taken
/// over, not copied.
#[derive(Debug, Clone, PartialEq)]
pub struct PointEstimates {
    /// Expected purchases in (T, T + horizon].
    pub purchases: Vec<f64>,
    /// Expected values per purchase (with a spend model).
    pub values: Option<Vec<f64>>,
    /// CLV (with a spend model).
    pub clv: Option<Vec<f64>>,
}

/// [`customer_intervals`] around `points` when given (otherwise made here, as it does).
#[allow(clippy::too_many_arguments)] // customer_intervals' arguments and the points
pub fn customer_intervals_around(
    model: &Model,
    log_covariance: &[Vec<f64>],
    spend: Option<&SpendInput<'_>>,
    data: &CalibrationData,
    clv_options: &ClvOptions,
    horizon: f64,
    options: &IntervalOptions,
    points: Option<PointEstimates>,
) -> Result<CustomerIntervals> {
    non_negative_arg("horizon", horizon)?;
    let n = data.len();
    let tx_chol = cholesky(log_covariance, 4, "log_covariance")?;
    let spend_chol = match spend {
        Some(s) => {
            if s.frequency.len() != n {
                return Err(ClvError::LengthMismatch {
                    column: "frequency",
                    expected: n,
                    actual: s.frequency.len(),
                });
            }
            let differ = (s.frequency.par_iter().zip(data.frequency()))
                .filter(|(a, b)| a != b)
                .count();
            if differ > 0 {
                return Err(ClvError::InvalidArgument {
                    name: "frequency",
                    value: differ as f64,
                    rule: "rows of the spend frequency differ from the calibration data's",
                });
            }
            s.log_covariance
                .map(|c| cholesky(c, 3, "spend log_covariance"))
                .transpose()?
        }
        None => None,
    };

    // Point estimates (bit-identical to the crate's functions) and fixed spend values.
    let given = |column: &'static str, v: Vec<f64>| {
        if v.len() == n {
            Ok(v)
        } else {
            Err(ClvError::LengthMismatch {
                column,
                expected: n,
                actual: v.len(),
            })
        }
    };
    let (purchases, given_values, given_clv) = match points {
        Some(p) => (Some(p.purchases), p.values, p.clv),
        None => (None, None, None),
    };
    let purchases_point = match purchases {
        Some(p) => given("purchases", p)?,
        None => model.expected_purchases_all(horizon, data),
    };
    let values = match (spend, given_values) {
        (Some(_), Some(v)) => Some(given("values", v)?),
        (Some(s), None) => Some(s.model.expected_average_values_with(
            s.frequency,
            s.monetary,
            s.own_mean_above,
        )?),
        (None, _) => None,
    };
    let clv_point = match (&values, given_clv) {
        (Some(_), Some(c)) => Some(given("clv", c)?),
        (Some(v), None) => Some(crate::clv::clv(model, data, v, clv_options)?),
        (None, _) => None,
    };

    let theta: Vec<f64> = model.params().iter().map(|p| p.ln()).collect();
    let spend_theta: Option<Vec<f64>> =
        spend.map(|s| s.model.params().iter().map(|p| p.ln()).collect());
    let spread = Spread {
        kind: model.kind(),
        theta: &theta,
        tx_chol: &tx_chol,
        spend: spend_chol.as_deref().zip(spend_theta.as_deref()),
    };
    let customers: f64 = data.weights().iter().sum();
    let mut linear = options.method.linear_for(customers);
    let (mut draws, mut rejected) = if linear {
        match spread.sigma_points(model, spend.map(|s| s.model)) {
            Some(points) => (points, 0),
            None => {
                linear = false;
                spread.draws(options)
            }
        }
    } else {
        spread.draws(options)
    };

    let spend_setup = match (spend, &values) {
        (Some(s), Some(v)) => Some(SpendSetup {
            input: s,
            values: v,
            varied: spend_chol.is_some(),
        }),
        _ => None,
    };
    let layout = Layout::new(model, data);
    let (lo, hi) = options.level();
    let out = loop {
        if draws.is_empty() {
            return Err(ClvError::NoUsableDraws {
                draws: options.draws,
            });
        }
        let ctx = Pass {
            draws: &draws,
            layout: &layout,
            data,
            spend: spend_setup.as_ref(),
            clv: clv_options,
            horizon,
            band: Reduce::of(linear, (lo, hi)),
        };
        match ctx.run() {
            Ok(out) => break out,
            Err(_) if linear => {
                // a parameter set one standard deviation out gave no finite value: draws
                linear = false;
                (draws, rejected) = spread.draws(options);
            }
            Err(bad) => {
                rejected += bad.len();
                let mut keep = vec![true; draws.len()];
                for b in bad {
                    keep[b] = false;
                }
                let mut k = keep.iter();
                draws.retain(|_| *k.next().unwrap_or(&true));
            }
        }
    };

    let w = data.weights();
    let total = |v: &[f64]| v.iter().zip(w).map(|(a, b)| a * b).sum::<f64>();
    let reduce = Reduce::of(linear, (lo, hi));
    let band = |point: f64, per_draw: &mut [f64]| {
        let (lower, upper) = reduce.placed(point, reduce.band(per_draw));
        Band {
            point,
            lower,
            upper,
        }
    };
    let mut tot_p = out.total_purchases;
    let total_purchases = band(total(&purchases_point), &mut tot_p);
    let mut tot_c = out.total_clv;
    let total_clv = clv_point.as_ref().map(|c| band(total(c), &mut tot_c));
    let (mut purchases_lower, mut purchases_upper) = (out.purchases_lower, out.purchases_upper);
    let (mut clv_lower, mut clv_upper) = (out.clv_lower, out.clv_upper);
    reduce.place_all(&purchases_point, &mut purchases_lower, &mut purchases_upper);
    if let Some(c) = &clv_point {
        reduce.place_all(c, &mut clv_lower, &mut clv_upper);
    }
    Ok(CustomerIntervals {
        report: IntervalReport {
            method: if linear { METHOD_LINEAR } else { METHOD }.to_string(),
            linear,
            draws: options.draws,
            used_draws: if linear { 0 } else { draws.len() },
            rejected_draws: rejected,
            seed: options.seed,
            lower_quantile: lo,
            upper_quantile: hi,
            horizon,
            spend_parameters_varied: spend_chol.is_some(),
            total_purchases,
            total_clv,
        },
        purchases: Bands {
            point: purchases_point,
            lower: purchases_lower,
            upper: purchases_upper,
        },
        clv: clv_point.map(|point| Bands {
            point,
            lower: clv_lower,
            upper: clv_upper,
        }),
    })
}

/// The fitted log-parameters and the Cholesky factors of their covariances: where the
/// parameter sets of either method come from.
struct Spread<'a> {
    kind: ModelKind,
    theta: &'a [f64],
    tx_chol: &'a [Vec<f64>],
    /// The spend model's factor and log-parameters, when they vary.
    spend: Option<(&'a [Vec<f64>], &'a [f64])>,
}

impl Spread<'_> {
    /// `options.draws` random draws, one after another from one stream (transaction z, then
    /// spend z), and how many of them the model rejected.
    fn draws(&self, options: &IntervalOptions) -> (Vec<Draw>, usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let mut normals = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect()
        };
        let mut draws = Vec::with_capacity(options.draws);
        let mut rejected = 0;
        for _ in 0..options.draws {
            let p = shifted(self.theta, self.tx_chol, &normals(self.theta.len()));
            let g = self
                .spend
                .map(|(l, t)| spend_draw(&shifted(t, l, &normals(t.len()))));
            match (from_params(self.kind, &p), g) {
                (Ok(m), None) => draws.push(Draw {
                    model: m,
                    spend: None,
                }),
                (Ok(m), Some(Some(g))) => draws.push(Draw {
                    model: m,
                    spend: Some(g),
                }),
                _ => rejected += 1,
            }
        }
        (draws, rejected)
    }

    /// The parameter sets of the linearised bands: θ + Lᵢ, θ − Lᵢ for each column i of the
    /// transaction factor (spend at its estimate), then of the spend factor (transactions at
    /// theirs), pairs side by side as [`Reduce::Linear`] reads them. None when the model
    /// rejects one of them.
    fn sigma_points(&self, model: &Model, spend: Option<&GammaGamma>) -> Option<Vec<Draw>> {
        let at_estimate = match (self.spend, spend) {
            (Some(_), Some(g)) => Some(spend_draw(g.params().as_slice())?),
            _ => None,
        };
        let axis = |dim: usize, i: usize, sign: f64| -> Vec<f64> {
            (0..dim).map(|r| if r == i { sign } else { 0.0 }).collect()
        };
        let mut points = Vec::new();
        for i in 0..self.theta.len() {
            for sign in [1.0, -1.0] {
                let p = shifted(self.theta, self.tx_chol, &axis(self.theta.len(), i, sign));
                points.push(Draw {
                    model: from_params(self.kind, &p).ok()?,
                    spend: at_estimate,
                });
            }
        }
        if let Some((l, t)) = self.spend {
            for i in 0..t.len() {
                for sign in [1.0, -1.0] {
                    let sp = shifted(t, l, &axis(t.len(), i, sign));
                    points.push(Draw {
                        model: *model,
                        spend: Some(spend_draw(&sp)?),
                    });
                }
            }
        }
        Some(points)
    }
}

/// The spend draw at natural parameters `p` (p, q, γ); None when the model rejects them or
/// they give no finite mean (q ≤ 1).
fn spend_draw(p: &[f64]) -> Option<SpendDraw> {
    match GammaGamma::new(p[0], p[1], p[2]) {
        Ok(g) if g.population_mean().is_ok() => Some(SpendDraw::new(&g)),
        _ => None,
    }
}

/// The model of `kind` at natural parameters `p`.
fn from_params(kind: ModelKind, p: &[f64]) -> Result<Model> {
    Ok(match kind {
        ModelKind::BgNbd => Model::BgNbd(BgNbd::new(p[0], p[1], p[2], p[3])?),
        ModelKind::MbgNbd => Model::MbgNbd(MbgNbd::new(p[0], p[1], p[2], p[3])?),
        ModelKind::ParetoNbd => Model::ParetoNbd(ParetoNbd::new(p[0], p[1], p[2], p[3])?),
        ModelKind::BgBb => Model::BgBb(BgBb::new(p[0], p[1], p[2], p[3])?),
    })
}

/// exp(θ + L·z): natural parameters from log-parameters `theta` moved by `z` (standard normal
/// for a draw, a unit axis for the linearised bands).
fn shifted(theta: &[f64], l: &[Vec<f64>], z: &[f64]) -> Vec<f64> {
    theta
        .iter()
        .zip(l)
        .map(|(t, row)| (t + row.iter().zip(z).map(|(a, b)| a * b).sum::<f64>()).exp())
        .collect()
}

/// Lower Cholesky factor of a covariance matrix (symmetric positive semi-definite, `dim`×`dim`,
/// finite). A zero variance (a parameter held fixed) gives a zero column.
#[allow(clippy::needless_range_loop)]
fn cholesky(a: &[Vec<f64>], dim: usize, column: &'static str) -> Result<Vec<Vec<f64>>> {
    let bad_len = a.iter().find(|r| r.len() != dim).map(Vec::len);
    if a.len() != dim || bad_len.is_some() {
        return Err(ClvError::LengthMismatch {
            column,
            expected: dim,
            actual: if a.len() != dim {
                a.len()
            } else {
                bad_len.unwrap_or(dim)
            },
        });
    }
    let count = a.iter().flatten().filter(|v| !v.is_finite()).count();
    if count > 0 {
        return Err(ClvError::NonFinite { column, count });
    }
    let not_psd = |value| ClvError::InvalidArgument {
        name: column,
        value,
        rule: "must be a symmetric positive semi-definite covariance matrix",
    };
    for i in 0..dim {
        for j in 0..i {
            let (u, v) = (a[i][j], a[j][i]);
            if (u - v).abs() > 1e-9 * (a[i][i].abs() * a[j][j].abs()).sqrt().max(1e-300) {
                return Err(not_psd(u - v));
            }
        }
    }
    let mut l = vec![vec![0.0; dim]; dim];
    for i in 0..dim {
        for j in 0..=i {
            let s = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                // Rounding may leave a tiny negative pivot for a singular matrix.
                let tol = 1e-12 * a[i][i].abs();
                if s < -tol {
                    return Err(not_psd(s));
                }
                l[i][i] = s.max(0.0).sqrt();
            } else if l[j][j] > 0.0 {
                l[i][j] = s / l[j][j];
            } else if s.abs() > 1e-12 * (a[i][i].abs() * a[j][j].abs()).sqrt().max(1e-300) {
                return Err(not_psd(s));
            }
        }
    }
    Ok(l)
}

/// The type-7 quantiles `lo` < `hi` of `v` (possibly reordered; not empty, no NaN).
///
/// When both lie near the ends (the 5 % and 95 % of 200 draws need the 11 smallest and the 11
/// largest values), the two tails are kept in small sorted buffers in one pass over `v`, which
/// is several times cheaper than two selections; the order statistics, and so the result, are
/// the same values.
fn quantiles(v: &mut [f64], lo: f64, hi: f64) -> (f64, f64) {
    let n = v.len();
    let (k_lo, f_lo) = rank(n, lo);
    let (k_hi, f_hi) = rank(n, hi);
    let (m_lo, m_hi) = ((k_lo + 2).min(n), n - k_hi);
    if m_lo > TAIL || m_hi > TAIL {
        return (quantile(v, lo), quantile(v, hi));
    }
    // the m_lo smallest ascending, the m_hi largest descending, as `total_cmp` keys (an
    // integer compare each, where `total_cmp` maps both sides at every compare)
    let (mut small, mut large) = ([0i64; TAIL], [0i64; TAIL]);
    let (mut ns, mut nl) = (0, 0);
    for &x in v.iter() {
        let key = order_key(x);
        if ns < m_lo || key < small[ns - 1] {
            let mut i = ns.min(m_lo - 1);
            while i > 0 && key < small[i - 1] {
                small[i] = small[i - 1];
                i -= 1;
            }
            small[i] = key;
            ns = (ns + 1).min(m_lo);
        }
        if nl < m_hi || key > large[nl - 1] {
            let mut i = nl.min(m_hi - 1);
            while i > 0 && key > large[i - 1] {
                large[i] = large[i - 1];
                i -= 1;
            }
            large[i] = key;
            nl = (nl + 1).min(m_hi);
        }
    }
    // order statistic j (ascending) of v from the tails
    let at_lo = |j: usize| from_key(small[j]);
    let at_hi = |j: usize| from_key(large[n - 1 - j]);
    let interpolate = |k: usize, frac: f64, at: &dyn Fn(usize) -> f64| {
        let kth = at(k);
        if frac == 0.0 || k + 1 >= n {
            kth
        } else {
            kth + frac * (at(k + 1) - kth)
        }
    };
    (
        interpolate(k_lo, f_lo, &at_lo),
        interpolate(k_hi, f_hi, &at_hi),
    )
}

/// Longest tail [`quantiles`] keeps in a buffer instead of selecting.
const TAIL: usize = 16;

/// `x` as an integer whose order is `f64::total_cmp`'s: the sign bit kept, the other bits
/// flipped for negative values ([`from_key`] undoes it).
#[inline]
fn order_key(x: f64) -> i64 {
    flip_negative(x.to_bits() as i64)
}

#[inline]
fn from_key(k: i64) -> f64 {
    f64::from_bits(flip_negative(k) as u64)
}

/// The bits after the sign flipped when the sign is set: its own inverse.
#[inline]
fn flip_negative(b: i64) -> i64 {
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// The order statistic below the type-7 quantile `p` of `n` values and the fraction towards
/// the next one.
fn rank(n: usize, p: f64) -> (usize, f64) {
    let h = (n - 1) as f64 * p;
    let k = (h.floor() as usize).min(n - 1);
    (k, h - k as f64)
}

/// Type-7 quantile (linear between order statistics, as numpy's default) by selection.
fn quantile(v: &mut [f64], p: f64) -> f64 {
    let (k, frac) = rank(v.len(), p);
    let (_, kth, right) = v.select_nth_unstable_by(k, f64::total_cmp);
    let kth = *kth;
    if frac == 0.0 || right.is_empty() {
        return kth;
    }
    let next = right.iter().copied().fold(f64::INFINITY, f64::min);
    kth + frac * (next - kth)
}

/// Spend parameters of one draw, with the population mean they give.
#[derive(Debug, Clone, Copy)]
struct SpendDraw {
    p: f64,
    q: f64,
    v: f64,
    mean: f64,
}

impl SpendDraw {
    fn new(g: &GammaGamma) -> Self {
        let [p, q, v] = g.params();
        SpendDraw {
            p,
            q,
            v,
            mean: p * v / (q - 1.0),
        }
    }
}

/// One accepted parameter draw.
#[derive(Debug, Clone, Copy)]
struct Draw {
    model: Model,
    /// None when the spend parameters are held at their estimate (or there is no spend).
    spend: Option<SpendDraw>,
}

struct SpendSetup<'a> {
    input: &'a SpendInput<'a>,
    /// E[M] per customer at the estimate.
    values: &'a [f64],
    varied: bool,
}

/// How a customer's expected spend moves with the spend parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SpendClass {
    /// No repeat or m̄ ≤ 0: the population mean.
    Population,
    /// An extreme spender: their own mean, the same in every draw.
    Own,
    /// E[M | x, m̄] = A(x) + B(x)·m̄.
    Conditional(f64),
}

fn spend_class(x: f64, m: f64, own_mean_above: Option<f64>) -> SpendClass {
    match own_mean_above {
        Some(cut) if x > 0.0 && m > cut => SpendClass::Own,
        _ if x > 0.0 && m > 0.0 => SpendClass::Conditional(m),
        _ => SpendClass::Population,
    }
}

/// Customers grouped by distinct (x, tₓ, T) row.
struct Layout<'a> {
    x: &'a [f64],
    tx: &'a [f64],
    t: &'a [f64],
    /// Customers of row j: `members[offsets[j]..offsets[j + 1]]`, in index order.
    offsets: &'a [usize],
    members: &'a [u32],
    /// BG/NBD, MBG/NBD: distinct (x, T) pairs and each row's pair.
    pairs: Option<(&'a [f64], &'a [f64], Vec<u32>)>,
}

impl<'a> Layout<'a> {
    fn new(model: &Model, data: &'a CalibrationData) -> Self {
        // the rows of each distinct row as the sort that found them left them
        let u = data.unique_rows();
        let (offsets, members) = (&u.starts[..], &u.members[..]);
        let pairs = model.splits_off_p_alive().then(|| {
            let v = data.unique_x_age();
            let row_pair = (0..u.len())
                .map(|j| v.inverse[members[offsets[j]] as usize])
                .collect();
            (v.x.as_slice(), v.t.as_slice(), row_pair)
        });
        Layout {
            x: &u.x,
            tx: &u.tx,
            t: &u.t,
            offsets,
            members,
            pairs,
        }
    }

    fn rows(&self) -> usize {
        self.x.len()
    }
}

/// One run over all customers with a fixed set of draws.
struct Pass<'a> {
    draws: &'a [Draw],
    layout: &'a Layout<'a>,
    data: &'a CalibrationData,
    spend: Option<&'a SpendSetup<'a>>,
    clv: &'a ClvOptions,
    horizon: f64,
    band: Reduce,
}

/// How one value's per-draw results become its band.
#[derive(Debug, Clone, Copy)]
enum Reduce {
    /// The (lower, upper) quantiles over the draws.
    Quantiles(f64, f64),
    /// ±z·σ (lower z, upper z) from pairs of values at θ ± Lᵢ, the point added later.
    Linear(f64, f64),
}

impl Reduce {
    /// Quantiles of the draws, or linearised bands at the quantiles `lo` < `hi` of a normal.
    fn of(linear: bool, (lo, hi): (f64, f64)) -> Reduce {
        use statrs::distribution::{ContinuousCDF, Normal};
        if !linear {
            return Reduce::Quantiles(lo, hi);
        }
        let n = Normal::standard();
        Reduce::Linear(n.inverse_cdf(lo), n.inverse_cdf(hi))
    }

    /// A band from [`Self::band`] placed around its `point`: ±z·σ become point ± z·σ, the
    /// lower end at zero at least (quantiles are bands already).
    fn placed(self, point: f64, (lower, upper): (f64, f64)) -> (f64, f64) {
        match self {
            Reduce::Quantiles(..) => (lower, upper),
            Reduce::Linear(..) => ((point + lower).max(0.0), point + upper),
        }
    }

    /// [`Self::placed`] for every customer.
    fn place_all(self, point: &[f64], lower: &mut [f64], upper: &mut [f64]) {
        (point
            .par_iter()
            .zip(lower.par_iter_mut())
            .zip(upper.par_iter_mut()))
        .for_each(|((p, l), u)| (*l, *u) = self.placed(*p, (*l, *u)));
    }

    /// The band of one value from its results per draw (`v` may be reordered).
    fn band(self, v: &mut [f64]) -> (f64, f64) {
        match self {
            Reduce::Quantiles(lo, hi) => quantiles(v, lo, hi),
            Reduce::Linear(z_lo, z_hi) => {
                let sd = v
                    .chunks_exact(2)
                    .map(|p| {
                        let slope = 0.5 * (p[0] - p[1]);
                        slope * slope
                    })
                    .sum::<f64>()
                    .sqrt();
                (z_lo * sd, z_hi * sd)
            }
        }
    }
}

/// P(alive) of the BG/NBD and MBG/NBD for every row and draw with the logarithms that depend
/// on the draw alone, on (x, draw) or on (time, draw) taken once: ln(α + τ) over the distinct
/// tₓ and T of all rows (a few hundred with daily data), ln a, ln(b + x) or ln(a/(b + x − 1))
/// once per x. The same operations on the same values as [`Model::p_alive`], so bit-identical;
/// about a third of its cost, where the interval pass spent most of its time.
struct AliveCache {
    mbg: bool,
    /// r and α of each draw.
    r: Vec<f64>,
    alpha: Vec<f64>,
    /// ln(α_k + τ) at `[time · draws + k]` (MBG/NBD only).
    ln_at: Vec<f64>,
    /// Each row's tₓ and T as indices into the distinct times.
    tx_at: Vec<u32>,
    t_at: Vec<u32>,
}

/// Most (distinct time × draw) logarithms kept (8 bytes each).
const ALIVE_CACHE_MAX: usize = 4 << 20;

impl AliveCache {
    fn new(draws: &[Draw], layout: &Layout) -> Option<AliveCache> {
        let mbg = match draws.first().map(|d| d.model.kind()) {
            Some(ModelKind::MbgNbd) => true,
            Some(ModelKind::BgNbd) => false,
            _ => return None,
        };
        let r = draws.iter().map(|d| d.model.params()[0]).collect();
        let alpha: Vec<f64> = draws.iter().map(|d| d.model.params()[1]).collect();
        if !mbg {
            return Some(AliveCache {
                mbg,
                r,
                alpha,
                ln_at: Vec::new(),
                tx_at: Vec::new(),
                t_at: Vec::new(),
            });
        }
        let mut times: Vec<f64> = layout.tx.iter().chain(layout.t).copied().collect();
        times.sort_unstable_by(f64::total_cmp);
        times.dedup_by(|a, b| a.to_bits() == b.to_bits());
        let nd = draws.len();
        if times.len().saturating_mul(nd) > ALIVE_CACHE_MAX || u32::try_from(times.len()).is_err() {
            return None;
        }
        let index = |v: &[f64]| -> Vec<u32> {
            v.iter()
                .map(|x| times.binary_search_by(|p| p.total_cmp(x)).unwrap_or(0) as u32)
                .collect()
        };
        let (tx_at, t_at) = (index(layout.tx), index(layout.t));
        let mut ln_at = vec![0.0; times.len() * nd];
        for (row, &tau) in ln_at.chunks_exact_mut(nd).zip(&times) {
            for (v, al) in row.iter_mut().zip(&alpha) {
                *v = (al + tau).ln();
            }
        }
        Some(AliveCache {
            mbg,
            r,
            alpha,
            ln_at,
            tx_at,
            t_at,
        })
    }

    /// The per-x logarithm of each draw into `per_x`: ln(b + x) (MBG/NBD) or ln(a/(b + x − 1))
    /// (BG/NBD, x > 0).
    fn per_x(&self, draws: &[Draw], x: f64, per_x: &mut [f64]) {
        for (v, d) in per_x.iter_mut().zip(draws) {
            let [_, _, a, b] = d.model.params();
            *v = if self.mbg {
                (b + x).ln()
            } else {
                (a / (b + x - 1.0)).ln()
            };
        }
    }

    /// P(alive) of row `j` (x, tₓ, T) under every draw into `out`, `per_x` from [`Self::per_x`].
    fn p_alive(
        &self,
        draws: &[Draw],
        j: usize,
        (x, tx, t): (f64, f64, f64),
        per_x: &[f64],
        ln_a: &[f64],
        out: &mut [f64],
    ) {
        let nd = draws.len();
        if self.mbg {
            let lt = &self.ln_at[self.t_at[j] as usize * nd..][..nd];
            let ltx = &self.ln_at[self.tx_at[j] as usize * nd..][..nd];
            for k in 0..nd {
                let r = self.r[k];
                // MbgNbd::alive_logit: a.ln() − (b + x).ln() + (r + x)·(ln(α + T) − ln(α + tₓ))
                out[k] = logistic(-(ln_a[k] - per_x[k] + (r + x) * (lt[k] - ltx[k])));
            }
        } else if x == 0.0 {
            out.fill(1.0);
        } else {
            for k in 0..nd {
                let (r, alpha) = (self.r[k], self.alpha[k]);
                // BgNbd::p_alive
                let e = (r + x) * ((alpha + t) / (alpha + tx)).ln() + per_x[k];
                out[k] = logistic(-e);
            }
        }
    }
}

struct PassOut {
    purchases_lower: Vec<f64>,
    purchases_upper: Vec<f64>,
    clv_lower: Vec<f64>,
    clv_upper: Vec<f64>,
    total_purchases: Vec<f64>,
    total_clv: Vec<f64>,
}

/// What one chunk of rows gives: per customer (index, purchases lo/hi, CLV lo/hi), the
/// chunk's totals per draw, and the draws that gave a non-finite value.
struct ChunkOut {
    customers: Vec<(u32, [f64; 4])>,
    total_purchases: Vec<f64>,
    total_clv: Vec<f64>,
    bad: Vec<usize>,
}

/// Expected purchases in the horizon and the discounted sum of monthly increments (per unit
/// of spend) for one history, from `cum(h)` = expected purchases in (T, T+h].
fn horizon_and_clv_unit(
    horizon: f64,
    with_clv: bool,
    opts: &ClvOptions,
    disc: &[(f64, f64)],
    cum: impl Fn(f64) -> f64,
) -> (f64, f64) {
    let m = opts.periods_per_month;
    let mut prev = 0.0;
    let mut unit = 0.0;
    let mut at_horizon = None;
    let steps = if with_clv { disc } else { &[] };
    for &(i, d) in steps {
        let h = i * m;
        let c = cum(h);
        if h == horizon {
            at_horizon = Some(c);
        }
        unit += (c - prev) / d;
        prev = c;
    }
    let e = match at_horizon {
        Some(c) => c,
        None if horizon <= 0.0 => 0.0,
        None => cum(horizon),
    };
    (e, unit)
}

impl Pass<'_> {
    #[allow(clippy::needless_range_loop)] // several per-draw arrays side by side
    fn run(&self) -> std::result::Result<PassOut, Vec<usize>> {
        let nd = self.draws.len();
        let with_clv = self.spend.is_some();
        let disc = self.clv.steps();
        // BG/NBD, MBG/NBD: [E if alive in the horizon, CLV unit if alive] per (x, T) and draw.
        let table = self
            .layout
            .pairs
            .as_ref()
            .map(|(px, pt, _)| self.pair_table(px, pt, &disc));
        let rows = self.layout.rows();
        let starts: Vec<usize> = (0..rows).step_by(ROW_CHUNK).collect();
        let alive = table
            .as_ref()
            .and_then(|_| AliveCache::new(self.draws, self.layout));
        let chunk = |s: usize| {
            let range = s..(s + ROW_CHUNK).min(rows);
            self.chunk(range, table.as_deref(), alive.as_ref(), &disc)
        };
        let n = self.data.len();
        let mut out = PassOut {
            purchases_lower: vec![0.0; n],
            purchases_upper: vec![0.0; n],
            clv_lower: if with_clv { vec![0.0; n] } else { Vec::new() },
            clv_upper: if with_clv { vec![0.0; n] } else { Vec::new() },
            total_purchases: vec![0.0; nd],
            total_clv: vec![0.0; nd],
        };
        let mut bad: Vec<usize> = Vec::new();
        // Chunks in batches, each scattered into the bands before the next is made: all
        // chunks' per-customer results at once were 40 bytes a customer on top of the bands
        // (730 MB at 18M customers). Totals add up chunk by chunk in order, as before.
        for batch in starts.chunks(CHUNKS_PER_BATCH) {
            let parts: Vec<ChunkOut> = if batch.len() > 1 {
                batch.par_iter().map(|&s| chunk(s)).collect()
            } else {
                batch.iter().map(|&s| chunk(s)).collect()
            };
            for p in parts {
                bad.extend(&p.bad);
                for (i, [a, b, c, d]) in p.customers {
                    let i = i as usize;
                    out.purchases_lower[i] = a;
                    out.purchases_upper[i] = b;
                    if with_clv {
                        out.clv_lower[i] = c;
                        out.clv_upper[i] = d;
                    }
                }
                for k in 0..nd {
                    out.total_purchases[k] += p.total_purchases[k];
                    out.total_clv[k] += p.total_clv[k];
                }
            }
        }
        if !bad.is_empty() {
            bad.sort_unstable();
            bad.dedup();
            return Err(bad);
        }
        Ok(out)
    }

    /// BG/NBD, MBG/NBD: `[E if alive in the horizon, CLV unit if alive]` per distinct (x, T)
    /// pair (sorted by x, then T) and draw, at `[pair · draws + draw]`.
    ///
    /// Along T, for one x and draw, both are analytic in u = ln(α + T) within |Im u| < π (the
    /// ₂F₁ argument z = h/(α+T+h) reaches [1, ∞) and the powers ((α+T)/(α+T+h))^(r+x) branch
    /// only at Im u = ±π). So where an x has many distinct T, they are interpolated from
    /// [`CHEB_NODES`] exact values per piece of u at most [`CHEB_PIECE`] wide (Chebyshev, error
    /// below 1e-12 relative; tested against the exact values), instead of evaluating every T.
    fn pair_table(&self, px: &[f64], pt: &[f64], disc: &[(f64, f64)]) -> Vec<[f64; 2]> {
        let nd = self.draws.len();
        let with_clv = self.spend.is_some();
        let exact = |d: &Draw, x: f64, t: f64| {
            let cum = |h: f64| d.model.expected_if_alive(h, x, t).unwrap_or(f64::NAN);
            let (e, u) = horizon_and_clv_unit(self.horizon, with_clv, self.clv, disc, cum);
            [e, u]
        };
        let mut table = vec![[0.0; 2]; px.len() * nd];
        // Runs of equal x, each with its slice of the table.
        let mut groups: Vec<(usize, &mut [[f64; 2]])> = Vec::new();
        let mut rest: &mut [[f64; 2]] = &mut table;
        let mut j0 = 0;
        while j0 < px.len() {
            let j1 = j0 + px[j0..].iter().take_while(|&&v| v == px[j0]).count();
            let (head, tail) = rest.split_at_mut((j1 - j0) * nd);
            groups.push((j0, head));
            rest = tail;
            j0 = j1;
        }
        let fill = |(j0, out): &mut (usize, &mut [[f64; 2]])| {
            let count = out.len() / nd;
            let (x, ts) = (px[*j0], &pt[*j0..*j0 + count]);
            for (k, d) in self.draws.iter().enumerate() {
                let alpha = d.model.params()[1];
                let (u0, u1) = ((alpha + ts[0]).ln(), (alpha + ts[count - 1]).ln());
                let pieces = (((u1 - u0) / CHEB_PIECE).ceil() as usize).max(1);
                if count <= 2 * pieces * CHEB_NODES || u1.is_nan() || u1 <= u0 {
                    for (i, &t) in ts.iter().enumerate() {
                        out[i * nd + k] = exact(d, x, t);
                    }
                    continue;
                }
                let width = (u1 - u0) / pieces as f64;
                let mut piece = usize::MAX;
                let mut vals = [[0.0; 2]; CHEB_NODES];
                for (i, &t) in ts.iter().enumerate() {
                    let u = (alpha + t).ln();
                    let p = (((u - u0) / width) as usize).min(pieces - 1);
                    let (a, b) = (u0 + p as f64 * width, u0 + (p + 1) as f64 * width);
                    if p != piece {
                        piece = p;
                        for (n, v) in vals.iter_mut().enumerate() {
                            let un = 0.5 * (a + b) + 0.5 * (b - a) * cheb_node(n);
                            *v = exact(d, x, un.exp() - alpha);
                        }
                    }
                    out[i * nd + k] = barycentric(&vals, (2.0 * u - a - b) / (b - a));
                }
            }
        };
        if groups.len() > 1 {
            groups.par_iter_mut().for_each(fill);
        } else {
            groups.iter_mut().for_each(fill);
        }
        table
    }

    /// Rows `range` of the layout.
    #[allow(clippy::needless_range_loop)] // several per-draw arrays side by side
    fn chunk(
        &self,
        range: std::ops::Range<usize>,
        table: Option<&[[f64; 2]]>,
        alive: Option<&AliveCache>,
        disc: &[(f64, f64)],
    ) -> ChunkOut {
        let nd = self.draws.len();
        let lay = self.layout;
        let band = self.band;
        let w = self.data.weights();
        let mut out = ChunkOut {
            customers: Vec::with_capacity(lay.offsets[range.end] - lay.offsets[range.start]),
            total_purchases: vec![0.0; nd],
            total_clv: vec![0.0; nd],
            bad: Vec::new(),
        };
        let (mut purch, mut unit) = (vec![0.0; nd], vec![0.0; nd]);
        let mut buf = vec![0.0; nd];
        // Per row and draw for varied spend: population mean, A(x), B(x).
        let (mut pop, mut a_x, mut b_x) = (vec![0.0; nd], vec![0.0; nd], vec![0.0; nd]);
        // P(alive) per draw of the row, with its per-draw and per-x logarithms (AliveCache)
        let mut pa = vec![0.0; nd];
        let ln_a: Vec<f64> = self
            .draws
            .iter()
            .map(|d| d.model.params()[2].ln())
            .collect();
        let (mut per_x, mut per_x_of) = (vec![0.0; nd], None::<u64>);
        for j in range {
            let (x, tx, t) = (lay.x[j], lay.tx[j], lay.t[j]);
            match (table, &lay.pairs) {
                (Some(table), Some((_, _, row_pair))) => {
                    let base = row_pair[j] as usize * nd;
                    match alive {
                        Some(c) => {
                            if per_x_of != Some(x.to_bits()) {
                                c.per_x(self.draws, x, &mut per_x);
                                per_x_of = Some(x.to_bits());
                            }
                            c.p_alive(self.draws, j, (x, tx, t), &per_x, &ln_a, &mut pa);
                        }
                        None => {
                            for (p, d) in pa.iter_mut().zip(self.draws) {
                                *p = d.model.p_alive(x, tx, t);
                            }
                        }
                    }
                    for k in 0..nd {
                        let [e, u] = table[base + k];
                        purch[k] = e * pa[k];
                        unit[k] = u * pa[k];
                    }
                }
                _ => {
                    for (k, d) in self.draws.iter().enumerate() {
                        let cum = |h: f64| d.model.expected_purchases(h, x, tx, t);
                        let with_clv = self.spend.is_some();
                        let (e, u) =
                            horizon_and_clv_unit(self.horizon, with_clv, self.clv, disc, cum);
                        purch[k] = e;
                        unit[k] = u;
                    }
                }
            }
            for k in 0..nd {
                if !(purch[k].is_finite() && unit[k].is_finite()) {
                    out.bad.push(k);
                }
            }
            if !out.bad.is_empty() {
                // This pass is redone without the bad draws; the rest of the chunk is moot.
                continue;
            }
            let members = &lay.members[lay.offsets[j]..lay.offsets[j + 1]];
            let weight: f64 = members.iter().map(|&i| w[i as usize]).sum();
            buf.copy_from_slice(&purch);
            let (p_lo, p_hi) = band.band(&mut buf);
            for k in 0..nd {
                out.total_purchases[k] += weight * purch[k];
            }
            let Some(spend) = self.spend else {
                out.customers
                    .extend(members.iter().map(|&i| (i, [p_lo, p_hi, 0.0, 0.0])));
                continue;
            };
            // Quantiles of the CLV per unit of spend, for the spend values that do not move.
            let mut unit_q = None;
            let mut unit_quantiles = |buf: &mut Vec<f64>| {
                *unit_q.get_or_insert_with(|| {
                    buf.copy_from_slice(&unit);
                    band.band(buf)
                })
            };
            if !spend.varied {
                let (u_lo, u_hi) = unit_quantiles(&mut buf);
                let mut value_sum = 0.0;
                for &i in members {
                    let v = spend.values[i as usize];
                    value_sum += w[i as usize] * v;
                    out.customers.push((i, [p_lo, p_hi, v * u_lo, v * u_hi]));
                }
                for k in 0..nd {
                    out.total_clv[k] += value_sum * unit[k];
                }
                continue;
            }
            for (k, d) in self.draws.iter().enumerate() {
                // Accepted draws with varied spend always carry one.
                let s = d.spend.unwrap_or(SpendDraw {
                    p: f64::NAN,
                    q: f64::NAN,
                    v: f64::NAN,
                    mean: f64::NAN,
                });
                pop[k] = s.mean;
                (a_x[k], b_x[k]) = if x > 0.0 {
                    let den = s.p * x + s.q - 1.0;
                    (s.p * s.v / den, s.p * x / den)
                } else {
                    (0.0, 0.0)
                };
            }
            let input = spend.input;
            let mut pop_q = None;
            let (mut w_pop, mut w_own_m, mut w_cond, mut w_cond_m) = (0.0, 0.0, 0.0, 0.0);
            for &i in members {
                let iu = i as usize;
                let (wi, m) = (w[iu], input.monetary[iu]);
                let q = match spend_class(input.frequency[iu], m, input.own_mean_above) {
                    SpendClass::Population => {
                        w_pop += wi;
                        *pop_q.get_or_insert_with(|| {
                            for k in 0..nd {
                                buf[k] = pop[k] * unit[k];
                            }
                            band.band(&mut buf)
                        })
                    }
                    SpendClass::Own => {
                        w_own_m += wi * m;
                        let (u_lo, u_hi) = unit_quantiles(&mut buf);
                        (m * u_lo, m * u_hi)
                    }
                    SpendClass::Conditional(m) => {
                        w_cond += wi;
                        w_cond_m += wi * m;
                        for k in 0..nd {
                            buf[k] = (a_x[k] + b_x[k] * m) * unit[k];
                        }
                        band.band(&mut buf)
                    }
                };
                out.customers.push((i, [p_lo, p_hi, q.0, q.1]));
            }
            for k in 0..nd {
                let spend_sum = w_pop * pop[k] + w_own_m + w_cond * a_x[k] + w_cond_m * b_x[k];
                out.total_clv[k] += spend_sum * unit[k];
            }
        }
        out.bad.sort_unstable();
        out.bad.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_quantiles_are_the_selected_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in [1, 2, 3, 7, 19, 20, 21, 40, 199, 200, 201, 500] {
            for rep in 0..20 {
                // the ends of the order too: infinities, the largest and the subnormal values
                let ends = [
                    f64::NEG_INFINITY,
                    -f64::MAX,
                    -5e-324,
                    -0.0,
                    0.0,
                    5e-324,
                    f64::MAX,
                    f64::INFINITY,
                ];
                let v: Vec<f64> = (0..n)
                    .map(|i| match rep % 4 {
                        0 => rng.sample::<f64, _>(StandardNormal),
                        1 => (i % 4) as f64 - if i % 5 == 0 { 0.0 } else { -0.0 },
                        2 => ends[rng.random_range(0..ends.len())],
                        _ => rng.sample::<f64, _>(StandardNormal).round(),
                    })
                    .collect();
                for (lo, hi) in [(0.05, 0.95), (0.1, 0.9), (0.025, 0.975), (0.3, 0.7)] {
                    let fast = quantiles(&mut v.clone(), lo, hi);
                    let mut w = v.clone();
                    let slow = (quantile(&mut w, lo), quantile(&mut w, hi));
                    assert_eq!(
                        (fast.0.to_bits(), fast.1.to_bits()),
                        (slow.0.to_bits(), slow.1.to_bits()),
                        "n {n} rep {rep} ({lo}, {hi})"
                    );
                }
            }
        }
    }

    #[test]
    fn cached_p_alive_is_bit_identical_to_the_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for kind in [ModelKind::MbgNbd, ModelKind::BgNbd] {
            let theta = [0.47_f64.ln(), 4.2_f64.ln(), 1.02_f64.ln(), 2.63_f64.ln()];
            let chol: Vec<Vec<f64>> = (0..4)
                .map(|i| (0..4).map(|j| if i == j { 0.05 } else { 0.0 }).collect())
                .collect();
            let draws: Vec<Draw> = (0..50)
                .map(|_| Draw {
                    model: {
                        let z: Vec<f64> = (0..4).map(|_| rng.sample(StandardNormal)).collect();
                        from_params(kind, &shifted(&theta, &chol, &z)).unwrap()
                    },
                    spend: None,
                })
                .collect();
            let (mut x, mut tx, mut t) = (Vec::new(), Vec::new(), Vec::new());
            for xi in 0..6 {
                for day in [0u32, 1, 5, 90, 400, 729] {
                    let ti = f64::from(day + 3) / 7.0;
                    x.push(f64::from(xi));
                    tx.push(if xi == 0 { 0.0 } else { f64::from(day) / 7.0 });
                    t.push(ti);
                }
            }
            let offsets: Vec<usize> = (0..=x.len()).collect();
            let members: Vec<u32> = (0..x.len() as u32).collect();
            let layout = Layout {
                x: &x,
                tx: &tx,
                t: &t,
                offsets: &offsets,
                members: &members,
                pairs: None,
            };
            let cache = AliveCache::new(&draws, &layout).unwrap();
            let ln_a: Vec<f64> = draws.iter().map(|d| d.model.params()[2].ln()).collect();
            let (mut per_x, mut out) = (vec![0.0; draws.len()], vec![0.0; draws.len()]);
            for j in 0..x.len() {
                cache.per_x(&draws, x[j], &mut per_x);
                cache.p_alive(&draws, j, (x[j], tx[j], t[j]), &per_x, &ln_a, &mut out);
                for (d, &p) in draws.iter().zip(&out) {
                    let want = d.model.p_alive(x[j], tx[j], t[j]);
                    assert_eq!(
                        p.to_bits(),
                        want.to_bits(),
                        "{kind:?} row {j}: {p} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn draws_cannot_be_zero() {
        let e = IntervalOptions::new(0, 1, (0.05, 0.95)).unwrap_err();
        assert!(matches!(e, ClvError::InvalidArgument { name: "draws", .. }));
    }

    #[test]
    fn quantiles_must_lie_inside_zero_one() {
        for level in [(0.0, 0.9), (0.1, 1.0), (-0.1, 0.5), (0.5, f64::NAN)] {
            assert!(IntervalOptions::new(10, 1, level).is_err(), "{level:?}");
        }
    }

    #[test]
    fn lower_quantile_must_be_below_upper() {
        assert!(IntervalOptions::new(10, 1, (0.5, 0.5)).is_err());
        assert!(IntervalOptions::new(10, 1, (0.9, 0.1)).is_err());
        assert!(IntervalOptions::new(10, 1, (0.1, 0.9)).is_ok());
    }

    #[test]
    fn options_read_back_are_validated() {
        let o = IntervalOptions::default();
        assert_eq!((o.draws(), o.seed(), o.level()), (200, 0, (0.05, 0.95)));
        let text = serde_json::to_string(&o).unwrap();
        assert_eq!(serde_json::from_str::<IntervalOptions>(&text).unwrap(), o);
        let bad = r#"{"draws":0,"seed":1,"lower":0.05,"upper":0.95}"#;
        assert!(serde_json::from_str::<IntervalOptions>(bad).is_err());
    }

    #[test]
    fn quantile_is_numpy_type_7() {
        let mut v: Vec<f64> = (0..11).rev().map(f64::from).collect();
        assert_eq!(quantiles(&mut v, 0.05, 0.95), (0.5, 9.5));
        let mut one = vec![3.0];
        assert_eq!(quantiles(&mut one, 0.05, 0.95), (3.0, 3.0));
        let mut v = vec![1.0, 4.0, 2.0, 3.0];
        // numpy.quantile([1, 2, 3, 4], 0.1) = 1.3, 0.9 → 3.7
        let (a, b) = quantiles(&mut v, 0.1, 0.9);
        assert!(
            (a - 1.3).abs() < 1e-12 && (b - 3.7).abs() < 1e-12,
            "{a} {b}"
        );
    }

    #[test]
    fn cholesky_rebuilds_the_matrix_and_allows_fixed_parameters() {
        let a = vec![
            vec![4.0, 2.0, 0.0],
            vec![2.0, 5.0, 0.0],
            vec![0.0, 0.0, 0.0],
        ];
        let l = cholesky(&a, 3, "c").unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| l[i][k] * l[j][k]).sum();
                assert!((v - a[i][j]).abs() < 1e-12);
            }
        }
        let neg = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        assert!(cholesky(&neg, 2, "c").is_err());
        assert!(cholesky(&neg, 3, "c").is_err());
        let nan = vec![vec![f64::NAN, 0.0], vec![0.0, 1.0]];
        assert!(matches!(
            cholesky(&nan, 2, "c"),
            Err(ClvError::NonFinite { count: 1, .. })
        ));
    }

    #[test]
    fn zero_covariance_gives_the_point_estimate() {
        let data = CalibrationData::new(
            vec![0.0, 1.0, 3.0, 3.0],
            vec![0.0, 5.0, 20.0, 20.0],
            vec![30.0, 30.0, 35.0, 35.0],
        )
        .unwrap();
        let model = Model::BgNbd(BgNbd::new(0.24, 4.4, 0.79, 2.4).unwrap());
        let zero = vec![vec![0.0; 4]; 4];
        let opts = IntervalOptions::new(5, 7, (0.05, 0.95)).unwrap();
        let clv = ClvOptions::new(6, 0.01, 4.345).unwrap();
        let r = customer_intervals(&model, &zero, None, &data, &clv, 10.0, &opts).unwrap();
        assert_eq!(r.report.used_draws, 5);
        assert!(r.clv.is_none() && r.report.total_clv.is_none());
        for i in 0..4 {
            let p = r.purchases.point[i];
            assert!((r.purchases.lower[i] - p).abs() <= 1e-12 * p);
            assert!((r.purchases.upper[i] - p).abs() <= 1e-12 * p);
        }
    }

    #[test]
    fn interpolated_pair_table_equals_the_exact_values() {
        // Daily T over two years for x = 0, 3 and 40, so every x is interpolated.
        let (mut x, mut tx, mut t) = (Vec::new(), Vec::new(), Vec::new());
        for k in [0.0, 3.0, 40.0] {
            for day in 1..=730 {
                x.push(k);
                tx.push(if k > 0.0 { f64::from(day) / 2.0 } else { 0.0 });
                t.push(f64::from(day));
            }
        }
        let data = CalibrationData::new(x, tx, t).unwrap();
        let clv = ClvOptions::new(12, 0.01, 30.0).unwrap();
        let models = [
            Model::BgNbd(BgNbd::new(0.25, 0.5, 0.8, 2.5).unwrap()),
            Model::BgNbd(BgNbd::new(2.0, 60.0, 1.7, 0.4).unwrap()),
            Model::MbgNbd(MbgNbd::new(0.5, 3.0, 0.9, 1.6).unwrap()),
            Model::ParetoNbd(ParetoNbd::new(0.55, 10.58, 0.61, 11.67).unwrap()),
            Model::ParetoNbd(ParetoNbd::new(1.45, 0.5, 0.56, 0.8).unwrap()),
        ];
        let draws: Vec<Draw> = models
            .iter()
            .map(|&model| Draw { model, spend: None })
            .collect();
        let layout = Layout::new(&models[0], &data);
        let values = vec![1.0; data.len()];
        let gg = GammaGamma::new(6.0, 4.0, 15.0).unwrap();
        let input = SpendInput {
            model: &gg,
            log_covariance: None,
            frequency: data.frequency(),
            monetary: &values,
            own_mean_above: None,
        };
        let spend = SpendSetup {
            input: &input,
            values: &values,
            varied: false,
        };
        let pass = Pass {
            draws: &draws,
            layout: &layout,
            data: &data,
            spend: Some(&spend),
            clv: &clv,
            horizon: 364.0,
            band: Reduce::Quantiles(0.05, 0.95),
        };
        let disc: Vec<(f64, f64)> = (1..=12).map(|i| (f64::from(i), 1.01f64.powi(i))).collect();
        let (px, pt, _) = layout.pairs.as_ref().unwrap();
        assert_eq!(px.len(), 3 * 730);
        let table = pass.pair_table(px, pt, &disc);
        for (j, (&x, &t)) in px.iter().zip(*pt).enumerate() {
            for (k, d) in draws.iter().enumerate() {
                let cum = |h: f64| d.model.expected_if_alive(h, x, t).unwrap();
                let want = horizon_and_clv_unit(364.0, true, &clv, &disc, cum);
                let got = table[j * draws.len() + k];
                for (g, w) in got.iter().zip([want.0, want.1]) {
                    assert!(
                        (g - w).abs() <= 1e-11 * w.abs(),
                        "x {x} T {t} {k}: {g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn spend_classes_follow_expected_average_values_with() {
        assert_eq!(spend_class(0.0, 0.0, None), SpendClass::Population);
        assert_eq!(spend_class(2.0, -1.0, None), SpendClass::Population);
        assert_eq!(spend_class(2.0, 50.0, Some(40.0)), SpendClass::Own);
        assert_eq!(
            spend_class(2.0, 30.0, Some(40.0)),
            SpendClass::Conditional(30.0)
        );
    }
}
