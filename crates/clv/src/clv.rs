//! Customer lifetime value: lifetimes' discrete monthly discounted sum, and the Pareto/NBD
//! continuous-discount DERT × spend.
//!
//! Discrete CLV (lifetimes 0.11.3 `_customer_lifetime_value`, for parity):
//! CLV = Σ_{i=1..months} E[M] · (E[X(T, T+i·m]] − E[X(T, T+(i−1)·m]]) / (1+d)^i,
//! where m = model time units per month and d the monthly discount rate. lifetimes fixes m by
//! its `freq` argument: 30 for days, **4.345** for weeks, 1 for months (not 30/7 for weeks);
//! [`periods_per_month_lifetimes`] returns those, [`periods_per_month_30_days`] the calendar
//! alternative (30 days / unit length). The caller picks and reports which.

use clientele_core::TimeUnit;
use serde::{Deserialize, Serialize};

use crate::data::CalibrationData;
use crate::error::{ClvError, Result, positive};
use crate::model::{Model, par_map};
use crate::pareto_nbd::ParetoNbd;

/// lifetimes' month length in model units: D → 30, W → 4.345, M → 1. lifetimes has no
/// other units: a quarter is 3 months and a year 12, N days make 30 / N to the month.
pub fn periods_per_month_lifetimes(unit: TimeUnit) -> f64 {
    match unit {
        TimeUnit::Days => 30.0,
        TimeUnit::Weeks => 4.345,
        TimeUnit::Months => 1.0,
        TimeUnit::Quarters => 1.0 / 3.0,
        TimeUnit::Years => 1.0 / 12.0,
        TimeUnit::NDays(n) => 30.0 / f64::from(n),
    }
}

/// A 30-day month in model units (30 / unit length in days): 30, 30/7, 1.
pub fn periods_per_month_30_days(unit: TimeUnit) -> f64 {
    30.0 / unit.days()
}

/// Horizon, discount and month length for the discrete CLV.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClvOptions {
    /// Number of months summed.
    pub months: u32,
    /// Discount rate per month (0.01 = 1 %).
    pub monthly_discount: f64,
    /// Model time units per month.
    pub periods_per_month: f64,
    /// A last, partial month after the whole ones (0 ≤ f < 1): a horizon of 95 weeks is 21
    /// whole months and 0.86 of one, summed as one more step discounted at (1+d)^21.86.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub partial_month: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl ClvOptions {
    /// Validated options.
    pub fn new(months: u32, monthly_discount: f64, periods_per_month: f64) -> Result<Self> {
        if !(monthly_discount.is_finite() && monthly_discount > -1.0) {
            return Err(ClvError::InvalidArgument {
                name: "monthly_discount",
                value: monthly_discount,
                rule: "must be finite and > -1",
            });
        }
        Ok(ClvOptions {
            months,
            partial_month: 0.0,
            monthly_discount,
            periods_per_month: positive("periods_per_month", periods_per_month).map_err(|_| {
                ClvError::InvalidArgument {
                    name: "periods_per_month",
                    value: periods_per_month,
                    rule: "must be finite and > 0",
                }
            })?,
        })
    }

    /// The same options over a horizon of `months` months, whole or not (`21.86`).
    pub fn with_horizon(self, months: f64) -> Result<Self> {
        if !(months.is_finite() && months >= 0.0 && months < f64::from(u32::MAX)) {
            return Err(ClvError::InvalidArgument {
                name: "months",
                value: months,
                rule: "the horizon must be finite and >= 0 months",
            });
        }
        let whole = months.floor();
        Ok(ClvOptions {
            months: whole as u32,
            partial_month: months - whole,
            ..self
        })
    }

    /// The horizon in months, the partial one included.
    pub fn horizon_months(&self) -> f64 {
        f64::from(self.months) + self.partial_month
    }

    /// The steps of the discounted sum: (months since the as-of date, discount factor) for
    /// each whole month, then the partial one; for whole months these are i and (1+d)^i.
    pub fn steps(&self) -> Vec<(f64, f64)> {
        let base = 1.0 + self.monthly_discount;
        let mut steps: Vec<(f64, f64)> = (1..=self.months)
            .map(|i| (f64::from(i), base.powi(i as i32)))
            .collect();
        if self.partial_month > 0.0 {
            let t = self.horizon_months();
            steps.push((t, base.powf(t)));
        }
        steps
    }

    /// lifetimes' defaults for a time unit: 12 months, 1 % a month, its month length.
    pub fn lifetimes(unit: TimeUnit) -> Self {
        ClvOptions {
            months: 12,
            partial_month: 0.0,
            monthly_discount: 0.01,
            periods_per_month: periods_per_month_lifetimes(unit),
        }
    }
}

/// Discrete discounted CLV of one customer with expected value per transaction `value`.
pub fn customer_clv(model: &Model, x: f64, tx: f64, t: f64, value: f64, opts: &ClvOptions) -> f64 {
    let m = opts.periods_per_month;
    if model.splits_off_p_alive() {
        // BG/NBD, MBG/NBD, Pareto/NBD: P(alive) is the same factor in every month: evaluate
        // it once.
        let mut prev = 0.0;
        let mut total = 0.0;
        for (i, d) in opts.steps() {
            let cum = model.expected_if_alive(i * m, x, t).unwrap_or(f64::NAN);
            total += (cum - prev) / d;
            prev = cum;
        }
        return value * total * model.p_alive(x, tx, t);
    }
    let mut prev = 0.0;
    let mut total = 0.0;
    for (i, d) in opts.steps() {
        let cum = model.expected_purchases(i * m, x, tx, t);
        total += value * (cum - prev) / d;
        prev = cum;
    }
    total
}

/// [`customer_clv`] for every customer; `expected_value[i]` is E[M] of customer i (e.g.
/// [`crate::GammaGamma::expected_average_values`]).
///
/// The model terms are evaluated once per distinct (x, tₓ, T) row and combined with each
/// customer's value afterwards, in the same floating-point order as [`customer_clv`], so the
/// result is bit-identical to calling it on every customer.
pub fn clv(
    model: &Model,
    data: &CalibrationData,
    expected_value: &[f64],
    opts: &ClvOptions,
) -> Result<Vec<f64>> {
    check_values(data, expected_value)?;
    let steps = opts.steps();
    let m = opts.periods_per_month;
    if model.splits_off_p_alive() {
        // BG/NBD, MBG/NBD, Pareto/NBD: Σ discounted increments if alive depends on (x, T) only (a few
        // hundred thousand pairs at millions of customers, where distinct (x, tₓ, T) rows are
        // about a million); P(alive) per customer.
        let v = data.unique_x_age();
        let totals = par_map(v.len(), |j| {
            let (x, t) = (v.x[j], v.t[j]);
            let mut prev = 0.0;
            let mut total = 0.0;
            for &(i, d) in &steps {
                let cum = model.expected_if_alive(i * m, x, t).unwrap_or(f64::NAN);
                total += (cum - prev) / d;
                prev = cum;
            }
            total
        });
        let p_alive = model.p_alive_all(data);
        return Ok(par_map(data.len(), |i| {
            expected_value[i] * totals[v.inverse[i] as usize] * p_alive[i]
        }));
    }
    let u = data.unique_rows();
    let months = steps.len();
    // Other models: the value multiplies each month's increment, so keep the increments of
    // each distinct row and sum per customer.
    let incs = par_map(u.len(), |j| {
        let (x, tx, t) = (u.x[j], u.tx[j], u.t[j]);
        let mut prev = 0.0;
        steps
            .iter()
            .map(|&(i, _)| {
                let cum = model.expected_purchases(i * m, x, tx, t);
                let inc = cum - prev;
                prev = cum;
                inc
            })
            .collect::<Vec<f64>>()
    });
    debug_assert!(incs.iter().all(|v| v.len() == months));
    Ok(par_map(data.len(), |i| {
        let value = expected_value[i];
        let mut total = 0.0;
        for (inc, (_, d)) in incs[u.inverse[i] as usize].iter().zip(&steps) {
            total += value * inc / d;
        }
        total
    }))
}

/// Continuous-discount CLV for the Pareto/NBD: DERT(δ) × E[M] per customer (infinite
/// horizon; δ = continuous discount rate per model time unit, e.g. ln(1.1)/52 for 10 % a
/// year in weeks). DERT is evaluated once per distinct (x, tₓ, T) row.
pub fn dert_clv(
    model: &ParetoNbd,
    data: &CalibrationData,
    expected_value: &[f64],
    delta: f64,
) -> Result<Vec<f64>> {
    check_values(data, expected_value)?;
    model.dert(delta, 0.0, 0.0, 0.0)?;
    let u = data.unique_rows();
    let dert = par_map(u.len(), |j| {
        model
            .dert(delta, u.x[j], u.tx[j], u.t[j])
            .unwrap_or(f64::NAN)
    });
    Ok(par_map(data.len(), |i| {
        dert[u.inverse[i] as usize] * expected_value[i]
    }))
}

fn check_values(data: &CalibrationData, v: &[f64]) -> Result<()> {
    if v.len() != data.len() {
        return Err(ClvError::LengthMismatch {
            column: "expected_value",
            expected: data.len(),
            actual: v.len(),
        });
    }
    let count = v.iter().filter(|a| !a.is_finite()).count();
    if count > 0 {
        return Err(ClvError::NonFinite {
            column: "expected_value",
            count,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BgNbd, ParetoNbd};

    #[test]
    fn a_partial_last_month_lies_between_the_whole_months_around_it() {
        let data = CalibrationData::new(
            vec![0.0, 2.0, 7.0],
            vec![0.0, 20.0, 35.0],
            vec![39.0, 39.0, 38.0],
        )
        .unwrap();
        let value = [10.0, 20.0, 30.0];
        let base = ClvOptions::new(12, 0.01, 4.345).unwrap();
        for model in [
            Model::BgNbd(BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap()),
            Model::ParetoNbd(ParetoNbd::new(0.55, 10.58, 0.61, 11.67).unwrap()),
        ] {
            let at = |months: f64| {
                clv(&model, &data, &value, &base.with_horizon(months).unwrap()).unwrap()
            };
            // a whole horizon is the old sum, bit for bit
            assert_eq!(at(12.0), clv(&model, &data, &value, &base).unwrap());
            let (lo, mid, hi) = (at(21.0), at(21.86), at(22.0));
            for i in 0..3 {
                assert!(
                    lo[i] < mid[i] && mid[i] < hi[i],
                    "{model:?} {i}: {lo:?} {mid:?} {hi:?}"
                );
                let one = customer_clv(
                    &model,
                    data.frequency()[i],
                    data.recency()[i],
                    data.age()[i],
                    value[i],
                    &base.with_horizon(21.86).unwrap(),
                );
                assert_eq!(one, mid[i]);
            }
        }
        let o = base.with_horizon(21.86).unwrap();
        assert_eq!((o.months, o.steps().len()), (21, 22));
        assert!((o.horizon_months() - 21.86).abs() < 1e-12);
        assert!(base.with_horizon(-1.0).is_err());
        assert!(base.with_horizon(f64::NAN).is_err());
    }
}
