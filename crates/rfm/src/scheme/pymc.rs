//! PyMC-Marketing's default `rfm_segments` (pymc_marketing/clv/utils.py): its own value
//! quartiles per metric (`pandas.qcut(x, 4, duplicates="drop")`, right-closed bins), labels
//! renumbered 1..k when duplicate edges drop bins (recency reversed), then explicit score-string
//! lists per segment; every other combination is "Other".
//!
//! It always uses quartiles whatever `rfm.bins` is. It reads the configured frequency and
//! monetary columns; PyMC itself uses purchase days and mean spend per purchase day, so set
//! `frequency = "purchase_days"` and `monetary = "mean"` to reproduce it.

use clientele_core::Note;
use clientele_core::columns as col;
use serde::{Deserialize, Serialize};

use super::{Ctx, Grid, Segment};
use crate::thresholds::quantile_sorted;

/// Interior quartile edges per metric after dropping duplicates (the reported thresholds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PymcQuartiles {
    /// Recency (days) edges.
    pub recency: Vec<f64>,
    /// Frequency edges.
    pub frequency: Vec<f64>,
    /// Monetary edges.
    pub monetary: Vec<f64>,
}

const PREMIUM: &[&str] = &["334", "443", "444", "344", "434", "433", "343", "333"];
const REPEAT: &[&str] = &["244", "234", "232", "332", "143", "233", "243"];
const TOP_SPENDER: &[&str] = &[
    "424", "414", "144", "314", "324", "124", "224", "423", "413", "133", "323", "313", "134",
];
const AT_RISK: &[&str] = &[
    "422", "223", "212", "122", "222", "132", "322", "312", "412", "123", "214",
];
const INACTIVE: &[&str] = &["411", "111", "113", "114", "112", "211", "311"];

/// The six segments, "Other" last.
pub fn segments() -> Vec<Segment> {
    vec![
        Segment::new("premium_customer", "优质客户", "Premium Customer"),
        Segment::new("repeat_customer", "回头客", "Repeat Customer"),
        Segment::new("top_spender", "高消费客户", "Top Spender"),
        Segment::new("at_risk_customer", "风险客户", "At Risk Customer"),
        Segment::new("inactive_customer", "不活跃客户", "Inactive Customer"),
        Segment::new("other", "其他", "Other"),
    ]
}

/// Lookup over quartile labels (1..=4 each).
pub(crate) fn grid() -> Grid {
    let lists = [PREMIUM, REPEAT, TOP_SPENDER, AT_RISK, INACTIVE];
    Grid::build([4, 4, 4], |r, f, m| {
        let code = format!("{r}{f}{m}");
        lists
            .iter()
            .position(|l| l.contains(&code.as_str()))
            .map_or(5, |p| p as u16)
    })
}

/// `qcut(x, 4, duplicates="drop")` edges without the outer two.
pub(crate) fn quartile_edges(sorted: &[f64]) -> Vec<f64> {
    if sorted.is_empty() {
        return Vec::new();
    }
    let mut e: Vec<f64> = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|&p| quantile_sorted(sorted, p))
        .collect();
    e.dedup();
    if e.len() <= 2 {
        return Vec::new();
    }
    e[1..e.len() - 1].to_vec()
}

fn label(edges: &[f64], x: f64, higher_is_better: bool) -> u8 {
    let k = edges.len() as u8 + 1;
    let b = edges.partition_point(|&c| c < x) as u8 + 1;
    if higher_is_better { b } else { k + 1 - b }
}

/// The quartile edges: frozen ones, or those of every customer in `ctx`.
pub(crate) fn fit(ctx: &Ctx<'_>) -> PymcQuartiles {
    match ctx.frozen.and_then(|t| t.pymc.clone()) {
        Some(q) => q,
        None => PymcQuartiles {
            recency: quartile_edges(ctx.sorted[0]),
            frequency: quartile_edges(ctx.sorted[1]),
            monetary: quartile_edges(ctx.sorted[2]),
        },
    }
}

/// What the edges say about the scores of `n` customers.
pub(crate) fn notes(q: &PymcQuartiles, n: usize) -> Vec<Note> {
    let mut notes = Vec::new();
    for (name, name_zh, e) in [
        ("recency", "最近购买", &q.recency),
        ("frequency", "购买频次", &q.frequency),
        (col::MONETARY, "消费金额", &q.monetary),
    ] {
        if n > 0 && e.len() < 3 {
            let bins = e.len() + 1;
            if bins < 2 {
                notes.push(Note::new(
                    format!(
                        "{name_zh}：不同的四分位区间少于 2 个；PyMC-Marketing 在此报错，clientele 给所有客户打 1 分"
                    ),
                    format!(
                        "{name}: fewer than 2 distinct quartile bins; PyMC-Marketing raises an \
                         error here, clientele gives every customer label 1"
                    ),
                ));
            } else {
                notes.push(Note::new(
                    format!(
                        "{name_zh}：四分位点重复，只剩 {bins} 个区间，与 PyMC-Marketing 一样记为 1..{bins} 分（它会警告分数不超过 {bins}）"
                    ),
                    format!(
                        "{name}: duplicate quartile edges leave {bins} bins, labelled 1..{bins} \
                         as PyMC-Marketing does (it warns that scores will not exceed {bins})"
                    ),
                ));
            }
        }
    }
    notes
}

/// Each customer's segment by the edges.
pub(crate) fn labels(q: &PymcQuartiles, ctx: &Ctx<'_>) -> Vec<u16> {
    let n = ctx.data.len();
    let g = grid();
    let d = ctx.data;
    (0..n)
        .map(|i| {
            g.get(
                label(&q.recency, d.recency_days[i], false),
                label(&q.frequency, d.frequency[i], true),
                label(&q.monetary, d.monetary[i], true),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_the_documented_cell_counts() {
        let g = grid();
        let mut c = [0; 6];
        for &s in &g.cells {
            c[usize::from(s)] += 1;
        }
        assert_eq!(c, [8, 7, 13, 11, 7, 18]);
        // 411, a brand-new one-time low spender, is "Inactive" in PyMC's default.
        assert_eq!(g.get(4, 1, 1), 4);
    }

    #[test]
    fn duplicate_edges_are_dropped_like_qcut() {
        // 1,1,1,1,2,3: quartiles 1, 1, 1, 1.75, 3 -> edges [1, 1.75, 3] -> interior [1.75].
        let s = [1.0, 1.0, 1.0, 1.0, 2.0, 3.0];
        assert_eq!(quartile_edges(&s), vec![1.75]);
        assert_eq!(label(&[1.75], 1.0, true), 1);
        assert_eq!(label(&[1.75], 3.0, true), 2);
        assert_eq!(label(&[1.75], 3.0, false), 1);
        assert!(quartile_edges(&[5.0, 5.0]).is_empty());
    }
}
