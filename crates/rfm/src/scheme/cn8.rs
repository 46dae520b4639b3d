//! The Chinese 8-class scheme (RFM 八类客户): R, F and M each high or low against the
//! population mean (or median, or given values); "high" always means better, so R is high when
//! the customer bought more recently than the reference (fewer days, or a higher R score).
//! Default as Wyn Enterprise documents it: raw values, mean, strict (equal counts as low).

use clientele_core::Note;
use serde::{Deserialize, Serialize};

use super::{Ctx, Segment};
use crate::config::{Cn8Config, CompareOn, Reference};
use crate::thresholds::{mean_sorted, quantile_sorted};

/// The reference values the 8-class split used (part of the reported thresholds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Cn8Reference {
    /// Mean, median or given.
    pub reference: Reference,
    /// Raw values or scores.
    pub on: CompareOn,
    /// Equal to the reference counts as low.
    pub strict: bool,
    /// Recency reference (days, or R score).
    pub r: f64,
    /// Frequency reference.
    pub f: f64,
    /// Monetary reference.
    pub m: f64,
}

/// The eight segments; index = 4·(M low) + 2·(R low) + (F low).
pub fn segments() -> Vec<Segment> {
    vec![
        Segment::new("important_value", "重要价值客户", "Important value"),
        Segment::new(
            "important_development",
            "重要发展客户",
            "Important development",
        ),
        Segment::new("important_retention", "重要保持客户", "Important retention"),
        Segment::new("important_win_back", "重要挽留客户", "Important win-back"),
        Segment::new("general_value", "一般价值客户", "General value"),
        Segment::new("general_development", "一般发展客户", "General development"),
        Segment::new("general_retention", "一般保持客户", "General retention"),
        Segment::new("general_win_back", "一般挽留客户", "General win-back"),
    ]
}

fn reference_of(cfg: &Cn8Config, sorted: &[f64], given: f64) -> f64 {
    match cfg.reference {
        Reference::Mean => mean_sorted(sorted),
        Reference::Median => quantile_sorted(sorted, 0.5),
        Reference::Value => given,
    }
}

fn sorted_scores(s: &[u8]) -> Vec<f64> {
    // Scores are small integers: a counting sort keeps this O(n).
    let mut counts = [0usize; 10];
    for &x in s {
        counts[usize::from(x)] += 1;
    }
    let mut out = Vec::with_capacity(s.len());
    for (v, &c) in counts.iter().enumerate() {
        out.extend(std::iter::repeat_n(v as f64, c));
    }
    out
}

/// The reference values: frozen ones, or those of every customer in `ctx` (`None` when there
/// is nobody to take a mean or median of).
pub(crate) fn fit(cfg: &Cn8Config, ctx: &Ctx<'_>) -> Option<Cn8Reference> {
    let given = cfg.values.map_or([f64::NAN; 3], |v| [v.r, v.f, v.m]);
    match ctx.frozen.and_then(|t| t.cn8) {
        Some(r) => Some(r),
        None if ctx.sorted[0].is_empty() && cfg.reference != Reference::Value => None,
        None => {
            let [r, f, m] = match cfg.on {
                CompareOn::Raw => [0, 1, 2].map(|i| reference_of(cfg, ctx.sorted[i], given[i])),
                CompareOn::Score => {
                    let s = [ctx.r, ctx.f, ctx.m].map(sorted_scores);
                    [0, 1, 2].map(|i| reference_of(cfg, &s[i], given[i]))
                }
            };
            Some(Cn8Reference {
                reference: cfg.reference,
                on: cfg.on,
                strict: cfg.strict,
                r,
                f,
                m,
            })
        }
    }
}

/// Each customer's segment against the references, and how many are high on R, F and M.
pub(crate) fn labels(rf: Option<&Cn8Reference>, ctx: &Ctx<'_>) -> (Vec<u16>, [usize; 3]) {
    let n = ctx.data.len();
    let mut high = [0usize; 3];
    let Some(rf) = rf else {
        return (Vec::new(), high);
    };
    let above = |x: f64, c: f64| if rf.strict { x > c } else { x >= c };
    let below = |x: f64, c: f64| if rf.strict { x < c } else { x <= c };
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let (rh, fh, mh) = match rf.on {
            CompareOn::Raw => (
                below(ctx.data.recency_days[i], rf.r),
                above(ctx.data.frequency[i], rf.f),
                above(ctx.data.monetary[i], rf.m),
            ),
            CompareOn::Score => (
                above(f64::from(ctx.r[i]), rf.r),
                above(f64::from(ctx.f[i]), rf.f),
                above(f64::from(ctx.m[i]), rf.m),
            ),
        };
        high[0] += usize::from(rh);
        high[1] += usize::from(fh);
        high[2] += usize::from(mh);
        labels.push(u16::from(!mh) * 4 + u16::from(!rh) * 2 + u16::from(!fh));
    }
    (labels, high)
}

/// What `n` customers of whom `high` are high on R, F and M say about the split.
pub(crate) fn notes(rf: Option<&Cn8Reference>, high: [usize; 3], n: usize) -> Vec<Note> {
    let Some(rf) = rf else {
        return vec![Note::new(
            "没有客户：未计算参考值",
            "no customers: no reference values computed",
        )];
    };
    let mut notes = Vec::new();
    let (what, what_zh) = match rf.reference {
        Reference::Mean => ("mean", "均值"),
        Reference::Median => ("median", "中位数"),
        Reference::Value => ("given value", "给定值"),
    };
    for (k, (name, c)) in [("R", rf.r), ("F", rf.f), ("M", rf.m)].iter().enumerate() {
        if n > 0 && (high[k] == 0 || high[k] == n) {
            let (side, side_zh) = if high[k] == 0 {
                ("low", "低")
            } else {
                ("high", "高")
            };
            let (eq, eq_zh) = if rf.strict {
                ("equal counts as low", "相等算低")
            } else {
                ("equal counts as high", "相等算高")
            };
            let c = crate::score::num(*c);
            notes.push(Note::new(
                format!(
                    "按{what_zh} {c}（{eq_zh}），所有客户的 {name} 都为{side_zh}；八类客户中有一半为空"
                ),
                format!(
                    "every customer is {side} on {name} against the {what} {c} ({eq}); half of \
                     the eight segments are empty"
                ),
            ));
        }
    }
    notes
}
