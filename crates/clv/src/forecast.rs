//! Forecasts per period: expected purchases (and value) in each of the next `periods`
//! periods of `length` model time units, in total and per customer.
//!
//! Period k covers (T + (k−1)·length, T + k·length] after each customer's calibration end, so
//! the periods of all customers are the same calendar periods after the as-of date. The
//! per-period increments are differences of the model's cumulative expectation, so they sum
//! to the expectation over the whole span (the CLV horizon's expected purchases).

use crate::data::{CalibrationData, UniqueRows};
use crate::error::{ClvError, Result, positive};
use crate::model::{Model, par_map};

/// Per-period increments of E[X(T, T + k·length]] for one history, k = 1..=periods.
fn increments(periods: usize, length: f64, cum: impl Fn(f64) -> f64) -> impl Iterator<Item = f64> {
    let mut prev = 0.0;
    (1..=periods).map(move |k| {
        let c = cum(k as f64 * length);
        let inc = c - prev;
        prev = c;
        inc
    })
}

/// The per-period increments once per distinct history, which history each customer has,
/// and each customer's factor: P(alive) where it factors out of the expectation (BG/NBD,
/// MBG/NBD, Pareto/NBD: the increments are then those if alive, a function of (x, T) only),
/// none where it does not.
struct Increments<'a> {
    histories: &'a UniqueRows,
    incs: Vec<Vec<f64>>,
    factor: Option<Vec<f64>>,
}

impl<'a> Increments<'a> {
    fn of(model: &Model, data: &'a CalibrationData, length: f64, periods: usize) -> Self {
        if model.splits_off_p_alive() {
            let v = data.unique_x_age();
            let incs = par_map(v.len(), |j| {
                increments(periods, length, |h| {
                    model
                        .expected_if_alive(h, v.x[j], v.t[j])
                        .unwrap_or(f64::NAN)
                })
                .collect()
            });
            Increments {
                histories: v,
                incs,
                factor: Some(model.p_alive_all(data)),
            }
        } else {
            let v = data.unique_rows();
            let incs = par_map(v.len(), |j| {
                increments(periods, length, |h| {
                    model.expected_purchases(h, v.x[j], v.tx[j], v.t[j])
                })
                .collect()
            });
            Increments {
                histories: v,
                incs,
                factor: None,
            }
        }
    }

    /// Customer `i`'s factor.
    fn factor(&self, i: usize) -> f64 {
        self.factor.as_ref().map_or(1.0, |p| p[i])
    }
}

/// Expected purchases of every customer in each period, `[customer][period]` flattened
/// customer-major (`periods` values per customer).
pub fn expected_purchases_by_period(
    model: &Model,
    data: &CalibrationData,
    length: f64,
    periods: usize,
) -> Result<Vec<f64>> {
    check_length(length)?;
    let t = Increments::of(model, data, length, periods);
    let per_customer: Vec<Vec<f64>> = par_map(data.len(), |i| {
        let f = t.factor(i);
        let inc = &t.incs[t.histories.inverse[i] as usize];
        if t.factor.is_some() {
            inc.iter().map(|v| v * f).collect()
        } else {
            inc.clone()
        }
    });
    Ok(per_customer.into_iter().flatten().collect())
}

/// Totals per period of [`expected_purchases_by_period`] (Σ over customers), and of value
/// when each customer's expected value per purchase is given (Σ value × purchases), without
/// holding a row per customer and period: the increments are evaluated once per distinct
/// history and weighted by the customers (and value) showing it.
pub fn period_totals(
    model: &Model,
    data: &CalibrationData,
    length: f64,
    periods: usize,
    value: Option<&[f64]>,
) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    check_length(length)?;
    if let Some(v) = value
        && v.len() != data.len()
    {
        return Err(ClvError::LengthMismatch {
            column: "expected_value",
            expected: data.len(),
            actual: v.len(),
        });
    }
    let t = Increments::of(model, data, length, periods);
    let (u, incs) = (&t.histories, &t.incs);
    let mut w = vec![0.0; u.len()];
    let mut wv = vec![0.0; u.len()];
    for (i, &g) in u.inverse.iter().enumerate() {
        let f = t.factor(i);
        w[g as usize] += f;
        if let Some(v) = value {
            wv[g as usize] += f * v[i];
        }
    }
    let mut purchases = vec![0.0; periods];
    let mut money = value.map(|_| vec![0.0; periods]);
    for (g, inc) in incs.iter().enumerate() {
        for (k, d) in inc.iter().enumerate() {
            purchases[k] += w[g] * d;
            if let Some(m) = money.as_mut() {
                m[k] += wv[g] * d;
            }
        }
    }
    Ok((purchases, money))
}

fn check_length(length: f64) -> Result<()> {
    positive("length", length).map_err(|_| ClvError::InvalidArgument {
        name: "length",
        value: length,
        rule: "the period length must be finite and > 0",
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BgNbd, MbgNbd, ParetoNbd};

    fn data() -> CalibrationData {
        CalibrationData::new(
            vec![0.0, 1.0, 3.0, 10.0, 0.0],
            vec![0.0, 5.0, 20.0, 30.0, 0.0],
            vec![40.0, 40.0, 38.0, 35.0, 2.0],
        )
        .unwrap()
    }

    #[test]
    fn the_periods_add_up_to_the_expectation_over_the_whole_span() {
        let models = [
            Model::BgNbd(BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap()),
            Model::MbgNbd(MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap()),
            Model::ParetoNbd(ParetoNbd::new(0.55, 10.58, 0.61, 11.67).unwrap()),
        ];
        let d = data();
        for m in models {
            let by = expected_purchases_by_period(&m, &d, 4.345, 12).unwrap();
            let whole = m.expected_purchases_all(12.0 * 4.345, &d);
            for (i, row) in by.chunks_exact(12).enumerate() {
                let sum: f64 = row.iter().sum();
                assert!(
                    (sum - whole[i]).abs() < 1e-12,
                    "{m:?} {i}: {sum} {}",
                    whole[i]
                );
                assert!(row.iter().all(|v| v.is_finite() && *v >= 0.0));
            }
            let value = [1.0, 2.0, 3.0, 4.0, 5.0];
            let (totals, money) = period_totals(&m, &d, 4.345, 12, Some(&value)).unwrap();
            let money = money.unwrap();
            for k in 0..12 {
                let direct: f64 = by.chunks_exact(12).map(|r| r[k]).sum();
                let direct_value: f64 = by.chunks_exact(12).zip(value).map(|(r, v)| r[k] * v).sum();
                assert!((totals[k] - direct).abs() < 1e-12);
                assert!((money[k] - direct_value).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn a_bad_period_length_is_refused() {
        let m = Model::BgNbd(BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap());
        assert!(expected_purchases_by_period(&m, &data(), 0.0, 12).is_err());
        assert!(expected_purchases_by_period(&m, &data(), f64::NAN, 12).is_err());
        assert!(period_totals(&m, &data(), 4.345, 12, Some(&[1.0])).is_err());
    }
}
