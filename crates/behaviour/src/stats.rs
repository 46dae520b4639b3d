//! Numbers the analyses share: measure columns checked finite, shares, quantiles.

use clientele_core::CustomerTable;

use crate::error::{BehaviourError, Result};

/// `a / b`, 0 when `b` is 0 (empty groups get share 0, not NaN, so JSON stays valid).
pub(crate) fn div(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

/// A numeric column as `f64`s; NaN or infinity is an error naming the row.
pub(crate) fn finite_numbers(table: &CustomerTable, name: &str) -> Result<Vec<Option<f64>>> {
    let v = table.numbers(name)?;
    check_finite(name, &v)?;
    Ok(v)
}

pub(crate) fn check_finite(name: &str, v: &[Option<f64>]) -> Result<()> {
    match v.iter().position(|x| x.is_some_and(|x| !x.is_finite())) {
        Some(row) => Err(BehaviourError::NotFinite {
            column: name.to_string(),
            row,
        }),
        None => Ok(()),
    }
}

/// Type-7 (linear) quantile of a sorted, non-empty slice; the default of R and NumPy.
#[cfg(test)]
pub(crate) fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (v[hi] - v[lo]) * (h - lo as f64)
}

/// Type-7 quantile by selection (O(n), reorders `v`); `v` non-empty.
pub(crate) fn quantile_select(v: &mut [f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let (_, a, right) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    let frac = h - lo as f64;
    if frac == 0.0 || right.is_empty() {
        return a;
    }
    let b = right.iter().copied().fold(f64::INFINITY, f64::min);
    a + (b - a) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_type7() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert!((quantile_sorted(&v, 0.9) - 3.7).abs() < 1e-12);
        let mut w = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile_select(&mut w, 0.5), 2.5);
        assert!((quantile_select(&mut w, 0.9) - 3.7).abs() < 1e-12);
        assert_eq!(quantile_select(&mut [7.0], 0.9), 7.0);
    }

    #[test]
    fn shares_of_nothing_are_zero() {
        assert_eq!(div(1.0, 4.0), 0.25);
        assert_eq!(div(3.0, 0.0), 0.0);
    }
}
