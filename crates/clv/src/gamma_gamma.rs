//! Gamma-Gamma spend model (Fader & Hardie 2013, note 025): each transaction's value is
//! Gamma(p, ν) with ν ~ Gamma(q, γ) across customers; fitted on repeat customers' mean spend.
//!
//! Non-positive spend rule: the model needs m̄ > 0. Customers with x = 0, or x > 0 and
//! m̄ ≤ 0 (returns, refunds, free orders), are left out of the fit and get the population
//! mean E[M] = pγ/(q−1) as their expected value. NaN/∞ spend is an input error.
//!
//! Extreme spenders. A few customers whose mean spend is far above everyone else's (one
//! customer with 100 orders of 1,000,000 among thousands of 10–100 spenders) can pull the
//! maximum-likelihood fit to a ridge where p → ∞ and γ → 0 with pγ fixed (the within-customer
//! spread vanishes and the heavy tail is carried by q alone), or to q ≤ 1 where the population
//! mean pγ/(q−1) does not exist; the fit then fails or is unusable for everyone. Only then,
//! [`GammaGamma::fit`] refits without the customers above a far-out cut on the log of mean
//! spend (see [`ExtremeSpenders`]) and reports it in [`SpendFitReport::extreme_spenders`];
//! those customers keep their own mean spend as expected spend
//! ([`GammaGamma::expected_average_values_with`]), which is what the model's conditional mean
//! tends to for them anyway (their weight p·x/(p·x+q−1) on m̄ is close to 1). A fit that
//! succeeds on everyone (CDNOW, the recovery data) is returned unchanged.

use clientele_core::Note;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::{digamma, ln_gamma};

use crate::error::{ClvError, FitHint, FitTrouble, Result, positive};
use crate::fit::{self, FitOptions, Fitted, MAXP, Mle, Rows};

/// Gamma-Gamma parameters (p, q, γ — γ is called `v` in lifetimes), γ in money units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GammaGamma {
    p: f64,
    q: f64,
    v: f64,
}

deserialize_via_new!(GammaGamma { p, q, v });

/// Which customers went into the spend fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SpendFitReport {
    /// The likelihood fit.
    pub fit: fit::FitReport,
    /// Repeat customers with m̄ > 0 (used).
    pub used: usize,
    /// Customers without repeat purchases (not used).
    pub no_repeat: usize,
    /// Repeat customers with m̄ ≤ 0 (not used; they get the population mean).
    pub non_positive_spend: usize,
    /// Set when the fit on all repeat customers failed or had no finite mean (q ≤ 1) and
    /// the model was fitted without a few extreme spenders (module doc); `None` for a normal
    /// fit. Callers must show it ([`SpendFitReport::note`]).
    pub extreme_spenders: Option<ExtremeSpenders>,
}

/// Repeat customers left out of the Gamma-Gamma fit as extreme spenders (the fallback of
/// [`GammaGamma::fit`]).
///
/// Cut: the far-out fence on the log of mean spend, exp(Q₃ + k·IQR) of ln m̄ over the repeat
/// customers with m̄ > 0, trying k = 3, 2, 1.5 in turn (least exclusion first), and leaving
/// out at most 1 % of them (at least one customer). The first cut whose refit converges
/// with q > 1 is used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExtremeSpenders {
    /// Repeat customers left out (mean spend above `mean_spend_above`).
    pub customers: usize,
    /// The cut on mean spend per transaction.
    pub mean_spend_above: f64,
    /// Why the fit on all repeat customers was not used.
    pub reason: String,
    /// The same in Chinese (empty in summaries written before it).
    #[serde(default)]
    pub reason_zh: String,
}

impl ExtremeSpenders {
    /// The remark for people, in both languages.
    pub fn note(&self) -> Note {
        let reason_zh = if self.reason_zh.is_empty() {
            &self.reason
        } else {
            &self.reason_zh
        };
        Note::new(
            format!(
                "Gamma-Gamma 拟合时排除了 {} 位极端高消费客户（平均每次消费 > {:.2}），他们的预期消费取自身均值（在全部复购客户上拟合时{reason_zh}）",
                self.customers, self.mean_spend_above
            ),
            self.to_string(),
        )
    }
}

impl std::fmt::Display for ExtremeSpenders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Gamma-Gamma fitted without {} extreme spender{} (mean spend > {:.2}); their expected \
             spend is their own mean (the fit on all repeat customers {})",
            self.customers,
            if self.customers == 1 { "" } else { "s" },
            self.mean_spend_above,
            self.reason
        )
    }
}

impl SpendFitReport {
    /// The customers with m̄ above this keep their own mean spend (None: normal fit).
    pub fn own_mean_above(&self) -> Option<f64> {
        self.extreme_spenders.as_ref().map(|e| e.mean_spend_above)
    }

    /// Covariance of the log-parameters (ln p, ln q, ln γ) of the spend fit
    /// ([`fit::FitReport::log_covariance`]); None when standard errors were not requested.
    pub fn log_covariance(&self) -> Option<&[Vec<f64>]> {
        self.fit.log_covariance.as_deref()
    }

    /// A sentence for the user when the fallback was used.
    pub fn note(&self) -> Option<Note> {
        self.extreme_spenders.as_ref().map(ExtremeSpenders::note)
    }
}

/// Fewest repeat customers with m̄ > 0 the spend model is fitted on: one per parameter.
pub const MIN_SPEND_CUSTOMERS: usize = 3;

/// Above this p a customer's transactions would vary by less than 0.1 % around their mean
/// (coefficient of variation 1/√p): the fit has run along the p → ∞, γ → 0 ridge.
const RIDGE_P: f64 = 1e6;

/// Why a fit should not be used for everyone, if so: it failed or its population mean is
/// infinite (`true`: no usable fit), or it ran along the ridge (`false`: usable, but a refit
/// without extreme spenders is preferred).
fn unusable(fit: &Result<Fitted<GammaGamma>>) -> Option<(Note, bool)> {
    match fit {
        Err(e) => Some((
            Note::new(format!("失败：{e}"), format!("failed: {e}")),
            true,
        )),
        Ok(f) if f.model.q <= 1.0 => Some((
            Note::new(
                format!("得到 q = {:.4} ≤ 1，平均消费无穷大", f.model.q),
                format!("gave q = {:.4} <= 1, an infinite mean spend", f.model.q),
            ),
            true,
        )),
        Ok(f) if f.model.p > RIDGE_P => Some((
            Note::new(
                format!("p 趋于 {:.3e}，客户自身的消费没有波动", f.model.p),
                format!(
                    "ran to p = {:.3e}, no spread in a customer's own spend",
                    f.model.p
                ),
            ),
            false,
        )),
        Ok(_) => None,
    }
}

/// Candidate cuts on m̄ (see [`ExtremeSpenders`]), largest first, each with the
/// number of customers above it; `ms` need not be sorted.
fn extreme_cuts(ms: &[f64]) -> Vec<(f64, usize)> {
    let mut logs: Vec<f64> = ms.iter().map(|m| m.ln()).collect();
    logs.sort_by(f64::total_cmp);
    let n = logs.len();
    let quantile = |p: f64| {
        let h = p * (n - 1) as f64;
        let (i, f) = (h.floor() as usize, h - h.floor());
        logs[i] + f * (logs[(i + 1).min(n - 1)] - logs[i])
    };
    let (q1, q3) = (quantile(0.25), quantile(0.75));
    let iqr = q3 - q1;
    let cap = (n / 100).max(1);
    let mut cuts: Vec<(f64, usize)> = Vec::new();
    for k in [3.0, 2.0, 1.5] {
        let cut = q3 + k * iqr;
        let above = n - logs.partition_point(|&l| l <= cut);
        if above == 0 || above > cap || cuts.last().is_some_and(|c| c.1 == above) {
            continue;
        }
        cuts.push((cut.exp(), above));
    }
    cuts
}

fn check_spend_inputs(x: &[f64], m: &[f64]) -> Result<()> {
    if x.is_empty() {
        return Err(ClvError::Empty);
    }
    if m.len() != x.len() {
        return Err(ClvError::LengthMismatch {
            column: "monetary_value",
            expected: x.len(),
            actual: m.len(),
        });
    }
    for (column, v) in [("frequency", x), ("monetary_value", m)] {
        let count = v.iter().filter(|a| !a.is_finite()).count();
        if count > 0 {
            return Err(ClvError::NonFinite { column, count });
        }
    }
    let neg = x.iter().filter(|&&a| a < 0.0).count();
    if neg > 0 {
        return Err(ClvError::NegativeFrequency { count: neg });
    }
    let frac = x.iter().filter(|a| a.fract() != 0.0).count();
    if frac > 0 {
        return Err(ClvError::NonIntegerFrequency { count: frac });
    }
    Ok(())
}

impl GammaGamma {
    /// Validated parameters (all finite and > 0).
    pub fn new(p: f64, q: f64, v: f64) -> Result<Self> {
        Ok(GammaGamma {
            p: positive("p", p)?,
            q: positive("q", q)?,
            v: positive("v", v)?,
        })
    }

    /// Parameters as `[p, q, v]`.
    pub fn params(&self) -> [f64; 3] {
        [self.p, self.q, self.v]
    }

    /// Fits on customers with x > 0 and m̄ > 0 (see the module doc for the others).
    pub fn fit(
        frequency: &[f64],
        monetary_value: &[f64],
        opts: &FitOptions,
    ) -> Result<(Fitted<GammaGamma>, SpendFitReport)> {
        check_spend_inputs(frequency, monetary_value)?;
        let mut pairs = Vec::new();
        let (mut no_repeat, mut non_positive) = (0, 0);
        for (&x, &m) in frequency.iter().zip(monetary_value) {
            if x == 0.0 {
                no_repeat += 1;
            } else if m <= 0.0 {
                non_positive += 1;
            } else {
                pairs.push((x, m));
            }
        }
        // Sorted by x (stable: deterministic, on every core at millions of customers), so the
        // likelihood sums share lnΓ/ψ per x.
        rayon::slice::ParallelSliceMut::par_sort_by(&mut pairs[..], |a, b| a.0.total_cmp(&b.0));
        if pairs.is_empty() {
            return Err(ClvError::NoPositiveSpend {
                zero_or_negative: non_positive,
            });
        }
        if pairs.len() < MIN_SPEND_CUSTOMERS {
            return Err(ClvError::TooFewCustomers {
                model: <GammaGamma as Mle>::NAME,
                what: "repeat customers with spend > 0",
                found: pairs.len(),
                minimum: MIN_SPEND_CUSTOMERS,
            });
        }
        fit::check_options(opts)?;
        let report = |fitted: &Fitted<GammaGamma>, extreme_spenders| SpendFitReport {
            fit: fitted.report.clone(),
            used: fitted.report.n_rows,
            no_repeat,
            non_positive_spend: non_positive,
            extreme_spenders,
        };
        let all = Self::fit_pairs(&pairs, opts);
        let Some((reason, hard)) = unusable(&all) else {
            let fitted = all?;
            let r = report(&fitted, None);
            return Ok((fitted, r));
        };
        let ms: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        for (cut, above) in extreme_cuts(&ms) {
            let kept: Vec<(f64, f64)> = pairs.iter().copied().filter(|p| p.1 <= cut).collect();
            let refit = Self::fit_pairs(&kept, opts);
            if unusable(&refit).is_none() {
                let fitted = refit?;
                let extreme = ExtremeSpenders {
                    customers: above,
                    mean_spend_above: cut,
                    reason: reason.en.clone(),
                    reason_zh: reason.zh.clone(),
                };
                let r = report(&fitted, Some(extreme));
                return Ok((fitted, r));
            }
        }
        match all {
            Err(e) => Err(e),
            Ok(f) if !hard => {
                let r = report(&f, None);
                Ok((f, r))
            }
            Ok(f) => Err(ClvError::FitFailed {
                model: <GammaGamma as Mle>::NAME,
                reason: FitTrouble::InfiniteMeanSpend { q: f.model.q },
                hint: FitHint::SpendUnits,
            }),
        }
    }

    /// The likelihood fit on (x, m̄) pairs sorted by x (all x > 0, m̄ > 0).
    fn fit_pairs(pairs: &[(f64, f64)], opts: &FitOptions) -> Result<Fitted<GammaGamma>> {
        let (xs, ms): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
        let zeros = vec![0.0; xs.len()];
        let w = vec![1.0; xs.len()];
        let rows = Rows {
            a: &xs,
            b: &ms,
            c: &zeros,
            w: &w,
        };
        let mean_m = ms.iter().sum::<f64>() / ms.len() as f64;
        let starts = vec![
            vec![1.0, 2.0, mean_m],
            vec![5.0, 3.0, 3.0 * mean_m],
            vec![0.5, 5.0, 0.2 * mean_m],
        ];
        // ln m̄ depends on the data only: taken once here, not at each of the fit's evaluations
        let ln_m: Vec<f64> = ms.iter().map(|m| m.ln()).collect();
        fit::fit_mle_with(rows, opts, starts, &|g: &GammaGamma, grad| {
            fit::chunked_sum(xs.len(), |range| {
                g.sum_range(rows, range, grad, |i| ln_m[i])
            })
        })
    }

    /// Log-likelihood of one repeat customer (note 025 eq. 1a).
    pub fn row_log_likelihood(&self, x: f64, m: f64) -> f64 {
        self.row_ll(x, m, 0.0)
    }

    /// Total log-likelihood over customers with x > 0 and m̄ > 0.
    pub fn log_likelihood(&self, frequency: &[f64], monetary_value: &[f64]) -> f64 {
        frequency
            .iter()
            .zip(monetary_value)
            .filter(|&(&x, &m)| x > 0.0 && m > 0.0)
            .map(|(&x, &m)| self.row_ll(x, m, 0.0))
            .sum()
    }

    /// Population mean spend pγ/(q−1); needs q > 1.
    pub fn population_mean(&self) -> Result<f64> {
        if self.q > 1.0 {
            Ok(self.p * self.v / (self.q - 1.0))
        } else {
            Err(ClvError::InvalidParameter {
                name: "q",
                value: self.q,
                rule: "must be > 1 for a finite population mean spend",
            })
        }
    }

    /// E[M | x, m̄] (note 025 eq. 5) = p(γ + x·m̄)/(px + q − 1) for repeat customers with
    /// m̄ > 0; the population mean for everyone else (module doc).
    pub fn expected_average_value(&self, x: f64, m: f64) -> Result<f64> {
        if x > 0.0 && m > 0.0 {
            let d = self.p * x + self.q - 1.0;
            if d > 0.0 {
                return Ok(self.p * (self.v + x * m) / d);
            }
            return Err(ClvError::InvalidParameter {
                name: "q",
                value: self.q,
                rule: "p·x + q must exceed 1 for a finite conditional mean spend",
            });
        }
        self.population_mean()
    }

    /// [`Self::expected_average_value`] for every customer (in parallel for many customers;
    /// on failure the error of the first failing customer).
    pub fn expected_average_values(&self, frequency: &[f64], monetary: &[f64]) -> Result<Vec<f64>> {
        self.expected_average_values_with(frequency, monetary, None)
    }

    /// [`Self::expected_average_values`], except that repeat customers with m̄ above
    /// `own_mean_above` keep their own mean spend: the extreme spenders the fit left out
    /// ([`SpendFitReport::own_mean_above`]).
    pub fn expected_average_values_with(
        &self,
        frequency: &[f64],
        monetary: &[f64],
        own_mean_above: Option<f64>,
    ) -> Result<Vec<f64>> {
        check_spend_inputs(frequency, monetary)?;
        let one = |x: f64, m: f64| match own_mean_above {
            Some(cut) if x > 0.0 && m > cut => Ok(m),
            _ => self.expected_average_value(x, m),
        };
        let vals = crate::model::par_map(frequency.len(), |i| one(frequency[i], monetary[i]).ok());
        if let Some(vals) = vals.into_iter().collect::<Option<Vec<f64>>>() {
            return Ok(vals);
        }
        frequency
            .iter()
            .zip(monetary)
            .map(|(&x, &m)| one(x, m))
            .collect()
    }
}

impl Mle for GammaGamma {
    const NAME: &'static str = "gamma_gamma";
    const NAMES: &'static [&'static str] = &["p", "q", "v"];
    const ANALYTIC: bool = true;

    fn from_slice(p: &[f64]) -> Result<Self> {
        GammaGamma::new(p[0], p[1], p[2])
    }

    fn row_ll(&self, x: f64, m: f64, _: f64) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * v.ln()
            + (px - 1.0) * m.ln()
            + px * x.ln()
            - (px + q) * (v + x * m).ln()
    }

    fn row_grad(&self, x: f64, m: f64, c: f64) -> (f64, [f64; MAXP]) {
        let GammaGamma { p, q, v } = *self;
        let px = p * x;
        let d_pq = digamma(px + q);
        let l_vxm = (v + x * m).ln();
        let dp = x * (d_pq - digamma(px) + m.ln() + x.ln() - l_vxm);
        let dq = d_pq - digamma(q) + v.ln() - l_vxm;
        let dv = q / v - (px + q) / (v + x * m);
        (self.row_ll(x, m, c), [dp, dq, dv, 0.0])
    }

    /// Same sums with lnΓ/ψ of p·x computed once per run of equal x (the fit sorts by x).
    fn sum_rows(&self, rows: Rows<'_>, range: std::ops::Range<usize>, grad: bool) -> [f64; 5] {
        self.sum_range(rows, range, grad, |i| rows.b[i].ln())
    }
}

impl GammaGamma {
    /// [`Mle::sum_rows`] with each row's ln m̄ from `ln_m`: a fit takes them once, not at
    /// every evaluation (the same bits either way).
    fn sum_range(
        &self,
        rows: Rows<'_>,
        range: std::ops::Range<usize>,
        grad: bool,
        ln_m: impl Fn(usize) -> f64,
    ) -> [f64; 5] {
        let GammaGamma { p, q, v } = *self;
        let ln_v = v.ln();
        let base = -ln_gamma(q) + q * ln_v;
        let psi_q = if grad { digamma(q) } else { 0.0 };
        let mut acc = [0.0; 5];
        let mut cur_x = f64::NAN;
        let (mut ll_x, mut dp_x) = (0.0, 0.0);
        let mut d_pq = 0.0;
        for i in range {
            let (x, m, w) = (rows.a[i], rows.b[i], rows.w[i]);
            let px = p * x;
            if x != cur_x {
                cur_x = x;
                let ln_x = x.ln();
                ll_x = ln_gamma(px + q) - ln_gamma(px) + base + px * ln_x;
                if grad {
                    d_pq = digamma(px + q);
                    dp_x = d_pq - digamma(px) + ln_x;
                }
            }
            let (ln_m, l_vxm) = (ln_m(i), (v + x * m).ln());
            acc[0] += w * (ll_x + (px - 1.0) * ln_m - (px + q) * l_vxm);
            if grad {
                acc[1] += w * x * (dp_x + ln_m - l_vxm);
                acc[2] += w * (d_pq - psi_q + ln_v - l_vxm);
                acc[3] += w * (q / v - (px + q) / (v + x * m));
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_sums_equal_row_sums() {
        let g = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let (x, m) = (
            vec![1.0, 1.0, 2.0, 5.0, 3.0],
            vec![10.0, 42.5, 7.25, 30.0, 12.0],
        );
        let (c, w) = (vec![0.0; 5], vec![1.0, 2.0, 1.0, 3.0, 1.0]);
        let rows = Rows {
            a: &x,
            b: &m,
            c: &c,
            w: &w,
        };
        let got = g.sum_rows(rows, 0..5, true);
        let mut want = [0.0; 5];
        for i in 0..5 {
            let (l, d) = g.row_grad(x[i], m[i], 0.0);
            want[0] += w[i] * l;
            for k in 0..3 {
                want[k + 1] += w[i] * d[k];
            }
        }
        for k in 0..4 {
            assert!(
                (got[k] - want[k]).abs() < 1e-12 * (1.0 + want[k].abs()),
                "{k}: {got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let m = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let (x, s) = (3.0, 42.5);
        let g = m.row_grad(x, s, 0.0).1;
        let p = m.params();
        for i in 0..3 {
            let h = 1e-6 * p[i];
            let (mut up, mut dn) = (p, p);
            up[i] += h;
            dn[i] -= h;
            let fd = (GammaGamma::from_slice(&up).unwrap().row_ll(x, s, 0.0)
                - GammaGamma::from_slice(&dn).unwrap().row_ll(x, s, 0.0))
                / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-6 * (1.0 + g[i].abs()));
        }
    }

    #[test]
    fn non_repeaters_get_the_population_mean() {
        let m = GammaGamma::new(6.0, 4.0, 15.0).unwrap();
        assert_eq!(m.expected_average_value(0.0, 0.0).unwrap(), 30.0);
        assert_eq!(m.expected_average_value(2.0, -5.0).unwrap(), 30.0);
        assert!(
            GammaGamma::new(6.0, 0.5, 15.0)
                .unwrap()
                .population_mean()
                .is_err()
        );
    }
}
