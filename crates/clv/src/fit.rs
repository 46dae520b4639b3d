//! Maximum-likelihood driver shared by all models: log-parameters, several starts, weighted
//! rows, deterministic parallel sums, convergence checks and observed-information SEs.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{ClvError, FitHint, FitTrouble, Result};
use crate::optimize::{self, Tolerances};

/// Maximum number of parameters of any model here.
pub(crate) const MAXP: usize = 4;
/// Rows per chunk in likelihood sums; fixed so the sum order (and result) never depends on
/// the number of threads.
const CHUNK: usize = 1024;
/// Below this many rows the sums run on one thread.
const PAR_MIN: usize = 8 * CHUNK;

/// Fewest customers (sum of weights) a transaction model is fitted on. Four parameters
/// describe the spread of purchase rates and dropout across customers; below ten customers
/// the optimum is a boundary or a flat ridge and the parameters would be arbitrary.
pub const MIN_CUSTOMERS: usize = 10;

/// Options for every `fit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct FitOptions {
    /// L2 penalty λ·Σ θ² on the natural parameters, added to the mean negative log-likelihood
    /// (lifetimes' `penalizer_coef`). 0 = plain MLE.
    pub penalizer: f64,
    /// Iteration cap per start (BFGS iterations; Nelder-Mead gets 20× as many evaluations).
    pub max_iterations: usize,
    /// Convergence: max |∂(−LL/N)/∂ln θ| below this.
    pub gradient_tolerance: f64,
    /// Starting natural parameters (in the model's order) to try before the built-in starts.
    pub initial_params: Option<Vec<f64>>,
    /// Compute standard errors from the observed information.
    pub standard_errors: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            penalizer: 0.0,
            max_iterations: 1000,
            gradient_tolerance: 1e-9,
            initial_params: None,
            standard_errors: true,
        }
    }
}

/// What a fit did: parameters, their standard errors and how the optimiser ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FitReport {
    /// Model name (`bg_nbd`, ...); owned so that a report read back from JSON is one too.
    pub model: String,
    /// Parameter names in order.
    pub param_names: Vec<String>,
    /// Fitted natural parameters.
    pub params: Vec<f64>,
    /// Standard errors (observed information, delta method); None when not requested.
    pub std_errors: Option<Vec<f64>>,
    /// Covariance of the log-parameters (ln θ, in the order of `param_names`): the inverse
    /// observed information the standard errors come from. For parameter uncertainty
    /// (`crate::intervals`); None when standard errors were not requested, and in summaries
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_covariance: Option<Vec<Vec<f64>>>,
    /// Log-likelihood summed over customers in the data's own time units (without penalty).
    pub log_likelihood: f64,
    /// Optimiser iterations of the winning start.
    pub iterations: usize,
    /// Gradient tolerance met.
    pub converged: bool,
    /// max |∂(−LL/N − penalty)/∂ln θ| at the optimum.
    pub gradient_norm: f64,
    /// Customers (sum of weights).
    pub n_customers: f64,
    /// Unique rows the likelihood was evaluated on.
    pub n_rows: usize,
    /// Starting points tried.
    pub starts: usize,
    /// The penalty used.
    pub penalizer: f64,
}

/// A model with its fit report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitted<M> {
    /// The fitted model (parameters validated).
    pub model: M,
    /// How it was fitted.
    pub report: FitReport,
}

/// Weighted rows (x, tₓ, T, w); Gamma-Gamma uses (x, m̄, 0, w).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub a: &'a [f64],
    pub b: &'a [f64],
    pub c: &'a [f64],
    pub w: &'a [f64],
}

impl Rows<'_> {
    pub(crate) fn total_weight(&self) -> f64 {
        self.w.iter().sum()
    }
}

/// A model fitted by maximum likelihood.
pub(crate) trait Mle: Sized + Sync {
    const NAME: &'static str;
    const NAMES: &'static [&'static str];
    /// Analytic gradient available (`row_grad`).
    const ANALYTIC: bool;
    fn from_slice(p: &[f64]) -> Result<Self>;
    fn row_ll(&self, a: f64, b: f64, c: f64) -> f64;
    /// Row log-likelihood and its gradient in the natural parameters.
    fn row_grad(&self, a: f64, b: f64, c: f64) -> (f64, [f64; MAXP]) {
        (self.row_ll(a, b, c), [0.0; MAXP])
    }
    /// Weighted sum of the log-likelihood (and, with `grad`, its gradient) over
    /// `rows[range]`; models override it to hoist per-evaluation and per-x work out of the
    /// row loop. Must equal the sum of `row_ll`/`row_grad` up to rounding.
    fn sum_rows(&self, rows: Rows<'_>, range: std::ops::Range<usize>, grad: bool) -> [f64; 5] {
        let mut acc = [0.0; 5];
        for i in range {
            let w = rows.w[i];
            if grad {
                let (l, g) = self.row_grad(rows.a[i], rows.b[i], rows.c[i]);
                acc[0] += w * l;
                for k in 0..MAXP {
                    acc[k + 1] += w * g[k];
                }
            } else {
                acc[0] += w * self.row_ll(rows.a[i], rows.b[i], rows.c[i]);
            }
        }
        acc
    }
}

/// The weighted row-by-row sums `[LL, ∂LL/∂θ₁, …]` of `m` over `rows`, from `row_grad`: the
/// reference a model's own `sum_rows` (or row index) must equal.
#[cfg(test)]
pub(crate) fn row_sums<M: Mle>(m: &M, rows: Rows<'_>) -> [f64; 5] {
    let mut want = [0.0; 5];
    for i in 0..rows.a.len() {
        let (l, g) = m.row_grad(rows.a[i], rows.b[i], rows.c[i]);
        want[0] += rows.w[i] * l;
        for k in 0..MAXP {
            want[k + 1] += rows.w[i] * g[k];
        }
    }
    want
}

/// `n` rows (x, tₓ, T, weight) for the row-index tests: several chunks, the parallel path,
/// and x, tₓ and T each repeated.
#[cfg(test)]
pub(crate) fn repeated_rows(n: usize) -> [Vec<f64>; 4] {
    let x: Vec<f64> = (0..n).map(|i| (i / 700) as f64).collect();
    let t: Vec<f64> = (0..n).map(|i| 20.0 + (i % 997) as f64 * 0.05).collect();
    let tx: Vec<f64> = (0..n)
        .map(|i| match x[i] {
            0.0 => 0.0,
            _ => t[i] * ((i % 13) as f64 / 13.0),
        })
        .collect();
    let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 5) as f64).collect();
    [x, tx, t, w]
}

/// Deterministic sum of `f` over fixed chunks of `0..n` (in parallel for large `n`): the
/// partition and the order the chunk results are added in never depend on the number of
/// threads, so neither does the result.
pub(crate) fn chunked_sum<F>(n: usize, f: F) -> [f64; 5]
where
    F: Fn(std::ops::Range<usize>) -> [f64; 5] + Sync,
{
    let starts: Vec<usize> = (0..n).step_by(CHUNK).collect();
    let chunk = |s: usize| f(s..(s + CHUNK).min(n));
    let parts: Vec<[f64; 5]> = if n >= PAR_MIN {
        starts.par_iter().map(|&s| chunk(s)).collect()
    } else {
        starts.iter().map(|&s| chunk(s)).collect()
    };
    let mut out = [0.0; 5];
    for p in parts {
        for k in 0..5 {
            out[k] += p[k];
        }
    }
    out
}

/// Hash with a fixed seed for the maps of the models' row indexes (`pareto_nbd::RowIndex`,
/// [`RowIndex`]), keyed by f64 bit patterns. foldhash mixes whole numbers' all-zero low
/// bits; the maps are only looked up, never iterated (ids follow the order of the rows).
pub(crate) type KeyHash = foldhash::fast::FixedState;

/// Hash map keyed by f64 bit patterns.
pub(crate) type KeyMap<V> = HashMap<u64, V, KeyHash>;

/// Each row's x, tₓ and T as indexes into the distinct values of each, built once per fit (it
/// depends on the rows only): a model whose row terms are functions of x, of tₓ or of T alone
/// computes each once per evaluation (BG/NBD, MBG/NBD). At 1M customers (388,752 distinct
/// rows) that is 730 x, 657 tₓ and 126k T instead of 777k of each.
pub(crate) struct RowIndex {
    pub(crate) xs: Vec<f64>,
    pub(crate) txs: Vec<f64>,
    pub(crate) ts: Vec<f64>,
    /// Per row: (x, tₓ, T) indices.
    pub(crate) rows: Vec<[u32; 3]>,
}

impl RowIndex {
    pub(crate) fn new(rows: Rows<'_>) -> Self {
        fn id(map: &mut KeyMap<u32>, list: &mut Vec<f64>, v: f64) -> u32 {
            *map.entry(v.to_bits()).or_insert_with(|| {
                list.push(v);
                (list.len() - 1) as u32
            })
        }
        let (mut xs, mut txs, mut ts) = (Vec::new(), Vec::new(), Vec::new());
        let (mut x_ids, mut tx_ids, mut t_ids) =
            (KeyMap::default(), KeyMap::default(), KeyMap::default());
        let idx = (0..rows.a.len())
            .map(|i| {
                [
                    id(&mut x_ids, &mut xs, rows.a[i]),
                    id(&mut tx_ids, &mut txs, rows.b[i]),
                    id(&mut t_ids, &mut ts, rows.c[i]),
                ]
            })
            .collect();
        RowIndex {
            xs,
            txs,
            ts,
            rows: idx,
        }
    }
}

/// `f` of each of `items`, in parallel for long lists (each value on its own, so the same for
/// any number of threads).
pub(crate) fn table<T: Send, I: Sync>(items: &[I], f: impl Fn(&I) -> T + Sync + Send) -> Vec<T> {
    if items.len() >= 4096 {
        items.par_iter().map(f).collect()
    } else {
        items.iter().map(f).collect()
    }
}

/// Deterministic (chunked) sum of `m.sum_rows` over all rows, in parallel for large inputs.
fn model_sum<M: Mle>(m: &M, rows: Rows<'_>, grad: bool) -> [f64; 5] {
    chunked_sum(rows.a.len(), |range| m.sum_rows(rows, range, grad))
}

/// Total weighted log-likelihood.
pub(crate) fn total_ll<M: Mle>(m: &M, rows: Rows<'_>) -> f64 {
    model_sum(m, rows, false)[0]
}

/// Whole-data sums `[LL, ∂LL/∂θ₁, …]` of a model (the gradient only when asked): what a fit
/// evaluates. `fit_mle` uses `model_sum`; a model can bring its own (`fit_mle_with`).
pub(crate) type SumFn<'a, M> = &'a (dyn Fn(&M, bool) -> [f64; 5] + Sync);

fn split(s: [f64; 5]) -> (f64, [f64; MAXP]) {
    (s[0], [s[1], s[2], s[3], s[4]])
}

fn exp_all(theta: &[f64]) -> Vec<f64> {
    theta.iter().map(|t| t.exp()).collect()
}

/// Checks the options every fit takes.
pub(crate) fn check_options(opts: &FitOptions) -> Result<()> {
    if !(opts.penalizer.is_finite() && opts.penalizer >= 0.0) {
        return Err(ClvError::InvalidArgument {
            name: "penalizer",
            value: opts.penalizer,
            rule: "must be finite and >= 0",
        });
    }
    Ok(())
}

/// Whole customers in a weighted count (rounded down, for messages).
fn whole(w: f64) -> usize {
    w.floor() as usize
}

/// Up-front checks that a transaction model `M` can be identified from `data`, so degenerate
/// data gets its real reason instead of an optimiser failure: some time observed (not every
/// T = 0), some repeat purchases, [`MIN_CUSTOMERS`] customers and at least one repeat customer
/// per parameter (repeat customers carry all the information on purchase rates and dropout).
pub(crate) fn check_transaction_data<M: Mle>(
    data: &crate::data::CalibrationData,
    opts: &FitOptions,
) -> Result<()> {
    check_options(opts)?;
    let w = data.weights();
    let customers = data.total_weight();
    if data.age().iter().all(|&t| t == 0.0) {
        return Err(ClvError::ZeroObservationTime {
            customers: whole(customers),
        });
    }
    let repeat: f64 = data
        .frequency()
        .iter()
        .zip(w)
        .filter(|&(&x, _)| x > 0.0)
        .map(|(_, &w)| w)
        .sum();
    if repeat == 0.0 {
        return Err(ClvError::NoRepeatPurchases {
            customers: whole(customers),
        });
    }
    if customers < MIN_CUSTOMERS as f64 {
        return Err(ClvError::TooFewCustomers {
            model: M::NAME,
            what: "customers",
            found: whole(customers),
            minimum: MIN_CUSTOMERS,
        });
    }
    let minimum = M::NAMES.len();
    if repeat < minimum as f64 {
        return Err(ClvError::TooFewCustomers {
            model: M::NAME,
            what: "repeat customers (one per parameter)",
            found: whole(repeat),
            minimum,
        });
    }
    Ok(())
}

/// Fits `M` by maximum likelihood from the given starts (natural parameters).
pub(crate) fn fit_mle<M: Mle>(
    rows: Rows<'_>,
    opts: &FitOptions,
    default_starts: Vec<Vec<f64>>,
) -> Result<Fitted<M>> {
    fit_mle_with(rows, opts, default_starts, &|m: &M, grad| {
        model_sum(m, rows, grad)
    })
}

/// `fit_mle` with the model's own whole-data sums (`sum`, over the same `rows`).
pub(crate) fn fit_mle_with<M: Mle>(
    rows: Rows<'_>,
    opts: &FitOptions,
    default_starts: Vec<Vec<f64>>,
    sum: SumFn<'_, M>,
) -> Result<Fitted<M>> {
    let np = M::NAMES.len();
    check_options(opts)?;
    let w_total = rows.total_weight();
    let lambda = opts.penalizer;
    let objective = |theta: &[f64]| -> f64 {
        let p = exp_all(theta);
        match M::from_slice(&p) {
            Ok(m) => -sum(&m, false)[0] / w_total + lambda * p.iter().map(|v| v * v).sum::<f64>(),
            Err(_) => f64::INFINITY,
        }
    };
    let value_grad = |theta: &[f64]| -> (f64, Vec<f64>) {
        let p = exp_all(theta);
        let Ok(m) = M::from_slice(&p) else {
            return (f64::INFINITY, vec![0.0; np]);
        };
        if M::ANALYTIC {
            let (ll, g) = split(sum(&m, true));
            let f = -ll / w_total + lambda * p.iter().map(|v| v * v).sum::<f64>();
            let grad = (0..np)
                .map(|i| -g[i] * p[i] / w_total + 2.0 * lambda * p[i] * p[i])
                .collect();
            (f, grad)
        } else {
            (
                objective(theta),
                optimize::numeric_gradient(&objective, theta, 1e-5),
            )
        }
    };

    let mut starts: Vec<Vec<f64>> = opts.initial_params.iter().cloned().collect();
    starts.extend(default_starts);
    let tol = Tolerances {
        gtol: if M::ANALYTIC {
            opts.gradient_tolerance
        } else {
            opts.gradient_tolerance.max(1e-7)
        },
        max_iter: opts.max_iterations,
    };
    // Most promising start first (lowest objective); the later ones are fallbacks, tried only
    // while no start has converged — each full run costs tens of likelihood passes.
    let mut ranked: Vec<(f64, &Vec<f64>)> = starts
        .iter()
        .filter(|s| s.len() == np && M::from_slice(s).is_ok())
        .map(|s| {
            let theta: Vec<f64> = s.iter().map(|v| v.ln()).collect();
            let f = objective(&theta);
            (if f.is_nan() { f64::INFINITY } else { f }, s)
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<optimize::Minimum> = None;
    let mut tried = 0;
    for (_, s) in ranked {
        if best.as_ref().is_some_and(|b| b.converged) {
            break;
        }
        tried += 1;
        let theta0: Vec<f64> = s.iter().map(|v| v.ln()).collect();
        let theta0 = if M::ANALYTIC {
            theta0
        } else {
            // Only to get near the optimum: the numeric-gradient BFGS below converges from
            // there in a few iterations, far cheaper than shrinking the simplex to 1e-9.
            optimize::nelder_mead(
                &objective,
                &theta0,
                0.5,
                20 * opts.max_iterations,
                (1e-9, 1e-3),
            )
            .0
        };
        let m = optimize::bfgs(&value_grad, &theta0, tol);
        if m.f.is_finite() && best.as_ref().is_none_or(|b| m.f < b.f - 1e-12 * b.f.abs()) {
            best = Some(m);
        }
    }
    // only what a user can set: `[clv] penalizer` and the time unit (iterations are not a key)
    let hint = FitHint::Penalizer;
    let Some(best) = best else {
        return Err(ClvError::FitFailed {
            model: M::NAME,
            reason: FitTrouble::NotFinite {
                starts: starts.len(),
            },
            hint: FitHint::CheckInput,
        });
    };
    if let Some(i) = best.x.iter().position(|t| t.abs() > 30.0) {
        return Err(ClvError::FitFailed {
            model: M::NAME,
            reason: FitTrouble::RanOff {
                parameter: M::NAMES[i],
                value: best.x[i].exp(),
            },
            hint,
        });
    }
    // Precision-limited stops at a good optimum are accepted (clv.md §5.8); real failures are not.
    if !best.converged && best.grad_inf > 1e-5 {
        return Err(ClvError::FitFailed {
            model: M::NAME,
            reason: FitTrouble::NoConvergence {
                iterations: best.iterations,
                gradient: best.grad_inf,
            },
            hint,
        });
    }
    let params = exp_all(&best.x);
    let model = M::from_slice(&params)?;
    let log_likelihood = sum(&model, false)[0];
    // A flat or saddle optimum (information not positive definite) means some parameter is
    // not identified: the numbers would be arbitrary, so it is an error, not a result.
    let Some((se, cov)) = standard_errors::<M>(sum, &best.x) else {
        return Err(ClvError::FitFailed {
            model: M::NAME,
            reason: FitTrouble::NotIdentified { what: "parameters" },
            hint: FitHint::MoreData,
        });
    };
    let std_errors = opts.standard_errors.then_some(se);
    let log_covariance = opts.standard_errors.then_some(cov);
    Ok(Fitted {
        model,
        report: FitReport {
            model: M::NAME.to_string(),
            param_names: M::NAMES.iter().map(|n| n.to_string()).collect(),
            params,
            std_errors,
            log_covariance,
            log_likelihood,
            iterations: best.iterations,
            converged: best.converged,
            gradient_norm: best.grad_inf,
            n_customers: w_total,
            n_rows: rows.a.len(),
            starts: tried,
            penalizer: lambda,
        },
    })
}

/// SEs from the observed information in log-parameters, mapped by the delta method:
/// se(θ) = θ·se(ln θ); and the covariance of the log-parameters they come from.
fn standard_errors<M: Mle>(sum: SumFn<'_, M>, theta: &[f64]) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    let np = theta.len();
    let ll = |t: &[f64]| match M::from_slice(&exp_all(t)) {
        Ok(m) => sum(&m, false)[0],
        Err(_) => f64::NAN,
    };
    let grad = |t: &[f64]| -> Vec<f64> {
        let p = exp_all(t);
        match M::from_slice(&p) {
            Ok(m) => {
                let g = split(sum(&m, true)).1;
                (0..np).map(|i| g[i] * p[i]).collect()
            }
            Err(_) => vec![f64::NAN; np],
        }
    };
    let h = if M::ANALYTIC {
        optimize::numeric_hessian(&ll, Some(&grad), theta)
    } else {
        optimize::numeric_hessian(&ll, None, theta)
    };
    let neg: Vec<Vec<f64>> = h.iter().map(|r| r.iter().map(|v| -v).collect()).collect();
    let cov = optimize::spd_inverse(&neg)?;
    let se = (0..np).map(|i| theta[i].exp() * cov[i][i].sqrt()).collect();
    // The solve leaves the off-diagonal pairs equal only up to rounding; their mean is
    // exactly symmetric (the diagonal, and so the SEs, are unchanged).
    let sym = (0..np)
        .map(|i| (0..np).map(|j| 0.5 * (cov[i][j] + cov[j][i])).collect())
        .collect();
    Some((se, sym))
}
