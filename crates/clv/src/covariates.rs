//! Time-invariant (static) covariates for the Pareto/NBD and the BG/NBD (Fader & Hardie 2007,
//! note 019 "Incorporating time-invariant covariates into the Pareto/NBD and BG/NBD models"),
//! in CLVTools' parameterisation, so its published estimates carry over:
//!
//! - Pareto/NBD: αᵢ = α·exp(−γ_trans·zᵢ), βᵢ = β·exp(−γ_life·zᵢ);
//! - BG/NBD: αᵢ = α·exp(−γ_trans·zᵢ), aᵢ = a·exp(γ_life·zᵢ), bᵢ = b·exp(γ_life·zᵢ).
//!
//! A positive `trans.<col>` raises the purchase rate (the Gamma mean r/αᵢ); a positive
//! `life.<col>` raises the Pareto/NBD's dropout rate (mean s/βᵢ) and scales the BG/NBD's Beta
//! (a, b) together. A column constrained to one coefficient on both processes
//! (CLVTools' `names.cov.constr`) gets one coefficient `constr.<col>` used as γ_trans and γ_life.
//!
//! The fit maximises the likelihood in (ln r, ln α, ln s|a, ln β|b, γ…) with BFGS and the
//! analytic gradient (each customer's row gradient in its own αᵢ/βᵢ, by the chain rule), from
//! the fit without covariates; standard errors come from the observed information.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::bgnbd::BgNbd;
use crate::data::CalibrationData;
use crate::error::{ClvError, CovariateProblem, FitHint, FitTrouble, Result};
use crate::fit::{FitOptions, FitReport, Rows as FitRows};
use crate::model::{Model, par_map};
use crate::optimize::{self, Tolerances};
use crate::pareto_nbd::{ParetoNbd, RowIndex};

/// Rows per chunk of the likelihood sums (fixed, so the sum never depends on the thread count).
const CHUNK: usize = 1024;
/// Below this many rows the sums run on one thread.
const PAR_MIN: usize = 8 * CHUNK;

/// A covariate design: one row per customer (in the order of the [`CalibrationData`] it goes
/// with) and one named column per covariate.
///
/// Construction checks that every value is finite, that there is at least one column, that
/// names are unique, and that no column is constant or a linear combination of the others and a
/// constant (the base parameters already play the constant's part), so every coefficient is
/// identified.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariates {
    names: Vec<String>,
    /// Row-major, `n × k`.
    values: Vec<f64>,
    n: usize,
}

impl Covariates {
    /// From named columns of equal length.
    pub fn from_columns(columns: Vec<(String, Vec<f64>)>) -> Result<Self> {
        let Some(n) = columns.first().map(|c| c.1.len()) else {
            return Err(ClvError::NoCovariates);
        };
        if n == 0 {
            return Err(ClvError::Empty);
        }
        for (_, c) in &columns {
            if c.len() != n {
                return Err(ClvError::LengthMismatch {
                    column: "covariates",
                    expected: n,
                    actual: c.len(),
                });
            }
        }
        let k = columns.len();
        let mut values = vec![0.0; n * k];
        for (j, (_, c)) in columns.iter().enumerate() {
            for (i, &v) in c.iter().enumerate() {
                values[i * k + j] = v;
            }
        }
        let names = columns.into_iter().map(|c| c.0).collect();
        Self::from_row_major(names, values)
    }

    /// From rows (one per customer, each with one value per name).
    pub fn from_rows(names: Vec<String>, rows: &[Vec<f64>]) -> Result<Self> {
        if names.is_empty() {
            return Err(ClvError::NoCovariates);
        }
        let k = names.len();
        let mut values = Vec::with_capacity(rows.len() * k);
        for r in rows {
            if r.len() != k {
                return Err(ClvError::LengthMismatch {
                    column: "covariate row",
                    expected: k,
                    actual: r.len(),
                });
            }
            values.extend_from_slice(r);
        }
        Self::from_row_major(names, values)
    }

    fn from_row_major(names: Vec<String>, values: Vec<f64>) -> Result<Self> {
        let k = names.len();
        if k == 0 {
            return Err(ClvError::NoCovariates);
        }
        let n = values.len() / k;
        if n == 0 {
            return Err(ClvError::Empty);
        }
        for (j, name) in names.iter().enumerate() {
            if names[..j].contains(name) {
                return Err(bad(name, CovariateProblem::Duplicate));
            }
        }
        let c = Covariates { names, values, n };
        c.check()?;
        Ok(c)
    }

    /// Column `j` as a vector.
    fn column(&self, j: usize) -> Vec<f64> {
        let k = self.names.len();
        (0..self.n).map(|i| self.values[i * k + j]).collect()
    }

    /// Finite values, no constant column, no column collinear with earlier ones (modified
    /// Gram–Schmidt on the centred columns).
    fn check(&self) -> Result<()> {
        let k = self.names.len();
        let cols: Vec<Vec<f64>> = (0..k).map(|j| self.column(j)).collect();
        for (name, c) in self.names.iter().zip(&cols) {
            let count = c.iter().filter(|v| !v.is_finite()).count();
            if count > 0 {
                return Err(bad(name, CovariateProblem::NonFinite { count }));
            }
            if c.iter().all(|&v| v == c[0]) {
                return Err(bad(name, CovariateProblem::Constant { value: c[0] }));
            }
        }
        // Kept (orthonormal) directions, the columns they came from and R (q_i · column).
        let mut q: Vec<Vec<f64>> = Vec::new();
        let mut kept: Vec<usize> = Vec::new();
        let mut r: Vec<Vec<f64>> = Vec::new();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        for (j, c) in cols.iter().enumerate() {
            let mean = c.iter().sum::<f64>() / self.n as f64;
            let mut v: Vec<f64> = c.iter().map(|x| x - mean).collect();
            let norm0 = dot(&v, &v).sqrt();
            let mut proj = Vec::with_capacity(q.len());
            for qi in &q {
                let p = dot(qi, &v);
                for (vv, qq) in v.iter_mut().zip(qi) {
                    *vv -= p * qq;
                }
                proj.push(p);
            }
            let norm = dot(&v, &v).sqrt();
            if norm <= 1e-9 * norm0 {
                // Coefficients b of the earlier kept columns: R b = proj (R upper triangular).
                let m = kept.len();
                let mut b = vec![0.0; m];
                for i in (0..m).rev() {
                    let s: f64 = (i + 1..m).map(|l| r[l][i] * b[l]).sum();
                    b[i] = (proj[i] - s) / r[i][i];
                }
                let with = (0..m)
                    .filter(|&i| b[i].abs() * r[i][i] > 1e-9 * norm0)
                    .map(|i| self.names[kept[i]].clone())
                    .collect();
                return Err(bad(&self.names[j], CovariateProblem::Collinear { with }));
            }
            // r[m] holds column m's projections on q_0..q_m (its own norm last).
            proj.push(norm);
            r.push(proj);
            q.push(v.iter().map(|x| x / norm).collect());
            kept.push(j);
        }
        Ok(())
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of rows (customers).
    pub fn len(&self) -> usize {
        self.n
    }

    /// Never true for a constructed value; present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Number of columns.
    pub fn n_columns(&self) -> usize {
        self.names.len()
    }

    /// Customer `i`'s covariates, one per column.
    pub fn row(&self, i: usize) -> &[f64] {
        let k = self.names.len();
        &self.values[i * k..(i + 1) * k]
    }

    /// Index of a column by name.
    fn index_of(&self, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| bad(name, CovariateProblem::Unknown))
    }
}

fn bad(column: &str, problem: CovariateProblem) -> ClvError {
    ClvError::BadCovariate {
        column: column.to_string(),
        problem,
    }
}

/// Which processes the covariates act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CovariatesOn {
    /// The purchase (transaction) and the dropout (lifetime) process.
    #[default]
    Both,
    /// The purchase process only (`trans.<col>` coefficients).
    Purchase,
    /// The dropout process only (`life.<col>` coefficients).
    Dropout,
}

/// Which transaction models take covariates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CovariateModel {
    /// Pareto/NBD: αᵢ = α·exp(−γ_trans·zᵢ), βᵢ = β·exp(−γ_life·zᵢ).
    ParetoNbd,
    /// BG/NBD: αᵢ = α·exp(−γ_trans·zᵢ), aᵢ = a·exp(γ_life·zᵢ), bᵢ = b·exp(γ_life·zᵢ).
    BgNbd,
}

impl CovariateModel {
    fn names(self) -> [&'static str; 4] {
        match self {
            CovariateModel::ParetoNbd => ["r", "alpha", "s", "beta"],
            CovariateModel::BgNbd => ["r", "alpha", "a", "b"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            CovariateModel::ParetoNbd => "pareto_nbd",
            CovariateModel::BgNbd => "bg_nbd",
        }
    }

    /// The customer's model from the base parameters and the linear predictors
    /// η_trans = γ_trans·z, η_life = γ_life·z.
    fn customer(self, p: [f64; 4], eta_trans: f64, eta_life: f64) -> Result<Model> {
        let alpha = p[1] * (-eta_trans).exp();
        Ok(match self {
            CovariateModel::ParetoNbd => {
                Model::ParetoNbd(ParetoNbd::new(p[0], alpha, p[2], p[3] * (-eta_life).exp())?)
            }
            CovariateModel::BgNbd => {
                let e = eta_life.exp();
                Model::BgNbd(BgNbd::new(p[0], alpha, p[2] * e, p[3] * e)?)
            }
        })
    }

    /// The fit without covariates.
    fn fit_plain(self, data: &CalibrationData, opts: &FitOptions) -> Result<FitReport> {
        Ok(match self {
            CovariateModel::ParetoNbd => ParetoNbd::fit(data, opts)?.report,
            CovariateModel::BgNbd => BgNbd::fit(data, opts)?.report,
        })
    }
}

/// How the covariates enter the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CovariateOptions {
    /// The processes the covariates act on.
    pub on: CovariatesOn,
    /// Columns with one coefficient (`constr.<col>`) shared by both processes (CLVTools'
    /// `names.cov.constr`); needs `on = both`.
    pub constrained: Vec<String>,
}

/// A likelihood-ratio test of a restricted model against a larger one nesting it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LikelihoodRatioTest {
    /// Log-likelihood of the restricted model.
    pub restricted_log_likelihood: f64,
    /// Log-likelihood of the full model.
    pub full_log_likelihood: f64,
    /// χ² = 2·(LL_full − LL_restricted) (0 if rounding made it negative).
    pub statistic: f64,
    /// Degrees of freedom: parameters of the full model less those of the restricted one.
    pub df: usize,
    /// P(χ²_df ≥ statistic).
    pub p_value: f64,
}

impl LikelihoodRatioTest {
    /// The test from the two log-likelihoods and the difference in parameter counts (≥ 1).
    pub fn new(
        restricted_log_likelihood: f64,
        full_log_likelihood: f64,
        df: usize,
    ) -> Result<Self> {
        if df == 0 {
            return Err(ClvError::InvalidArgument {
                name: "df",
                value: 0.0,
                rule: "the full model must have more parameters than the restricted one",
            });
        }
        let statistic = (2.0 * (full_log_likelihood - restricted_log_likelihood)).max(0.0);
        let chi2 = ChiSquared::new(df as f64).map_err(|_| ClvError::InvalidArgument {
            name: "df",
            value: df as f64,
            rule: "must be a positive number of degrees of freedom",
        })?;
        Ok(LikelihoodRatioTest {
            restricted_log_likelihood,
            full_log_likelihood,
            statistic,
            df,
            p_value: chi2.sf(statistic),
        })
    }
}

/// A Pareto/NBD or BG/NBD fitted with static covariates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CovariateFit {
    /// The model.
    pub model: CovariateModel,
    /// Base parameter names (`r`, `alpha`, `s`, `beta` or `r`, `alpha`, `a`, `b`).
    pub param_names: Vec<String>,
    /// Base parameters: a customer with all covariates 0 has exactly these.
    pub params: Vec<f64>,
    /// Standard errors of the base parameters (observed information, delta method); None when
    /// not requested.
    pub param_std_errors: Option<Vec<f64>>,
    /// Covariate columns, in the design's order.
    pub covariates: Vec<String>,
    /// The processes the covariates act on.
    pub on: CovariatesOn,
    /// Columns sharing one coefficient across both processes.
    pub constrained: Vec<String>,
    /// Coefficient names: `trans.<col>`, then `life.<col>`, then `constr.<col>`.
    pub coefficient_names: Vec<String>,
    /// Coefficient estimates, in the order of `coefficient_names`.
    pub coefficients: Vec<f64>,
    /// Their standard errors (observed information); None when not requested.
    pub coefficient_std_errors: Option<Vec<f64>>,
    /// γ_trans per covariate column (0 for a column not on the purchase process).
    pub trans_effects: Vec<f64>,
    /// γ_life per covariate column (0 for a column not on the dropout process).
    pub life_effects: Vec<f64>,
    /// Log-likelihood at the estimates, in the data's time unit (without penalty).
    pub log_likelihood: f64,
    /// BFGS iterations.
    pub iterations: usize,
    /// Gradient tolerance met.
    pub converged: bool,
    /// max |∂(−LL/N)/∂θ| at the estimates (θ: log base parameters and coefficients).
    pub gradient_norm: f64,
    /// Customers (sum of weights).
    pub n_customers: f64,
    /// Distinct (x, tₓ, T, covariates) rows the likelihood was evaluated on.
    pub n_rows: usize,
    /// The same model fitted without covariates.
    pub without_covariates: FitReport,
    /// Likelihood-ratio test of the model without covariates against this one.
    pub lr_test: LikelihoodRatioTest,
}

/// Where each coefficient goes: columns with their own γ_trans, their own γ_life, and
/// constrained (one γ for both).
#[derive(Debug, Clone)]
struct Layout {
    kind: CovariateModel,
    k: usize,
    trans: Vec<usize>,
    life: Vec<usize>,
    constr: Vec<usize>,
}

impl Layout {
    fn new(kind: CovariateModel, cov: &Covariates, opts: &CovariateOptions) -> Result<Self> {
        let k = cov.n_columns();
        let mut constr = Vec::new();
        for name in &opts.constrained {
            let j = cov.index_of(name)?;
            if opts.on != CovariatesOn::Both {
                return Err(bad(name, CovariateProblem::ConstraintNeedsBoth));
            }
            if constr.contains(&j) {
                return Err(bad(name, CovariateProblem::Duplicate));
            }
            constr.push(j);
        }
        constr.sort_unstable();
        let free: Vec<usize> = (0..k).filter(|j| !constr.contains(j)).collect();
        let (trans, life) = match opts.on {
            CovariatesOn::Both => (free.clone(), free),
            CovariatesOn::Purchase => (free, Vec::new()),
            CovariatesOn::Dropout => (Vec::new(), free),
        };
        Ok(Layout {
            kind,
            k,
            trans,
            life,
            constr,
        })
    }

    /// Number of parameters (4 base + coefficients).
    fn np(&self) -> usize {
        4 + self.trans.len() + self.life.len() + self.constr.len()
    }

    fn coefficient_names(&self, cov: &Covariates) -> Vec<String> {
        let n = cov.names();
        let trans = self.trans.iter().map(|&j| format!("trans.{}", n[j]));
        let life = self.life.iter().map(|&j| format!("life.{}", n[j]));
        let constr = self.constr.iter().map(|&j| format!("constr.{}", n[j]));
        trans.chain(life).chain(constr).collect()
    }

    /// (γ_trans, γ_life) per column from θ.
    fn effects(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (mut gt, mut gl) = (vec![0.0; self.k], vec![0.0; self.k]);
        let mut p = 4;
        for &j in &self.trans {
            gt[j] = theta[p];
            p += 1;
        }
        for &j in &self.life {
            gl[j] = theta[p];
            p += 1;
        }
        for &j in &self.constr {
            gt[j] = theta[p];
            gl[j] = theta[p];
            p += 1;
        }
        (gt, gl)
    }
}

/// Distinct (x, tₓ, T, z) rows with summed weights: the likelihood is the same and binary or
/// categorical covariates repeat a lot.
struct Rows {
    x: Vec<f64>,
    tx: Vec<f64>,
    t: Vec<f64>,
    w: Vec<f64>,
    /// Row-major, `len × k`.
    z: Vec<f64>,
    k: usize,
}

impl Rows {
    fn new(data: &CalibrationData, cov: &Covariates) -> Self {
        let k = cov.n_columns();
        let mut ids: HashMap<Vec<u64>, usize> = HashMap::new();
        let mut rows = Rows {
            x: Vec::new(),
            tx: Vec::new(),
            t: Vec::new(),
            w: Vec::new(),
            z: Vec::new(),
            k,
        };
        let (x, tx, t, w) = (data.frequency(), data.recency(), data.age(), data.weights());
        for i in 0..data.len() {
            let z = cov.row(i);
            let key: Vec<u64> = [x[i], tx[i], t[i]]
                .iter()
                .chain(z)
                .map(|v| v.to_bits())
                .collect();
            // Ids follow the row order, so the result does not depend on the hasher.
            let id = *ids.entry(key).or_insert_with(|| {
                rows.x.push(x[i]);
                rows.tx.push(tx[i]);
                rows.t.push(t[i]);
                rows.w.push(0.0);
                rows.z.extend_from_slice(z);
                rows.x.len() - 1
            });
            rows.w[id] += w[i];
        }
        rows
    }

    fn len(&self) -> usize {
        self.x.len()
    }

    fn z(&self, i: usize) -> &[f64] {
        &self.z[i * self.k..(i + 1) * self.k]
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Adds `w·ll` and the chain rule of `d` = ∂LL/∂ln(r, αᵢ, ·, ·) (the customer's own
/// parameters, log scale) to `acc` = `[LL, ∂LL/∂θ…]` for covariates `z`.
fn add_chained(layout: &Layout, acc: &mut [f64], w: f64, ll: f64, d: [f64; 4], z: &[f64]) {
    // ∂LL/∂η: αᵢ = α e^(−η_trans); Pareto/NBD βᵢ = β e^(−η_life); BG/NBD (aᵢ, bᵢ) =
    // (a, b) e^(η_life).
    let d_trans = -d[1];
    let d_life = match layout.kind {
        CovariateModel::ParetoNbd => -d[3],
        CovariateModel::BgNbd => d[2] + d[3],
    };
    acc[0] += w * ll;
    for j in 0..4 {
        acc[1 + j] += w * d[j];
    }
    let mut at = 5;
    for &c in &layout.trans {
        acc[at] += w * z[c] * d_trans;
        at += 1;
    }
    for &c in &layout.life {
        acc[at] += w * z[c] * d_life;
        at += 1;
    }
    for &c in &layout.constr {
        acc[at] += w * z[c] * (d_trans + d_life);
        at += 1;
    }
}

/// Pareto/NBD rows grouped by covariate pattern, each group with the model's row index, so
/// an evaluation computes each distinct ₂F₁ term of a group once (the plain fit's
/// `RowIndex`). Worth it when patterns are few (binary or categorical covariates) and
/// (x, tₓ, T) repeat (daily or weekly data).
struct Groups {
    /// Per group: its covariates, its rows (x, tₓ, T, w) and their index.
    z: Vec<Vec<f64>>,
    rows: Vec<[Vec<f64>; 4]>,
    index: Vec<RowIndex>,
}

impl Groups {
    /// Groups for a Pareto/NBD when there are at most 1 pattern per 16 rows; None otherwise.
    fn new(kind: CovariateModel, rows: &Rows) -> Option<Self> {
        if kind != CovariateModel::ParetoNbd {
            return None;
        }
        let mut ids: HashMap<Vec<u64>, usize> = HashMap::new();
        let mut g = Groups {
            z: Vec::new(),
            rows: Vec::new(),
            index: Vec::new(),
        };
        for i in 0..rows.len() {
            let z = rows.z(i);
            let key: Vec<u64> = z.iter().map(|v| v.to_bits()).collect();
            // Ids follow the row order, so the result does not depend on the hasher.
            let id = *ids.entry(key).or_insert_with(|| {
                g.z.push(z.to_vec());
                g.rows.push(Default::default());
                g.z.len() - 1
            });
            if 16 * g.z.len() > rows.len() {
                return None;
            }
            for (col, v) in g.rows[id]
                .iter_mut()
                .zip([rows.x[i], rows.tx[i], rows.t[i], rows.w[i]])
            {
                col.push(v);
            }
        }
        g.index = g.rows.iter().map(|r| RowIndex::new(fit_rows(r))).collect();
        Some(g)
    }
}

fn fit_rows(r: &[Vec<f64>; 4]) -> FitRows<'_> {
    FitRows {
        a: &r[0],
        b: &r[1],
        c: &r[2],
        w: &r[3],
    }
}

/// [`sums`] over [`Groups`]: the same values up to the order of the additions.
fn grouped_sums(layout: &Layout, groups: &Groups, theta: &[f64], grad: bool) -> Vec<f64> {
    let p: [f64; 4] = std::array::from_fn(|j| theta[j].exp());
    let (gt, gl) = layout.effects(theta);
    let mut acc = vec![0.0; if grad { 1 + layout.np() } else { 1 }];
    for (g, z) in groups.z.iter().enumerate() {
        let (alpha, beta) = (p[1] * (-dot(&gt, z)).exp(), p[3] * (-dot(&gl, z)).exp());
        let Ok(m) = ParetoNbd::new(p[0], alpha, p[2], beta) else {
            acc[0] = f64::NAN;
            return acc;
        };
        let s = groups.index[g].sum(&m, fit_rows(&groups.rows[g]), grad);
        if grad {
            let d = [p[0] * s[1], alpha * s[2], p[2] * s[3], beta * s[4]];
            add_chained(layout, &mut acc, 1.0, s[0], d, z);
        } else {
            acc[0] += s[0];
        }
    }
    acc
}

/// `[LL, ∂LL/∂θ…]` summed over the rows (the gradient only with `grad`), NaN when some
/// customer's parameters are not finite and > 0. Deterministic: fixed chunks, added in order.
fn sums(
    layout: &Layout,
    rows: &Rows,
    groups: Option<&Groups>,
    theta: &[f64],
    grad: bool,
) -> Vec<f64> {
    if let Some(g) = groups {
        return grouped_sums(layout, g, theta, grad);
    }
    let np = layout.np();
    let p = [
        theta[0].exp(),
        theta[1].exp(),
        theta[2].exp(),
        theta[3].exp(),
    ];
    let (gt, gl) = layout.effects(theta);
    let chunk = |s: usize| -> Vec<f64> {
        let mut acc = vec![0.0; if grad { 1 + np } else { 1 }];
        for i in s..(s + CHUNK).min(rows.len()) {
            let z = rows.z(i);
            let (et, el) = (dot(&gt, z), dot(&gl, z));
            let Ok(m) = layout.kind.customer(p, et, el) else {
                acc[0] = f64::NAN;
                return acc;
            };
            let (x, tx, t, w) = (rows.x[i], rows.tx[i], rows.t[i], rows.w[i]);
            if !grad {
                acc[0] += w * m.row_log_likelihood(x, tx, t);
                continue;
            }
            // Row gradient in the customer's own (r, αᵢ, ·, ·), then the chain rule.
            let (ll, g, q) = match m {
                Model::ParetoNbd(m) => {
                    let (ll, g) = m.row_log_likelihood_gradient(x, tx, t);
                    (ll, g, m.params())
                }
                Model::BgNbd(m) => {
                    let (ll, g) = m.row_log_likelihood_gradient(x, tx, t);
                    (ll, g, m.params())
                }
                // `customer` builds only the two above.
                Model::MbgNbd(_) | Model::BgBb(_) => {
                    acc[0] = f64::NAN;
                    return acc;
                }
            };
            let d: [f64; 4] = std::array::from_fn(|j| g[j] * q[j]);
            add_chained(layout, &mut acc, w, ll, d, z);
        }
        acc
    };
    let starts: Vec<usize> = (0..rows.len()).step_by(CHUNK).collect();
    let parts: Vec<Vec<f64>> = if rows.len() >= PAR_MIN {
        starts.par_iter().map(|&s| chunk(s)).collect()
    } else {
        starts.iter().map(|&s| chunk(s)).collect()
    };
    let mut out = vec![0.0; parts.first().map_or(1, Vec::len)];
    for part in parts {
        for (o, v) in out.iter_mut().zip(part) {
            *o += v;
        }
    }
    out
}

/// A two-valued covariate on the purchase process one of whose values no repeat buyer has:
/// its purchase rate would go to zero, its coefficient to infinity. Found before fitting,
/// since a fit only finds it at the coefficient bound, after many slow steps.
fn separated_levels(layout: &Layout, data: &CalibrationData, cov: &Covariates) -> Result<()> {
    let x = data.frequency();
    for &j in layout.trans.iter().chain(&layout.constr) {
        let mut levels: Vec<(f64, bool)> = Vec::new();
        for (i, &xi) in x.iter().enumerate() {
            let z = cov.row(i)[j];
            if let Some(l) = levels.iter_mut().find(|(v, _)| *v == z) {
                l.1 |= xi > 0.0;
            } else if levels.len() < 3 {
                levels.push((z, xi > 0.0));
            }
        }
        if levels.len() == 2 && levels.iter().any(|(_, repeat)| !repeat) {
            let prefix = if layout.constr.contains(&j) {
                "constr"
            } else {
                "trans"
            };
            return Err(bad(
                &cov.names()[j],
                CovariateProblem::Separation {
                    coefficient: format!("{prefix}.{}", cov.names()[j]),
                    bound: MAX_COEFFICIENT,
                },
            ));
        }
    }
    Ok(())
}

/// Largest |coefficient| a fit may reach: e^10 ≈ 22,000 times the purchase or dropout rate
/// for one unit of the covariate. A coefficient that runs there means separation (the error
/// names it); scale a covariate measured in tiny units before using it.
pub const MAX_COEFFICIENT: f64 = 10.0;

/// Fits `kind` with the covariates `cov` (rows in the order of `data`) by maximum likelihood.
///
/// The model without covariates is fitted first (its report and a likelihood-ratio test
/// against it are part of the result) and its parameters, with all coefficients 0, are the
/// first start; CLVTools' start (coefficients 0.1) is the fallback. `opts.penalizer` applies
/// λ·Σθ² to the four base parameters as in the fits without covariates; the coefficients are
/// not penalised.
pub fn fit_with_covariates(
    kind: CovariateModel,
    data: &CalibrationData,
    cov: &Covariates,
    cov_opts: &CovariateOptions,
    opts: &FitOptions,
) -> Result<CovariateFit> {
    if cov.len() != data.len() {
        return Err(ClvError::LengthMismatch {
            column: "covariates",
            expected: data.len(),
            actual: cov.len(),
        });
    }
    let layout = Layout::new(kind, cov, cov_opts)?;
    separated_levels(&layout, data, cov)?;
    let plain = kind.fit_plain(data, opts)?;
    let rows = Rows::new(data, cov);
    let groups = Groups::new(kind, &rows);
    let np = layout.np();
    let w_total = data.total_weight();
    let lambda = opts.penalizer;
    let penalty = |theta: &[f64]| lambda * theta[..4].iter().map(|t| (2.0 * t).exp()).sum::<f64>();
    let value_grad = |theta: &[f64]| -> (f64, Vec<f64>) {
        // a coefficient past the bound is a separated covariate, not a better fit (and the
        // 2F1 terms of such rates cost ever more): a wall the line search backs off from
        if theta[4..].iter().any(|g| g.abs() > MAX_COEFFICIENT) {
            return (f64::INFINITY, vec![0.0; np]);
        }
        let s = sums(&layout, &rows, groups.as_ref(), theta, true);
        if !s[0].is_finite() {
            return (f64::INFINITY, vec![0.0; np]);
        }
        let f = -s[0] / w_total + penalty(theta);
        let g = (0..np)
            .map(|j| {
                let pen = if j < 4 {
                    2.0 * lambda * (2.0 * theta[j]).exp()
                } else {
                    0.0
                };
                -s[1 + j] / w_total + pen
            })
            .collect();
        (f, g)
    };
    let tol = Tolerances {
        gtol: opts.gradient_tolerance,
        max_iter: opts.max_iterations,
    };
    let mut best: Option<optimize::Minimum> = None;
    let mut tried = 0;
    for start in [0.0, 0.1] {
        if best.as_ref().is_some_and(|b| b.converged) {
            break;
        }
        tried += 1;
        let mut theta0: Vec<f64> = plain.params.iter().map(|p| p.ln()).collect();
        theta0.resize(np, start);
        let m = optimize::bfgs(&value_grad, &theta0, tol);
        if m.f.is_finite() && best.as_ref().is_none_or(|b| m.f < b.f - 1e-12 * b.f.abs()) {
            best = Some(m);
        }
    }
    let name = kind.name();
    let hint = FitHint::Covariates;
    let Some(best) = best else {
        return Err(ClvError::FitFailed {
            model: name,
            reason: FitTrouble::NotFinite { starts: tried },
            hint,
        });
    };
    if !best.converged && best.grad_inf > 1e-5 {
        return Err(ClvError::FitFailed {
            model: name,
            reason: FitTrouble::NoConvergence {
                iterations: best.iterations,
                gradient: best.grad_inf,
            },
            hint,
        });
    }
    let theta = best.x;
    let names = layout.coefficient_names(cov);
    if let Some(j) = (4..np).find(|&j| theta[j].abs() > MAX_COEFFICIENT - 0.5) {
        let coefficient = names[j - 4].clone();
        let column = coefficient
            .split_once('.')
            .map_or(coefficient.as_str(), |(_, c)| c)
            .to_string();
        return Err(bad(
            &column,
            CovariateProblem::Separation {
                coefficient,
                bound: MAX_COEFFICIENT,
            },
        ));
    }
    let log_likelihood = sums(&layout, &rows, groups.as_ref(), &theta, false)[0];
    let ll = |t: &[f64]| sums(&layout, &rows, groups.as_ref(), t, false)[0];
    let grad = |t: &[f64]| sums(&layout, &rows, groups.as_ref(), t, true)[1..].to_vec();
    let h = optimize::numeric_hessian(&ll, Some(&grad), &theta);
    let neg: Vec<Vec<f64>> = h.iter().map(|r| r.iter().map(|v| -v).collect()).collect();
    let Some(cov_theta) = optimize::spd_inverse(&neg) else {
        return Err(ClvError::FitFailed {
            model: name,
            reason: FitTrouble::NotIdentified {
                what: "coefficients",
            },
            hint,
        });
    };
    let se: Vec<f64> = (0..np).map(|j| cov_theta[j][j].sqrt()).collect();
    let params: Vec<f64> = theta[..4].iter().map(|t| t.exp()).collect();
    let (trans_effects, life_effects) = layout.effects(&theta);
    let lr_test = LikelihoodRatioTest::new(plain.log_likelihood, log_likelihood, np - 4)?;
    Ok(CovariateFit {
        model: kind,
        param_names: kind.names().iter().map(|s| s.to_string()).collect(),
        param_std_errors: opts
            .standard_errors
            .then(|| (0..4).map(|j| params[j] * se[j]).collect()),
        params,
        covariates: cov.names().to_vec(),
        on: cov_opts.on,
        constrained: layout
            .constr
            .iter()
            .map(|&j| cov.names()[j].clone())
            .collect(),
        coefficient_names: layout.coefficient_names(cov),
        coefficients: theta[4..].to_vec(),
        coefficient_std_errors: opts.standard_errors.then(|| se[4..].to_vec()),
        trans_effects,
        life_effects,
        log_likelihood,
        iterations: best.iterations,
        converged: best.converged,
        gradient_norm: best.grad_inf,
        n_customers: w_total,
        n_rows: rows.len(),
        without_covariates: plain,
        lr_test,
    })
}

impl CovariateFit {
    /// Likelihood-ratio test of `restricted` (fewer parameters, e.g. a constrained fit)
    /// against this fit.
    pub fn lr_test_against(&self, restricted: &CovariateFit) -> Result<LikelihoodRatioTest> {
        let n = |f: &CovariateFit| f.params.len() + f.coefficients.len();
        let df = n(self).saturating_sub(n(restricted));
        LikelihoodRatioTest::new(restricted.log_likelihood, self.log_likelihood, df)
    }

    /// The model of a customer with covariates `z` (one per column of the fit): the base
    /// parameters moved by the customer's covariates. All [`Model`] methods then apply.
    pub fn customer_model(&self, z: &[f64]) -> Result<Model> {
        for (column, v) in [
            ("covariate row", z.len()),
            ("trans_effects", self.trans_effects.len()),
            ("life_effects", self.life_effects.len()),
        ] {
            if v != self.covariates.len() {
                return Err(ClvError::LengthMismatch {
                    column,
                    expected: self.covariates.len(),
                    actual: v,
                });
            }
        }
        let p: [f64; 4] = match self.params[..] {
            [a, b, c, d] => [a, b, c, d],
            _ => {
                return Err(ClvError::LengthMismatch {
                    column: "params",
                    expected: 4,
                    actual: self.params.len(),
                });
            }
        };
        self.model
            .customer(p, dot(&self.trans_effects, z), dot(&self.life_effects, z))
    }

    /// The model of a customer with all covariates 0 (the base parameters).
    pub fn base_model(&self) -> Result<Model> {
        self.customer_model(&vec![0.0; self.covariates.len()])
    }

    /// Each customer's model, one per row of `cov`. Columns are matched by name, so `cov`
    /// may order them differently or have more; a column of the fit that `cov` lacks is an
    /// error.
    pub fn customer_models(&self, cov: &Covariates) -> Result<Vec<Model>> {
        let idx = self
            .covariates
            .iter()
            .map(|c| cov.index_of(c))
            .collect::<Result<Vec<usize>>>()?;
        par_map(cov.len(), |i| {
            let row = cov.row(i);
            let z: Vec<f64> = idx.iter().map(|&j| row[j]).collect();
            self.customer_model(&z)
        })
        .into_iter()
        .collect()
    }

    fn per_customer(
        &self,
        data: &CalibrationData,
        cov: &Covariates,
        f: impl Fn(&Model, f64, f64, f64) -> f64 + Sync + Send,
    ) -> Result<Vec<f64>> {
        if cov.len() != data.len() {
            return Err(ClvError::LengthMismatch {
                column: "covariates",
                expected: data.len(),
                actual: cov.len(),
            });
        }
        let models = self.customer_models(cov)?;
        let (x, tx, t) = (data.frequency(), data.recency(), data.age());
        Ok(par_map(data.len(), |i| f(&models[i], x[i], tx[i], t[i])))
    }

    /// P(alive at T | x, tₓ, T) of every customer, with their own parameters.
    pub fn p_alive_all(&self, data: &CalibrationData, cov: &Covariates) -> Result<Vec<f64>> {
        self.per_customer(data, cov, |m, x, tx, t| m.p_alive(x, tx, t))
    }

    /// E[X(T, T+horizon] | x, tₓ, T] of every customer, with their own parameters.
    pub fn expected_purchases_all(
        &self,
        horizon: f64,
        data: &CalibrationData,
        cov: &Covariates,
    ) -> Result<Vec<f64>> {
        crate::error::non_negative_arg("horizon", horizon)?;
        self.per_customer(data, cov, |m, x, tx, t| {
            m.expected_purchases(horizon, x, tx, t)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cov(cols: &[(&str, &[f64])]) -> Result<Covariates> {
        Covariates::from_columns(
            cols.iter()
                .map(|(n, c)| (n.to_string(), c.to_vec()))
                .collect(),
        )
    }

    #[test]
    fn a_constant_column_is_named() {
        let e = cov(&[("g", &[0.0, 1.0, 1.0]), ("k", &[2.0, 2.0, 2.0])]).unwrap_err();
        assert_eq!(
            e,
            ClvError::BadCovariate {
                column: "k".into(),
                problem: CovariateProblem::Constant { value: 2.0 }
            }
        );
    }

    #[test]
    fn a_collinear_column_names_the_columns_it_depends_on() {
        let e = cov(&[
            ("a", &[0.0, 1.0, 0.0, 1.0]),
            ("b", &[0.0, 0.0, 1.0, 1.0]),
            ("c", &[1.0, 3.0, 1.0, 3.0]),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            ClvError::BadCovariate {
                column: "c".into(),
                problem: CovariateProblem::Collinear {
                    with: vec!["a".into()]
                }
            }
        );
        assert!(e.to_string().contains("`c`"), "{e}");
    }

    #[test]
    fn non_finite_values_are_counted() {
        let e = cov(&[("a", &[0.0, f64::NAN, 1.0, f64::INFINITY])]).unwrap_err();
        assert_eq!(
            e,
            ClvError::BadCovariate {
                column: "a".into(),
                problem: CovariateProblem::NonFinite { count: 2 }
            }
        );
    }

    #[test]
    fn no_columns_and_duplicate_names_are_errors() {
        assert_eq!(cov(&[]).unwrap_err(), ClvError::NoCovariates);
        let e = cov(&[("a", &[0.0, 1.0, 2.0]), ("a", &[1.0, 0.0, 5.0])]).unwrap_err();
        assert!(matches!(
            e,
            ClvError::BadCovariate {
                problem: CovariateProblem::Duplicate,
                ..
            }
        ));
    }

    /// ∂LL/∂θ from `sums` against central differences of its value.
    #[test]
    fn gradient_matches_finite_differences() {
        let x = [0.0, 1.0, 3.0, 2.0, 7.0, 0.0];
        let tx = [0.0, 10.0, 30.0, 5.0, 38.0, 0.0];
        let t = [40.0, 40.0, 39.0, 38.0, 39.0, 20.0];
        let z = cov(&[
            ("g", &[0.0, 1.0, 1.0, 0.0, 1.0, 0.0]),
            ("v", &[0.3, -1.2, 0.5, 2.0, 0.1, -0.4]),
        ])
        .unwrap();
        let data = CalibrationData::new(x.to_vec(), tx.to_vec(), t.to_vec()).unwrap();
        let rows = Rows::new(&data, &z);
        for kind in [CovariateModel::ParetoNbd, CovariateModel::BgNbd] {
            for (on, constrained) in [
                (CovariatesOn::Both, vec![]),
                (CovariatesOn::Both, vec!["g".to_string()]),
                (CovariatesOn::Purchase, vec![]),
                (CovariatesOn::Dropout, vec![]),
            ] {
                let opts = CovariateOptions { on, constrained };
                let layout = Layout::new(kind, &z, &opts).unwrap();
                let np = layout.np();
                let theta: Vec<f64> = [0.5f64.ln(), 8.0f64.ln(), 0.9f64.ln(), 12.0f64.ln()]
                    .into_iter()
                    .chain([0.3, -0.4, 0.2, 0.7].into_iter().take(np - 4))
                    .collect();
                let g = sums(&layout, &rows, None, &theta, true);
                for j in 0..np {
                    let at = |d: f64| {
                        let mut q = theta.clone();
                        q[j] += d;
                        sums(&layout, &rows, None, &q, false)[0]
                    };
                    let h = 1e-5;
                    let fd = (at(h) - at(-h)) / (2.0 * h);
                    assert!(
                        (fd - g[1 + j]).abs() <= 1e-6 * fd.abs().max(1.0),
                        "{kind:?} {opts:?} θ{j}: analytic {} vs fd {fd}",
                        g[1 + j]
                    );
                }
            }
        }
    }

    /// With few covariate patterns the Pareto/NBD sums run per pattern through the row index;
    /// they equal the row-by-row sums up to the order of the additions.
    #[test]
    fn grouped_sums_equal_row_sums() {
        let n = 200;
        let x: Vec<f64> = (0..n).map(|i| f64::from(i % 7)).collect();
        let tx: Vec<f64> = (0..n)
            .map(|i| {
                if i % 7 == 0 {
                    0.0
                } else {
                    f64::from(i % 13) * 3.0
                }
            })
            .collect();
        let t: Vec<f64> = (0..n).map(|i| 40.0 + f64::from(i % 3)).collect();
        let data = CalibrationData::new(x, tx, t).unwrap();
        let z = cov(&[
            ("g", &(0..n).map(|i| f64::from(i % 2)).collect::<Vec<_>>()),
            (
                "c",
                &(0..n).map(|i| f64::from(i % 5 / 2)).collect::<Vec<_>>(),
            ),
        ])
        .unwrap();
        let rows = Rows::new(&data, &z);
        let groups = Groups::new(CovariateModel::ParetoNbd, &rows).unwrap();
        assert_eq!(groups.z.len(), 6);
        let opts = CovariateOptions {
            on: CovariatesOn::Both,
            constrained: vec!["c".into()],
        };
        let layout = Layout::new(CovariateModel::ParetoNbd, &z, &opts).unwrap();
        let theta = [
            0.5f64.ln(),
            8.0f64.ln(),
            0.9f64.ln(),
            12.0f64.ln(),
            0.3,
            -0.4,
            0.2,
        ];
        let want = sums(&layout, &rows, None, &theta, true);
        let got = sums(&layout, &rows, Some(&groups), &theta, true);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
        let value = sums(&layout, &rows, Some(&groups), &theta, false)[0];
        assert!((value - want[0]).abs() <= 1e-12 * want[0].abs());
    }
}
