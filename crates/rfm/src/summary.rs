//! Per-segment summaries and the R×F grid, as serde structs for `summary.json` and the report.

use serde::{Deserialize, Serialize};

use crate::data::RfmData;
use crate::scheme::Segment;

/// Size and value of one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SegmentSummary {
    /// Segment id.
    pub id: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Customers in the segment.
    pub customers: u64,
    /// Share of all customers (`None` without customers).
    pub share: Option<f64>,
    /// Σ revenue (net amount, column `monetary`).
    pub revenue: f64,
    /// Share of total revenue (`None` when the total is 0).
    pub revenue_share: Option<f64>,
    /// Mean days since the last purchase (`None` for an empty segment).
    pub mean_recency_days: Option<f64>,
    /// Mean frequency (the configured definition).
    pub mean_frequency: Option<f64>,
    /// Mean monetary (the configured definition).
    pub mean_monetary: Option<f64>,
    /// The playbook's action for it, Chinese (set by the engine, which holds the playbook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_zh: Option<String>,
    /// The same in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_en: Option<String>,
}

/// Customers and mean monetary per (R, F) score cell, for the report heatmap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RfGrid {
    /// R levels (rows).
    pub r_bins: u8,
    /// F levels (columns).
    pub f_bins: u8,
    /// `customers[r - 1][f - 1]`.
    pub customers: Vec<Vec<u64>>,
    /// `mean_monetary[r - 1][f - 1]`, `None` for an empty cell.
    pub mean_monetary: Vec<Vec<Option<f64>>>,
}

pub(crate) fn segment_summaries(
    segments: &[Segment],
    labels: &[u16],
    data: &RfmData,
) -> Vec<SegmentSummary> {
    let k = segments.len();
    let mut cnt = vec![0u64; k];
    let mut sums = vec![[0.0f64; 4]; k];
    for (i, &l) in labels.iter().enumerate() {
        let l = usize::from(l);
        cnt[l] += 1;
        let s = &mut sums[l];
        s[0] += data.revenue[i];
        s[1] += data.recency_days[i];
        s[2] += data.frequency[i];
        s[3] += data.monetary[i];
    }
    let n = labels.len();
    let total: f64 = sums.iter().map(|s| s[0]).sum();
    segments
        .iter()
        .enumerate()
        .map(|(j, seg)| {
            let c = cnt[j];
            let mean = |x: f64| (c > 0).then(|| x / c as f64);
            SegmentSummary {
                id: seg.id.clone(),
                zh: seg.zh.clone(),
                en: seg.en.clone(),
                customers: c,
                share: (n > 0).then(|| c as f64 / n as f64),
                revenue: sums[j][0],
                revenue_share: (total != 0.0).then(|| sums[j][0] / total),
                mean_recency_days: mean(sums[j][1]),
                mean_frequency: mean(sums[j][2]),
                mean_monetary: mean(sums[j][3]),
                action_zh: None,
                action_en: None,
            }
        })
        .collect()
}

pub(crate) fn rf_grid(r: &[u8], f: &[u8], r_bins: u8, f_bins: u8, monetary: &[f64]) -> RfGrid {
    let (rb, fb) = (usize::from(r_bins), usize::from(f_bins));
    let mut customers = vec![vec![0u64; fb]; rb];
    let mut sum = vec![vec![0.0f64; fb]; rb];
    for ((&ri, &fi), &m) in r.iter().zip(f).zip(monetary) {
        let (a, b) = (usize::from(ri - 1), usize::from(fi - 1));
        customers[a][b] += 1;
        sum[a][b] += m;
    }
    let mean_monetary = customers
        .iter()
        .zip(&sum)
        .map(|(c, s)| {
            c.iter()
                .zip(s)
                .map(|(&c, &s)| (c > 0).then(|| s / c as f64))
                .collect()
        })
        .collect();
    RfGrid {
        r_bins,
        f_bins,
        customers,
        mean_monetary,
    }
}
