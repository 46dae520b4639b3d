//! Validated calibration data (x, tₓ, T) with row weights, and its compression to unique rows.

use std::sync::{Arc, Mutex, OnceLock};

use clientele_core::ClvSummary;
use rayon::prelude::*;

use crate::error::{ClvError, Result};

/// Rows from which sorting goes parallel.
const PAR_SORT_MIN: usize = 1 << 15;

/// A u64 whose unsigned order is `f64::total_cmp` order and whose equality is bit equality.
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// Bits needed to hold 0..=v.
fn bits_for(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Bits for the largest value when every value is a whole number from +0.0 to 2⁵² (so
/// `as u64` is exact and equal integers mean equal bit patterns); None otherwise.
fn whole_number_bits(c: &[f64]) -> Option<u32> {
    let mut max = 0.0f64;
    for &v in c {
        if v.to_bits() >> 63 != 0 || v.fract() != 0.0 || v > 4.5e15 {
            return None;
        }
        max = max.max(v);
    }
    Some(bits_for(max as u64))
}

/// Distinct values a column may have to be keyed by rank ([`ColumnKey::Ranked`]); small in
/// tests, so that they reach the comparison sort past it.
const MAX_RANKED: usize = if cfg!(test) { 1000 } else { 1 << 20 };

/// How a column's values become a few bits of a packed sort key, in `total_cmp` order and
/// equal exactly for equal bit patterns.
enum ColumnKey {
    /// Whole numbers from +0.0 ([`whole_number_bits`]): the value itself.
    Whole,
    /// The value's rank among the column's distinct bit patterns in `total_cmp` order:
    /// periods of a unit longer than a day (T = 52.142857… weeks) are not whole, but there
    /// are as few of them as there are days.
    Ranked(crate::fit::KeyMap<u32>),
}

impl ColumnKey {
    /// The key and its width in bits; None past [`MAX_RANKED`] distinct values.
    fn of(c: &[f64]) -> Option<(ColumnKey, u32)> {
        if let Some(w) = whole_number_bits(c) {
            return Some((ColumnKey::Whole, w));
        }
        // the distinct values first (those of each piece, on every core, then together),
        // ranked once they are all in
        let piece = |chunk: &[f64]| {
            let mut m = crate::fit::KeyMap::default();
            chunk.iter().for_each(|v| {
                m.insert(v.to_bits(), 0);
            });
            (m.len() <= MAX_RANKED).then_some(m)
        };
        let together = |mut a: crate::fit::KeyMap<u32>, b: crate::fit::KeyMap<u32>| {
            a.extend(b);
            (a.len() <= MAX_RANKED).then_some(a)
        };
        let mut ranks = c
            .par_chunks(1 << 16)
            .map(piece)
            .try_reduce(crate::fit::KeyMap::default, together)?;
        let mut distinct: Vec<f64> = ranks.keys().map(|&b| f64::from_bits(b)).collect();
        distinct.sort_unstable_by(f64::total_cmp);
        for (r, v) in distinct.iter().enumerate() {
            ranks.insert(v.to_bits(), r as u32);
        }
        let width = bits_for(distinct.len().saturating_sub(1) as u64);
        Some((ColumnKey::Ranked(ranks), width))
    }

    fn key(&self, v: f64) -> u64 {
        match self {
            ColumnKey::Whole => v as u64,
            ColumnKey::Ranked(ranks) => ranks.get(&v.to_bits()).map_or(0, |&r| u64::from(r)),
        }
    }
}

/// Distinct (x, tₓ, T) rows of a [`CalibrationData`] and the row → distinct-row map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UniqueRows {
    pub(crate) x: Vec<f64>,
    pub(crate) tx: Vec<f64>,
    pub(crate) t: Vec<f64>,
    /// `inverse[i]`: index of row i's distinct row.
    pub(crate) inverse: Vec<u32>,
    /// The rows of distinct row j, in row order: `members[starts[j]..starts[j + 1]]` (as the
    /// sort that grouped them left them; made for [`CalibrationData::unique_rows`] only).
    pub(crate) members: Vec<u32>,
    pub(crate) starts: Vec<usize>,
}

impl UniqueRows {
    /// Number of distinct rows.
    pub(crate) fn len(&self) -> usize {
        self.x.len()
    }

    /// `f` evaluated once per distinct row (in parallel for many rows), scattered back to
    /// one value per original row: bit-identical to evaluating `f` on every row.
    pub(crate) fn map(&self, f: impl Fn(f64, f64, f64) -> f64 + Sync + Send) -> Vec<f64> {
        let vals = crate::model::par_map(self.len(), |j| f(self.x[j], self.tx[j], self.t[j]));
        self.scatter(&vals)
    }

    /// `vals[inverse[i]]` for every original row i.
    pub(crate) fn scatter(&self, vals: &[f64]) -> Vec<f64> {
        if self.inverse.len() >= PAR_SORT_MIN {
            self.inverse.par_iter().map(|&g| vals[g as usize]).collect()
        } else {
            self.inverse.iter().map(|&g| vals[g as usize]).collect()
        }
    }
}

/// Calibration-period data in the CLV convention: `x` repeat purchases, `tx` time of the last
/// repeat purchase since the first purchase, `t` age at the end of calibration (all in the
/// model's time unit), plus a weight per row (number of customers the row stands for).
///
/// Construction checks lifetimes' input rules, so a value of this type is always usable.
#[derive(Debug, Clone)]
pub struct CalibrationData {
    x: Vec<f64>,
    tx: Vec<f64>,
    t: Vec<f64>,
    w: Vec<f64>,
    /// The distinct rows, made on first use: the fit, every prediction and the intervals
    /// group the same rows (a sort of all customers each, a tenth of a second per million).
    unique: Arc<OnceLock<UniqueRows>>,
    /// The distinct (x, T) pairs, the same way.
    unique_x_age: Arc<OnceLock<UniqueRows>>,
    /// P(alive) of every row under the model it was last worked out for
    /// ([`crate::Model::p_alive_all`]): the scoring steps each need it (P(alive), expected
    /// purchases, purchase chances, next purchase, CLV, forecast) for the same model.
    alive: Arc<Mutex<Option<AliveMemo>>>,
}

/// A model (its kind and parameters' bits) and P(alive) of every row under it.
#[derive(Debug)]
pub(crate) struct AliveMemo {
    pub(crate) key: (crate::ModelKind, [u64; 4]),
    pub(crate) p_alive: Arc<Vec<f64>>,
}

impl PartialEq for CalibrationData {
    fn eq(&self, other: &Self) -> bool {
        (&self.x, &self.tx, &self.t, &self.w) == (&other.x, &other.tx, &other.t, &other.w)
    }
}

fn count(v: &[f64], bad: impl Fn(f64) -> bool) -> usize {
    v.iter().filter(|&&a| bad(a)).count()
}

fn fail_if(count: usize, err: impl FnOnce(usize) -> ClvError) -> Result<()> {
    if count > 0 { Err(err(count)) } else { Ok(()) }
}

/// Checks lifetimes' rules on (x, tₓ, T); shared with the holdout validation.
pub(crate) fn check_rows(x: &[f64], tx: &[f64], t: &[f64]) -> Result<()> {
    if x.is_empty() {
        return Err(ClvError::Empty);
    }
    for (column, v) in [("recency", tx), ("T", t)] {
        if v.len() != x.len() {
            return Err(ClvError::LengthMismatch {
                column,
                expected: x.len(),
                actual: v.len(),
            });
        }
    }
    // every rule counted in one pass over the rows, on every core (counts add up in any
    // order), then said in the order of the rules
    let counted = |i: usize| {
        let (a, b, c) = (x[i], tx[i], t[i]);
        [
            !a.is_finite(),
            !b.is_finite(),
            !c.is_finite(),
            a < 0.0,
            a.fract() != 0.0,
            b < 0.0,
            b > c,
            a == 0.0 && b != 0.0,
        ]
        .map(usize::from)
    };
    let add = |mut p: [usize; 8], q: [usize; 8]| {
        p.iter_mut().zip(q).for_each(|(a, b)| *a += b);
        p
    };
    let [
        x_nf,
        tx_nf,
        t_nf,
        negative,
        fraction,
        tx_negative,
        above,
        zero,
    ] = if x.len() >= PAR_SORT_MIN {
        (0..x.len())
            .into_par_iter()
            .map(counted)
            .reduce(|| [0; 8], add)
    } else {
        (0..x.len()).map(counted).fold([0; 8], add)
    };
    for (column, count) in [("frequency", x_nf), ("recency", tx_nf), ("T", t_nf)] {
        fail_if(count, |count| ClvError::NonFinite { column, count })?;
    }
    fail_if(negative, |count| ClvError::NegativeFrequency { count })?;
    fail_if(fraction, |count| ClvError::NonIntegerFrequency { count })?;
    fail_if(tx_negative, |count| ClvError::NegativeRecency { count })?;
    fail_if(above, |count| ClvError::RecencyAboveT { count })?;
    fail_if(zero, |count| ClvError::ZeroFrequencyNonZeroRecency {
        count,
    })
}

impl CalibrationData {
    /// One row per customer, weight 1.
    pub fn new(x: Vec<f64>, tx: Vec<f64>, t: Vec<f64>) -> Result<Self> {
        let w = vec![1.0; x.len()];
        Self::with_weights(x, tx, t, w)
    }

    /// Rows with weights (e.g. the donations data: one row per (x, tₓ, n) pattern).
    pub fn with_weights(x: Vec<f64>, tx: Vec<f64>, t: Vec<f64>, w: Vec<f64>) -> Result<Self> {
        check_rows(&x, &tx, &t)?;
        if w.len() != x.len() {
            return Err(ClvError::LengthMismatch {
                column: "weights",
                expected: x.len(),
                actual: w.len(),
            });
        }
        fail_if(count(&w, |a| !(a.is_finite() && a > 0.0)), |count| {
            ClvError::BadWeight { count }
        })?;
        Ok(CalibrationData::checked(x, tx, t, w))
    }

    /// Rows already checked.
    fn checked(x: Vec<f64>, tx: Vec<f64>, t: Vec<f64>, w: Vec<f64>) -> Self {
        CalibrationData {
            x,
            tx,
            t,
            w,
            unique: Arc::default(),
            unique_x_age: Arc::default(),
            alive: Arc::default(),
        }
    }

    /// P(alive) of every row under the model of `key`: the one worked out last when it was
    /// for that model, else `make`'s (kept for the next call).
    pub(crate) fn p_alive_memo(
        &self,
        key: (crate::ModelKind, [u64; 4]),
        make: impl FnOnce() -> Vec<f64>,
    ) -> Vec<f64> {
        let kept = |memo: &Option<AliveMemo>| {
            memo.as_ref()
                .filter(|m| m.key == key)
                .map(|m| Arc::clone(&m.p_alive))
        };
        // a poisoned lock only means another thread panicked while holding it: recompute
        if let Some(p) = self.alive.lock().ok().and_then(|m| kept(&m)) {
            return p.as_ref().clone();
        }
        let p = make();
        if let Ok(mut memo) = self.alive.lock() {
            *memo = Some(AliveMemo {
                key,
                p_alive: Arc::new(p.clone()),
            });
        }
        p
    }

    /// Takes frequency, recency and T from the core summary (monetary value is not used here).
    pub fn from_summary(s: &ClvSummary) -> Result<Self> {
        Self::new(s.frequency.clone(), s.recency.clone(), s.t.clone())
    }

    /// Unique (x, tₓ, T) rows with summed weights, sorted; the likelihood is identical and
    /// fitting is several times faster on real data (clv.md §5.7).
    ///
    /// Rows are in `f64::total_cmp` order of (x, tₓ, T) and weights are summed in row order,
    /// so the result does not depend on the thread count.
    pub fn compress(&self) -> Self {
        let u = self.unique_rows();
        let mut w = vec![0.0; u.len()];
        for (&g, &wi) in u.inverse.iter().zip(&self.w) {
            w[g as usize] += wi;
        }
        CalibrationData::checked(u.x.clone(), u.tx.clone(), u.t.clone(), w)
    }

    /// The distinct (x, tₓ, T) rows (bitwise distinct, in `total_cmp` order) and, for each
    /// row of `self`, the index of its distinct row. Customer data repeats patterns a lot
    /// (1M customers → ~200k distinct rows), so per-customer predictions are evaluated once per
    /// distinct row and scattered back.
    pub(crate) fn unique_rows(&self) -> &UniqueRows {
        self.unique
            .get_or_init(|| self.unique_by(&[&self.x, &self.tx, &self.t], true))
    }

    /// Like [`Self::unique_rows`] but keyed on (x, T) only (for terms that do not depend on
    /// tₓ, such as the BG/NBD's expected purchases if alive); `tx` of the result is the tₓ of
    /// one row of each group and must not be used.
    pub(crate) fn unique_x_age(&self) -> &UniqueRows {
        self.unique_x_age
            .get_or_init(|| self.unique_by(&[&self.x, &self.t], false))
    }

    /// Groups rows by the bit patterns of `cols`, in `total_cmp` order of the columns;
    /// `members`: with each group's rows ([`UniqueRows::members`]), or none.
    fn unique_by(&self, cols: &[&[f64]], members: bool) -> UniqueRows {
        let n = self.len();
        assert!(u32::try_from(n).is_ok(), "more than u32::MAX rows");
        let mut u = UniqueRows {
            x: Vec::new(),
            tx: Vec::new(),
            t: Vec::new(),
            inverse: vec![0; n],
            members: Vec::with_capacity(if members { n } else { 0 }),
            starts: Vec::new(),
        };
        let push = |u: &mut UniqueRows, i: usize| {
            if members {
                u.starts.push(u.members.len());
            }
            u.x.push(self.x[i]);
            u.tx.push(self.tx[i]);
            u.t.push(self.t[i]);
        };
        // Fast path (counts in days, weeks, …): each column's values keyed by a few bits in
        // their order (whole numbers as themselves, others by rank) fit, with the row index,
        // in one u64, so a plain u64 sort groups them as comparing the values would.
        let idx_bits = bits_for(n as u64);
        let keyed: Option<Vec<(ColumnKey, u32)>> = cols.iter().map(|c| ColumnKey::of(c)).collect();
        if let Some(keyed) = keyed
            && idx_bits + keyed.iter().map(|(_, w)| w).sum::<u32>() <= 64
        {
            let key = |i: usize| {
                let mut k = 0u64;
                for (c, (column, w)) in cols.iter().zip(&keyed) {
                    k = (k << w) | column.key(c[i]);
                }
                (k << idx_bits) | i as u64
            };
            let mut keys: Vec<u64> = if n >= PAR_SORT_MIN {
                (0..n).into_par_iter().map(key).collect()
            } else {
                (0..n).map(key).collect()
            };
            if n >= PAR_SORT_MIN {
                keys.par_sort_unstable();
            } else {
                keys.sort_unstable();
            }
            let mask = (1u64 << idx_bits) - 1;
            let mut last = None;
            for k in keys {
                let (group, i) = (k >> idx_bits, (k & mask) as usize);
                if last != Some(group) {
                    last = Some(group);
                    push(&mut u, i);
                }
                u.inverse[i] = (u.x.len() - 1) as u32;
                if members {
                    u.members.push(i as u32);
                }
            }
            if members {
                u.starts.push(n);
            }
            return u;
        }
        let key = |i: usize| {
            let mut k = [0u64; 3];
            for (slot, c) in k.iter_mut().zip(cols) {
                *slot = order_key(c[i]);
            }
            (k, i as u32)
        };
        let mut keys: Vec<([u64; 3], u32)> = if n >= PAR_SORT_MIN {
            (0..n).into_par_iter().map(key).collect()
        } else {
            (0..n).map(key).collect()
        };
        if n >= PAR_SORT_MIN {
            keys.par_sort_unstable();
        } else {
            keys.sort_unstable();
        }
        let mut last = None;
        for (k, i) in keys {
            let i = i as usize;
            if last != Some(k) {
                last = Some(k);
                push(&mut u, i);
            }
            u.inverse[i] = (u.x.len() - 1) as u32;
            if members {
                u.members.push(i as u32);
            }
        }
        if members {
            u.starts.push(n);
        }
        u
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Never true for a constructed value; present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Repeat purchases per row.
    pub fn frequency(&self) -> &[f64] {
        &self.x
    }

    /// Recency per row.
    pub fn recency(&self) -> &[f64] {
        &self.tx
    }

    /// Age T per row.
    pub fn age(&self) -> &[f64] {
        &self.t
    }

    /// Weight per row.
    pub fn weights(&self) -> &[f64] {
        &self.w
    }

    /// Sum of weights (the number of customers).
    pub fn total_weight(&self) -> f64 {
        self.w.iter().sum()
    }

    /// BG/BB rules: x ≤ tₓ (a purchase at each counted opportunity), tₓ and n whole numbers.
    pub fn check_discrete(&self) -> Result<()> {
        fail_if(count(&self.tx, |a| a.fract() != 0.0), |count| {
            ClvError::DiscreteRule {
                rule: "recency must be a whole number of periods",
                count,
            }
        })?;
        fail_if(count(&self.t, |a| a.fract() != 0.0), |count| {
            ClvError::DiscreteRule {
                rule: "periods (T) must be a whole number",
                count,
            }
        })?;
        let bad = self.x.iter().zip(&self.tx).filter(|(a, b)| a > b).count();
        fail_if(bad, |count| ClvError::DiscreteRule {
            rule: "frequency cannot exceed recency",
            count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_merges_identical_rows_and_sums_weights() {
        let d = CalibrationData::new(
            vec![1.0, 0.0, 1.0, 0.0],
            vec![2.0, 0.0, 2.0, 0.0],
            vec![5.0, 5.0, 5.0, 4.0],
        )
        .unwrap();
        let c = d.compress();
        assert_eq!(c.len(), 3);
        assert_eq!(c.total_weight(), 4.0);
        assert_eq!(c.weights(), &[1.0, 1.0, 2.0]);
    }

    /// P(alive) kept for the last model is that model's, row by row: asked again it is the
    /// same, and another model (or the first again after it) gets its own values.
    #[test]
    fn p_alive_is_kept_for_the_model_it_was_worked_out_for() {
        use crate::{BgNbd, MbgNbd, Model};
        let d = CalibrationData::new(
            vec![0.0, 1.0, 4.0, 2.0],
            vec![0.0, 3.0, 20.0, 9.5],
            vec![30.0, 25.0, 38.0, 12.0],
        )
        .unwrap();
        let row_by_row = |m: &Model| -> Vec<f64> {
            (0..d.len())
                .map(|i| m.p_alive(d.frequency()[i], d.recency()[i], d.age()[i]))
                .collect()
        };
        let first = Model::MbgNbd(MbgNbd::new(0.5, 6.0, 0.9, 1.6).unwrap());
        let nudged = Model::MbgNbd(MbgNbd::new(0.5, 6.0, 0.9, 1.6000001).unwrap());
        let other = Model::BgNbd(BgNbd::new(0.5, 6.0, 0.9, 1.6).unwrap());
        for m in [&first, &first, &nudged, &other, &first] {
            assert_eq!(m.p_alive_all(&d), row_by_row(m), "{m:?}");
        }
        assert_ne!(row_by_row(&first), row_by_row(&nudged));
        assert_ne!(row_by_row(&first), row_by_row(&other));
    }

    /// The distinct rows as comparing the values in `total_cmp` order would give them, and
    /// each row's distinct row, for every way the columns get keyed: whole numbers, ranks
    /// of fractional periods (±0.0 apart), and too many distinct values for a packed key.
    #[test]
    fn distinct_rows_are_those_of_comparing_the_values() {
        let n = 5000usize;
        let weeks = |i: usize, m: usize| (i * 7919 % m) as f64 / 7.0;
        let cases: Vec<[Vec<f64>; 3]> = vec![
            [
                (0..n).map(|i| (i % 13) as f64).collect(),
                (0..n).map(|i| (i % 17) as f64).collect(),
                (0..n).map(|i| (i % 19) as f64).collect(),
            ],
            [
                (0..n).map(|i| (i % 6) as f64).collect(),
                (0..n)
                    .map(|i| if i % 97 == 0 { -0.0 } else { weeks(i, 40) })
                    .collect(),
                (0..n).map(|i| weeks(i, 365) + 3.0).collect(),
            ],
            [
                (0..n).map(|i| (i % 3) as f64).collect(),
                (0..n).map(|i| (i % 5) as f64).collect(),
                (0..n).map(|i| 1.0 + i as f64 * 1e-9).collect(), // past MAX_RANKED
            ],
        ];
        for [x, tx, t] in cases {
            let d = CalibrationData {
                x: x.clone(),
                tx: tx.clone(),
                t: t.clone(),
                ..CalibrationData::new(vec![0.0], vec![0.0], vec![1.0]).unwrap()
            };
            let u = d.unique_by(&[&x, &tx, &t], true);
            let mut want: Vec<[u64; 3]> = (0..n)
                .map(|i| [order_key(x[i]), order_key(tx[i]), order_key(t[i])])
                .collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(u.x.len(), want.len());
            for (g, w) in want.iter().enumerate() {
                assert_eq!(
                    [order_key(u.x[g]), order_key(u.tx[g]), order_key(u.t[g])],
                    *w
                );
            }
            for i in 0..n {
                let g = u.inverse[i] as usize;
                assert_eq!(
                    (u.x[g].to_bits(), u.tx[g].to_bits(), u.t[g].to_bits()),
                    (x[i].to_bits(), tx[i].to_bits(), t[i].to_bits())
                );
            }
        }
    }
}
