//! Cluster profiles in original units, value ordering, and readable names.
//!
//! Names compare each cluster with the whole clustered population on three business axes, each
//! measured as the z-score of the cluster's mean `log1p` value (so one whale does not make a
//! cluster "high value"): value (`monetary`), frequency (`orders`) and recency (`recency_days`,
//! fewer days is better). Above +0.4 sd is high, below −0.4 sd is low, else mid. Axes whose column
//! is missing are left out of the name. Repeated names get " #2", " #3" in label order.

use clientele_core::CustomerTable;
use clientele_core::columns as col;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::features::{FeatureMatrix, Transform, feature_column};

/// Mean and median of one column inside a cluster, in original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ColumnStats {
    /// Column name.
    pub column: String,
    /// Mean over the cluster's customers (`None` when none has a value).
    pub mean: Option<f64>,
    /// Median (mean of the two middle values for an even count).
    pub median: Option<f64>,
}

/// What a marketer reads about one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClusterProfile {
    /// 1-based label; 1 has the highest mean monetary.
    pub label: u32,
    /// English name, e.g. "high value, frequent, recent".
    pub name_en: String,
    /// Chinese name, e.g. "高价值-高频-近期".
    pub name_zh: String,
    /// Customers in the cluster.
    pub size: usize,
    /// Share of clustered customers.
    pub share: f64,
    /// Share of Σ monetary over clustered customers; `None` without a `monetary` column or when
    /// the total is not positive.
    pub revenue_share: Option<f64>,
    /// Feature and key metric columns (features first, then recency_days, orders, monetary,
    /// avg_order_value, categories when present).
    pub stats: Vec<ColumnStats>,
    /// The centroid in original units, one value per model feature (inverse transform of the
    /// unscaled centre: a "typical" customer, close to the cluster's geometric mean).
    pub centroid: Vec<f64>,
}

pub(crate) const PROFILE_EXTRA: [&str; 5] = [
    col::RECENCY_DAYS,
    col::ORDERS,
    col::MONETARY,
    col::AVG_ORDER_VALUE,
    "categories",
];

/// Columns profiled: features first, then the key metrics present in the table.
fn profile_columns(table: &CustomerTable, fm: &FeatureMatrix) -> Vec<String> {
    let mut cols: Vec<String> = fm.features.iter().map(|f| f.column.clone()).collect();
    for c in PROFILE_EXTRA {
        if !cols.iter().any(|x| x == c) && numeric(table, c) {
            cols.push(c.to_string());
        }
    }
    cols
}

/// Whether the table has `column` as numbers (dates count), without reading it.
fn numeric(table: &CustomerTable, column: &str) -> bool {
    table
        .column_types()
        .iter()
        .any(|&(n, t)| n == column && t != "text")
}

/// Raw values of `column` for the matrix rows (missing → NaN, skipped in statistics); the
/// column is read once, not kept by a table on disk.
fn values(table: &CustomerTable, fm: &FeatureMatrix, column: &str) -> Result<Vec<f64>> {
    let c = feature_column(table, column)?;
    Ok(fm
        .rows
        .iter()
        .map(|&i| c.number(i).unwrap_or(f64::NAN))
        .collect())
}

/// Permutation `new → old` ordering clusters by mean monetary, highest first. Ties (and tables
/// without `monetary`) fall back to larger size, then the centroid compared coordinate-wise, so
/// the order is fully deterministic.
pub(crate) fn value_order(
    table: &CustomerTable,
    fm: &FeatureMatrix,
    labels: &[u32],
    k: usize,
    centroids: &[f64],
) -> Result<Vec<usize>> {
    let d = fm.features.len();
    let money = if numeric(table, col::MONETARY) {
        Some(values(table, fm, col::MONETARY)?)
    } else {
        None
    };
    let mut size = vec![0usize; k];
    let mut sum = vec![0.0; k];
    let mut cnt = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        size[l as usize] += 1;
        if let Some(m) = money.as_ref().map(|m| m[i]).filter(|m| !m.is_nan()) {
            sum[l as usize] += m;
            cnt[l as usize] += 1;
        }
    }
    let mean: Vec<f64> = (0..k)
        .map(|c| {
            if cnt[c] > 0 {
                sum[c] / cnt[c] as f64
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        mean[b]
            .total_cmp(&mean[a])
            .then(size[b].cmp(&size[a]))
            .then_with(|| {
                let (ca, cb) = (
                    &centroids[a * d..(a + 1) * d],
                    &centroids[b * d..(b + 1) * d],
                );
                ca.iter()
                    .zip(cb)
                    .map(|(x, y)| y.total_cmp(x))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .then(a.cmp(&b))
    });
    Ok(order)
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Level {
    Low,
    Mid,
    High,
}

fn level(z: f64) -> Level {
    if z > 0.4 {
        Level::High
    } else if z < -0.4 {
        Level::Low
    } else {
        Level::Mid
    }
}

/// Profiles for labels `0..k` (already in value order; label 0 is reported as 1).
pub(crate) fn profiles(
    table: &CustomerTable,
    fm: &FeatureMatrix,
    labels: &[u32],
    k: usize,
    centroids: &[f64],
) -> Result<Vec<ClusterProfile>> {
    let n = labels.len();
    let d = fm.features.len();
    let cols = profile_columns(table, fm);
    let mut size = vec![0usize; k];
    for &l in labels {
        size[l as usize] += 1;
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        members[l as usize].push(i);
    }
    // Per column (independent, so on all cores; put together in column order): each
    // cluster's mean and median, the cluster's mean log1p z-score on a naming axis, and the
    // revenue per cluster.
    struct ColumnOut {
        stats: Vec<ColumnStats>,
        z: Option<(usize, Vec<Option<f64>>)>,
        revenue: Option<(Vec<f64>, f64)>,
    }
    let per_column = |col: &String| -> Result<ColumnOut> {
        let v = values(table, fm, col)?;
        let axis = [col::MONETARY, col::ORDERS, col::RECENCY_DAYS]
            .iter()
            .position(|a| a == col);
        // Population mean/sd of log1p values, for the name (a missing value's is NaN too);
        // only a naming axis needs them.
        let logs = if axis.is_some() {
            Transform::Log1p.apply_all(&v)
        } else {
            Vec::new()
        };
        let t: Vec<f64> = v
            .iter()
            .zip(&logs)
            .filter(|(x, _)| !x.is_nan())
            .map(|(_, &l)| l)
            .collect();
        let pm = t.iter().sum::<f64>() / t.len().max(1) as f64;
        let psd =
            (t.iter().map(|x| (x - pm) * (x - pm)).sum::<f64>() / t.len().max(1) as f64).sqrt();
        let mut stats = Vec::with_capacity(k);
        let mut zs = vec![None; k];
        for c in 0..k {
            let present = || members[c].iter().filter(|&&i| !v[i].is_nan());
            let mut xs: Vec<f64> = present().map(|&i| v[i]).collect();
            let mean = xs.iter().sum::<f64>() / xs.len().max(1) as f64;
            if axis.is_some() {
                let ct: Vec<f64> = present().map(|&i| logs[i]).collect();
                if !ct.is_empty() && psd > 0.0 {
                    let cm = ct.iter().sum::<f64>() / ct.len() as f64;
                    zs[c] = Some((cm - pm) / psd);
                } else if !ct.is_empty() {
                    zs[c] = Some(0.0);
                }
            }
            stats.push(ColumnStats {
                column: col.clone(),
                mean: (!xs.is_empty()).then_some(mean),
                median: median(&mut xs),
            });
        }
        let revenue = (col == col::MONETARY).then(|| {
            let mut per = vec![0.0; k];
            for (i, &l) in labels.iter().enumerate() {
                if !v[i].is_nan() {
                    per[l as usize] += v[i];
                }
            }
            let total: f64 = per.iter().sum();
            (per, total)
        });
        Ok(ColumnOut {
            stats,
            z: axis.map(|a| (a, zs)),
            revenue,
        })
    };
    let per_column: Vec<ColumnOut> = cols.par_iter().map(per_column).collect::<Result<_>>()?;
    let mut stats: Vec<Vec<ColumnStats>> = vec![Vec::new(); k];
    let mut zs: Vec<[Option<f64>; 3]> = vec![[None; 3]; k];
    let mut revenue: Option<(Vec<f64>, f64)> = None;
    for out in per_column {
        for (c, s) in out.stats.into_iter().enumerate() {
            stats[c].push(s);
        }
        if let Some((a, z)) = out.z {
            for (c, z) in z.into_iter().enumerate() {
                if z.is_some() {
                    zs[c][a] = z;
                }
            }
        }
        if out.revenue.is_some() {
            revenue = out.revenue;
        }
    }
    let mut out = Vec::with_capacity(k);
    let mut seen: Vec<String> = Vec::new();
    for c in 0..k {
        let median_orders = stats[c]
            .iter()
            .find(|s| s.column == col::ORDERS)
            .and_then(|s| s.median);
        let (mut en, mut zh) = name(zs[c], median_orders, c);
        let dup = seen.iter().filter(|s| **s == en).count();
        seen.push(en.clone());
        if dup > 0 {
            en = format!("{en} #{}", dup + 1);
            zh = format!("{zh} #{}", dup + 1);
        }
        let centroid = (0..d)
            .map(|j| {
                let f = &fm.features[j];
                f.transform
                    .invert(centroids[c * d + j] * fm.scaler.sds[j] + fm.scaler.means[j])
            })
            .collect();
        out.push(ClusterProfile {
            label: c as u32 + 1,
            name_en: en,
            name_zh: zh,
            size: size[c],
            share: size[c] as f64 / n as f64,
            revenue_share: revenue
                .as_ref()
                .filter(|(_, t)| *t > 0.0)
                .map(|(p, t)| p[c] / t),
            stats: std::mem::take(&mut stats[c]),
            centroid,
        });
    }
    Ok(out)
}

fn median(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    // the middle order statistics by selection (linear, not a sort): the same values
    let (n, m) = (xs.len(), xs.len() / 2);
    let (left, mid, _) = xs.select_nth_unstable_by(m, f64::total_cmp);
    let mid = *mid;
    Some(if n % 2 == 1 {
        mid
    } else {
        let below = left.iter().copied().max_by(f64::total_cmp).unwrap_or(mid);
        (below + mid) / 2.0
    })
}

/// English and Chinese name from the (value, frequency, recency) z-scores.
fn name(z: [Option<f64>; 3], median_orders: Option<f64>, c: usize) -> (String, String) {
    let mut en: Vec<&str> = Vec::new();
    let mut zh: Vec<&str> = Vec::new();
    if let Some(v) = z[0] {
        let (e, h) = match level(v) {
            Level::High => ("high value", "高价值"),
            Level::Mid => ("mid value", "中价值"),
            Level::Low => ("low value", "低价值"),
        };
        en.push(e);
        zh.push(h);
    }
    if let Some(f) = z[1] {
        let (e, h) = match level(f) {
            Level::High => ("frequent", "高频"),
            Level::Mid => ("regular", "中频"),
            Level::Low if median_orders.is_some_and(|m| m <= 1.0) => ("one-off", "单次"),
            Level::Low => ("infrequent", "低频"),
        };
        en.push(e);
        zh.push(h);
    }
    if let Some(r) = z[2] {
        let (e, h) = match level(r) {
            Level::Low => ("recent", "近期"),
            Level::Mid => ("cooling", "渐冷"),
            Level::High => ("lapsed", "流失"),
        };
        en.push(e);
        zh.push(h);
    }
    if en.is_empty() {
        return (format!("segment {}", c + 1), format!("群组{}", c + 1));
    }
    (en.join(", "), zh.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_like_a_marketer_would_say_them() {
        assert_eq!(
            name([Some(1.2), Some(0.9), Some(-1.0)], Some(8.0), 0),
            (
                "high value, frequent, recent".into(),
                "高价值-高频-近期".into()
            )
        );
        assert_eq!(
            name([Some(-1.2), Some(-0.9), Some(1.0)], Some(1.0), 3),
            (
                "low value, one-off, lapsed".into(),
                "低价值-单次-流失".into()
            )
        );
        assert_eq!(name([Some(0.0), None, None], None, 0).0, "mid value");
        assert_eq!(
            name([None, None, None], None, 1),
            ("segment 2".into(), "群组2".into())
        );
    }

    #[test]
    fn median_handles_even_and_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(&mut [5.0]), Some(5.0));
        assert_eq!(median(&mut []), None);
    }
}
