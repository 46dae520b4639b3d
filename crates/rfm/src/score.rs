//! Scores from thresholds, and an explanation for every score level no customer got (users
//! otherwise read an empty level as a bug: rfm issue #17).

use clientele_core::Ids;
use serde::{Deserialize, Serialize};

use crate::config::Method;
use crate::thresholds::MetricThresholds;

/// Why a score level of one metric is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LevelNote {
    /// `recency`, `frequency` or `monetary`.
    pub metric: String,
    /// The empty score level.
    pub score: u8,
    /// Plain-language reason.
    pub reason: String,
}

/// Scores every customer; `values` and `ids` are in row order.
pub(crate) fn score_all(t: &MetricThresholds, values: &[f64], ids: &Ids) -> Vec<u8> {
    values
        .iter()
        .zip(ids.iter())
        .map(|(&x, id)| t.score(x, id))
        .collect()
}

/// Customers per score level (index 0 = score 1).
pub(crate) fn level_counts(scores: &[u8], bins: u8) -> Vec<u64> {
    let mut c = vec![0u64; usize::from(bins)];
    for &s in scores {
        c[usize::from(s - 1)] += 1;
    }
    c
}

/// One note per empty level, saying why it is empty.
pub(crate) fn empty_level_notes(
    metric: &str,
    t: &MetricThresholds,
    counts: &[u64],
    sorted: &[f64],
) -> Vec<LevelNote> {
    let n = sorted.len();
    let mut notes = Vec::new();
    for (i, &c) in counts.iter().enumerate() {
        if c > 0 {
            continue;
        }
        let score = (i + 1) as u8;
        let reason = reason(metric, t, score, sorted, n);
        notes.push(LevelNote {
            metric: metric.to_string(),
            score,
            reason,
        });
    }
    notes
}

/// A number for messages: at most 6 decimals, trailing zeros dropped (cut points from
/// interpolation such as 1.3999999999999995 read as 1.4).
pub(crate) fn num(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn reason(metric: &str, t: &MetricThresholds, score: u8, sorted: &[f64], n: usize) -> String {
    let col = &t.column;
    if n == 0 {
        return "no customers to score".to_string();
    }
    let (min, max) = (sorted[0], sorted[n - 1]);
    if min == max {
        return format!(
            "all {n} customers have the same {col} ({}), so they share one level",
            num(min)
        );
    }
    if t.method == Method::Ntile && n < usize::from(t.bins) {
        return format!(
            "only {n} customers for {} equal-count levels; the top levels stay empty",
            t.bins
        );
    }
    if t.method == Method::Balanced {
        // balanced fills every level whenever the data has enough distinct values
        let mut distinct = sorted.to_vec();
        distinct.dedup();
        if distinct.len() < usize::from(t.bins) {
            return format!(
                "only {} distinct {col} values for {} levels, and equal values share a level",
                distinct.len(),
                t.bins
            );
        }
    }
    let b = usize::from(t.raw_bin_of_score(score));
    let lo = (b >= 2).then(|| t.cuts[b - 2]);
    let hi = (b < usize::from(t.bins)).then(|| t.cuts[b - 1]);
    if t.method == Method::VsMean || t.method == Method::VsMedian {
        let what = if t.method == Method::VsMean {
            "mean"
        } else {
            "median"
        };
        let side = if score == 2 { "high" } else { "low" };
        let c = t.cuts.first().copied().unwrap_or(f64::NAN);
        return format!(
            "no customer's {col} counts as {side} against the {what} {}",
            num(c)
        );
    }
    if let (Some(lo), Some(hi)) = (lo, hi)
        && lo == hi
    {
        let tied = sorted.iter().filter(|&&x| x == lo).count();
        // the key a user writes: `[rfm.f] method = "ntile"`
        let hint = if t.method == Method::Quantile {
            format!(
                "; [rfm.{}] method = \"ntile\" splits ties by customer id instead",
                &metric[..1]
            )
        } else {
            String::new()
        };
        let v = num(lo);
        return format!(
            "cut points {} and {} are both {v}: {tied} customers have {col} = {v} and ties \
             are kept together in one level{hint}",
            b - 1,
            b
        );
    }
    let (open, close) = if t.equal_goes_up {
        ("[", ")")
    } else {
        ("(", "]")
    };
    let lo_s = lo.map_or("-inf".to_string(), num);
    let hi_s = hi.map_or("+inf".to_string(), num);
    let (open, close) = (
        if lo.is_none() { "(" } else { open },
        if hi.is_none() { ")" } else { close },
    );
    format!(
        "no customer has {col} in {open}{lo_s}, {hi_s}{close} (data range {} to {})",
        num(min),
        num(max)
    )
}
