//! Cut points: how they are computed from data, how a value is placed with them, and the
//! serde form that is reported with every run and can be given back frozen.
//!
//! All cut points are on the **raw** value axis, ascending. A value's raw bin is
//! `1 + (number of cut points it is above)`; recency then reverses it (most recent = highest
//! score). Keeping one rule for every method is what makes frozen thresholds reproduce a run.

use std::cmp::Ordering;

use clientele_core::Ids;

use serde::{Deserialize, Serialize};

use crate::config::Method;
use crate::error::RfmError;
use crate::scheme::cn8::Cn8Reference;
use crate::scheme::pymc::PymcQuartiles;

/// The cut points one metric was scored with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MetricThresholds {
    /// Customer-table column that was scored (`recency_days`, `orders`, …).
    pub column: String,
    /// Method that produced the cut points.
    pub method: Method,
    /// Number of score levels.
    pub bins: u8,
    /// `false` for recency: a lower raw value gets a higher score.
    pub higher_is_better: bool,
    /// `bins - 1` ascending cut points on the raw value axis. Equal neighbours mean the level
    /// between them is empty (ties kept together).
    pub cuts: Vec<f64>,
    /// Whether a value equal to a cut point goes to the upper raw bin (`[a, b)` bins) instead
    /// of the lower one (`(a, b]` bins, the default as in `pandas.qcut` and R `rfm`).
    pub equal_goes_up: bool,
    /// `ntile` only: for each cut point, the id of the last customer (by value, then id) in the
    /// lower bin, so that ties split across levels are split again the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_ids: Option<Vec<String>>,
}

/// Every threshold a run used. Give it back as [`FrozenThresholds`] to score later runs with the
/// same cut points instead of recomputing them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Recency (days since the last purchase).
    pub recency: MetricThresholds,
    /// Frequency.
    pub frequency: MetricThresholds,
    /// Monetary.
    pub monetary: MetricThresholds,
    /// The 8-class scheme's reference values, when that scheme ran on data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cn8: Option<Cn8Reference>,
    /// PyMC-Marketing quartile edges, when that scheme ran on data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pymc: Option<PymcQuartiles>,
}

/// Thresholds from an earlier run, given back to score new data the same way.
pub type FrozenThresholds = Thresholds;

impl MetricThresholds {
    /// The raw bin (1-based, ascending with the value) of a value.
    pub(crate) fn raw_bin(&self, x: f64, id: &str) -> u8 {
        let above = match &self.tie_ids {
            Some(tids) => {
                // Lexicographic (value, id): ties split by id exactly as when computed.
                let mut lo = 0;
                let mut hi = self.cuts.len();
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    let below = match self.cuts[mid].total_cmp(&x) {
                        Ordering::Less => true,
                        Ordering::Equal => tids[mid].as_str() < id,
                        Ordering::Greater => false,
                    };
                    if below {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                lo
            }
            None if self.equal_goes_up => self.cuts.partition_point(|&c| c <= x),
            None => self.cuts.partition_point(|&c| c < x),
        };
        // `above` ≤ cuts.len() = bins - 1 ≤ 8, so it fits in u8.
        (above as u8) + 1
    }

    /// The score (1..=bins) of a value.
    pub(crate) fn score(&self, x: f64, id: &str) -> u8 {
        let b = self.raw_bin(x, id);
        if self.higher_is_better {
            b
        } else {
            self.bins + 1 - b
        }
    }

    /// The raw bin that a score level corresponds to.
    pub(crate) fn raw_bin_of_score(&self, score: u8) -> u8 {
        if self.higher_is_better {
            score
        } else {
            self.bins + 1 - score
        }
    }

    /// Checks frozen thresholds before they are used.
    pub(crate) fn validate(&self, metric: &'static str, higher: bool) -> Result<(), RfmError> {
        let err = |zh: String, en: String| {
            Err(RfmError::Frozen {
                metric,
                message: clientele_core::Note::new(zh, en),
            })
        };
        let (bins, cuts) = (self.bins, self.cuts.len());
        if !(2..=9).contains(&bins) {
            return err(
                format!("bins 应在 2 到 9 之间，实际为 {bins}"),
                format!("bins must be between 2 and 9, got {bins}"),
            );
        }
        if self.higher_is_better != higher {
            return err(
                format!("{metric} 的 higher_is_better 应为 {higher}；这些阈值属于另一个指标"),
                format!(
                    "higher_is_better must be {higher} for {metric}; these thresholds belong to \
                     another metric"
                ),
            );
        }
        if cuts + 1 != usize::from(bins) {
            let need = bins - 1;
            return err(
                format!(
                    "{bins} 级需要 {need} 个切分点，实际有 {cuts} 个（没有客户的运行的阈值无法冻结）"
                ),
                format!(
                    "{bins} levels need {need} cut points, found {cuts} (thresholds from a run \
                     with no customers cannot be frozen)"
                ),
            );
        }
        if let Some(c) = self.cuts.iter().find(|c| !c.is_finite()) {
            return err(
                format!("切分点 {c} 不是有限数"),
                format!("cut point {c} is not a finite number"),
            );
        }
        if self.cuts.windows(2).any(|w| w[0] > w[1]) {
            let c = &self.cuts;
            return err(
                format!("切分点 {c:?} 不是升序"),
                format!("cut points {c:?} are not in ascending order"),
            );
        }
        if let Some(t) = &self.tie_ids
            && t.len() != cuts
        {
            let n = t.len();
            return err(
                format!("tie_ids 有 {n} 项，但切分点有 {cuts} 个"),
                format!("tie_ids has {n} entries but there are {cuts} cut points"),
            );
        }
        Ok(())
    }
}

/// Quantile of sorted data, type 7 (R default, numpy `linear`), with numpy's lerp so cut points
/// match numpy/pandas bit for bit on the same data.
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor();
    let i = lo as usize;
    if i + 1 >= n {
        return sorted[n - 1];
    }
    let t = h - lo;
    let (a, b) = (sorted[i], sorted[i + 1]);
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Mean of sorted data: summing in sorted order makes it independent of row order.
pub(crate) fn mean_sorted(sorted: &[f64]) -> f64 {
    sorted.iter().sum::<f64>() / sorted.len() as f64
}

/// Inputs for computing one metric's thresholds.
pub(crate) struct MetricData<'a> {
    pub column: &'a str,
    pub values: &'a [f64],
    pub sorted: &'a [f64],
    pub ids: &'a Ids,
    /// Rank of each customer's id among all ids (only needed by `ntile`).
    pub id_rank: Option<&'a [u32]>,
    pub higher_is_better: bool,
}

/// Validated scorer for one metric.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scorer {
    pub method: Method,
    pub bins: u8,
    pub cuts: Option<Vec<f64>>,
    pub strict: bool,
}

impl Scorer {
    /// Computes the cut points on this data.
    pub(crate) fn thresholds(&self, d: &MetricData<'_>) -> MetricThresholds {
        let n = d.sorted.len();
        let bins = self.bins;
        let mut equal_goes_up = false;
        let mut tie_ids = None;
        let cuts = match self.method {
            Method::Quantile if n > 0 => quantile_cuts(d.sorted, bins),
            Method::Balanced if n > 0 => balanced_cuts(d.sorted, bins),
            Method::Ntile if n > 0 => {
                let (cuts, ids) = ntile_cuts(d.values, d.ids, d.id_rank, bins);
                tie_ids = Some(ids);
                cuts
            }
            Method::Fixed => self.cuts.clone().unwrap_or_default(),
            Method::VsMean | Method::VsMedian if n > 0 => {
                // Strict: equal to the reference is "low". For recency low score = upper raw bin.
                equal_goes_up = self.strict != d.higher_is_better;
                let c = if self.method == Method::VsMean {
                    mean_sorted(d.sorted)
                } else {
                    quantile_sorted(d.sorted, 0.5)
                };
                vec![c]
            }
            _ => Vec::new(),
        };
        MetricThresholds {
            column: d.column.to_string(),
            method: self.method,
            bins,
            higher_is_better: d.higher_is_better,
            cuts,
            equal_goes_up,
            tie_ids,
        }
    }
}

/// The `bins - 1` type-7 quantile cut points of sorted data.
fn quantile_cuts(sorted: &[f64], bins: u8) -> Vec<f64> {
    (1..bins)
        .map(|j| quantile_sorted(sorted, f64::from(j) / f64::from(bins)))
        .collect()
}

/// Customers per raw bin with `(a, b]` bins.
fn bin_sizes(sorted: &[f64], cuts: &[f64]) -> Vec<usize> {
    let mut at_or_below: Vec<usize> = cuts
        .iter()
        .map(|&c| sorted.partition_point(|&x| x <= c))
        .collect();
    at_or_below.push(sorted.len());
    let mut prev = 0;
    at_or_below
        .into_iter()
        .map(|c| {
            let size = c.saturating_sub(prev);
            prev = prev.max(c);
            size
        })
        .collect()
}

/// `balanced` cut points ([`Method::Balanced`]): the quantile cut points when no level is empty;
/// otherwise cut points on distinct values, left to right, each the distinct value whose
/// "at or below" count is closest to an equal share of the customers not yet placed (the lower
/// one on a tie), leaving at least one distinct value for every level still to fill. With fewer
/// distinct values than levels no choice fills every level, and the quantile cut points stay
/// (the empty-level note explains).
pub(crate) fn balanced_cuts(sorted: &[f64], bins: u8) -> Vec<f64> {
    let q = quantile_cuts(sorted, bins);
    if bin_sizes(sorted, &q).iter().all(|&s| s > 0) {
        return q;
    }
    // Distinct values and how many customers are at or below each.
    let mut values: Vec<f64> = Vec::new();
    let mut at_or_below: Vec<usize> = Vec::new();
    for (i, &x) in sorted.iter().enumerate() {
        if values.last() == Some(&x) {
            if let Some(c) = at_or_below.last_mut() {
                *c = i + 1;
            }
        } else {
            values.push(x);
            at_or_below.push(i + 1);
        }
    }
    let (n, d, b) = (sorted.len(), values.len(), usize::from(bins));
    if d < b {
        return q;
    }
    let mut cuts = Vec::with_capacity(b - 1);
    let (mut placed, mut lo) = (0usize, 0usize);
    for j in 1..b {
        // levels j..=b share the customers above the previous cut
        let target = placed as f64 + (n - placed) as f64 / (b - j + 1) as f64;
        // the top level and every level after this one keep a distinct value each
        let hi = d - 1 - (b - j);
        let k = at_or_below[lo..=hi].partition_point(|&c| (c as f64) < target) + lo;
        let i = if k > hi {
            hi
        } else if k > lo && target - at_or_below[k - 1] as f64 <= at_or_below[k] as f64 - target {
            k - 1
        } else {
            k
        };
        cuts.push(values[i]);
        placed = at_or_below[i];
        lo = i + 1;
    }
    cuts
}

/// Ranks of ids in string order (0-based); sorting (value, rank) pairs is then much cheaper
/// than comparing strings for every tie.
pub(crate) fn id_ranks(ids: &Ids) -> Vec<u32> {
    // ids in ascending order (every table the fold makes) rank as their rows: no sort of
    // millions of texts
    if ids.is_ascending() {
        return (0..ids.len() as u32).collect();
    }
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]));
    let mut rank = vec![0u32; ids.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    rank
}

/// Equal-count cut points with SQL `NTILE` sizes (the first `n % bins` levels get one more),
/// over customers ordered by (value, id).
fn ntile_cuts(
    values: &[f64],
    ids: &Ids,
    id_rank: Option<&[u32]>,
    bins: u8,
) -> (Vec<f64>, Vec<String>) {
    let n = values.len();
    let owned;
    let rank = match id_rank {
        Some(r) => r,
        None => {
            owned = id_ranks(ids);
            &owned
        }
    };
    let mut keyed: Vec<(u64, u32)> = values
        .iter()
        .zip(rank)
        // keys in `total_cmp` order: sorting needs no float compares
        .map(|(&v, &r)| (clientele_core::rank::float_key(v), r))
        .collect();
    keyed.sort_unstable();
    // Rank -> row, to find the customer at each boundary.
    let mut row_of = vec![0u32; n];
    for (i, &r) in rank.iter().enumerate() {
        row_of[r as usize] = i as u32;
    }
    let b = usize::from(bins);
    let (q, r) = (n / b, n % b);
    let mut end = 0;
    let mut cuts = Vec::with_capacity(b - 1);
    let mut tids = Vec::with_capacity(b - 1);
    for j in 0..b - 1 {
        end += q + usize::from(j < r);
        // n > 0 here; an empty level (n < bins) repeats the last customer's key.
        let last = row_of[keyed[end.max(1) - 1].1 as usize] as usize;
        cuts.push(values[last]);
        tids.push(ids[last].to_string());
    }
    (cuts, tids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_numpy_linear() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&s, 0.5), 2.5);
        assert_eq!(quantile_sorted(&s, 0.25), 1.75);
        assert_eq!(quantile_sorted(&s, 1.0), 4.0);
        assert_eq!(quantile_sorted(&[7.0], 0.3), 7.0);
    }

    /// Sorted data with `counts[v]` customers at value `v + 1`.
    fn counts_data(counts: &[usize]) -> Vec<f64> {
        counts
            .iter()
            .enumerate()
            .flat_map(|(v, &c)| std::iter::repeat_n(v as f64 + 1.0, c))
            .collect()
    }

    #[test]
    fn balanced_is_quantile_when_no_level_is_empty() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(balanced_cuts(&s, 5), quantile_cuts(&s, 5));
        let s = counts_data(&[30, 25, 20, 15, 10]);
        assert_eq!(balanced_cuts(&s, 5), quantile_cuts(&s, 5));
    }

    #[test]
    fn balanced_fills_every_level_when_ties_make_quantile_cuts_coincide() {
        // orders as in CDNOW: half the customers bought once
        let s = counts_data(&[510, 170, 80, 60, 40, 30, 25, 20, 15, 50]);
        let q = quantile_cuts(&s, 5);
        assert!(bin_sizes(&s, &q).contains(&0), "{q:?}");
        let cuts = balanced_cuts(&s, 5);
        assert_eq!(cuts, [1.0, 2.0, 3.0, 6.0]);
        assert_eq!(bin_sizes(&s, &cuts), [510, 170, 80, 130, 110]);
    }

    #[test]
    fn balanced_keeps_ties_together_and_leaves_a_value_for_each_level() {
        // five distinct values for five levels: one level per value, however uneven
        let s = counts_data(&[900, 1, 1, 1, 97]);
        assert_eq!(balanced_cuts(&s, 5), [1.0, 2.0, 3.0, 4.0]);
        // fewer distinct values than levels: nothing fills every level, quantiles stay
        let s = counts_data(&[50, 30, 20]);
        assert_eq!(balanced_cuts(&s, 5), quantile_cuts(&s, 5));
    }

    #[test]
    fn value_equal_to_cut_goes_to_lower_bin_by_default() {
        let t = MetricThresholds {
            column: "orders".into(),
            method: Method::Fixed,
            bins: 3,
            higher_is_better: true,
            cuts: vec![1.0, 3.0],
            equal_goes_up: false,
            tie_ids: None,
        };
        let s: Vec<u8> = [0.0, 1.0, 2.0, 3.0, 4.0]
            .iter()
            .map(|&x| t.score(x, ""))
            .collect();
        assert_eq!(s, [1, 1, 2, 2, 3]);
    }

    #[test]
    fn frozen_with_wrong_cut_count_is_rejected() {
        let t = MetricThresholds {
            column: "orders".into(),
            method: Method::Quantile,
            bins: 5,
            higher_is_better: true,
            cuts: vec![1.0],
            equal_goes_up: false,
            tie_ids: None,
        };
        let e = t.validate("frequency", true).unwrap_err().to_string();
        assert!(e.contains("need 4 cut points"), "{e}");
    }
}
