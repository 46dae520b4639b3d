//! Per-grade summaries for `summary.json` and the report: size, revenue and their shares, mean
//! recency/orders/monetary (and CLV when the table has it), and the playbook action.

use clientele_core::CustomerTable;
use clientele_core::columns as col;
use serde::{Deserialize, Serialize};

use crate::playbook::{Lang, Playbook};
use crate::scheme::{Codes, Mode, SchemeResult};

/// One grade (or tag) of a scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GradeSummary {
    /// Grade label, as the customer table holds it.
    pub grade: String,
    /// Stable key and Chinese/English names, for a built-in grade (`None` for a grade a user
    /// named: its name is its label in every language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<crate::GradeLabel>,
    /// Customers with it (for tags: customers carrying the tag).
    pub customers: usize,
    /// `customers` / all customers.
    pub share: f64,
    /// Σ `monetary` of its customers (NULL as 0); `None` without a `monetary` column.
    pub revenue: Option<f64>,
    /// `revenue` / Σ `monetary` of all customers; `None` when that total is not positive.
    pub revenue_share: Option<f64>,
    /// Mean `recency_days` (NULLs skipped).
    pub mean_recency_days: Option<f64>,
    /// Mean `orders`.
    pub mean_orders: Option<f64>,
    /// Mean `monetary`.
    pub mean_monetary: Option<f64>,
    /// Mean `clv`, when the column exists.
    pub mean_clv: Option<f64>,
    /// Playbook action, Chinese.
    pub action_zh: Option<String>,
    /// Playbook action, English.
    pub action_en: Option<String>,
}

/// All grades of one scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SchemeSummary {
    /// Scheme name.
    pub scheme: String,
    /// Output column.
    pub column: String,
    /// Mode.
    pub mode: Mode,
    /// Customers graded.
    pub customers: usize,
    /// Per grade, in the scheme's grade order (including grades no customer has).
    pub grades: Vec<GradeSummary>,
    /// Customers without a grade (grid: NULL axis and no default; tags: no tag and no default).
    pub ungraded: usize,
    /// `tags` mode: the separator between a customer's tags in the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// The statistics the rules used (`p80(monetary)`) with the values resolved on this run's
    /// customers, so that customers scored later are graded with the same thresholds. Empty
    /// for a scheme without statistics, and in summaries written before they were recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<crate::ResolvedStat>,
}

/// Sums and counts of one column per grade.
fn means(
    result: &SchemeResult,
    table: &CustomerTable,
    column: &str,
) -> Option<(Vec<f64>, Vec<usize>)> {
    let values = table.number_view(column).ok()?;
    let k = result.grades.len();
    let (mut sum, mut cnt) = (vec![0.0; k], vec![0usize; k]);
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v.filter(|x| x.is_finite()) else {
            continue;
        };
        match &result.codes {
            // one grade or none: no need to ask each grade
            Codes::Exclusive(c) => {
                if let Some(g) = c[i].map(|g| g as usize).filter(|&g| g < k) {
                    sum[g] += v;
                    cnt[g] += 1;
                }
            }
            Codes::Tags(_) => {
                for g in 0..k {
                    if result.has(i, g as u32) {
                        sum[g] += v;
                        cnt[g] += 1;
                    }
                }
            }
        }
    }
    Some((sum, cnt))
}

/// Summarises a graded scheme over the same table (row order as graded).
pub fn summarize(
    result: &SchemeResult,
    table: &CustomerTable,
    playbook: &Playbook,
) -> SchemeSummary {
    let n = result.len();
    let (counts, ungraded) = result.counts();
    let money = means(result, table, col::MONETARY);
    let total_revenue: Option<f64> = table
        .number_view(col::MONETARY)
        .ok()
        .map(|v| v.iter().flatten().filter(|x| x.is_finite()).sum());
    let rec = means(result, table, col::RECENCY_DAYS);
    let ord = means(result, table, col::ORDERS);
    let clv = means(result, table, col::CLV);
    let mean = |m: &Option<(Vec<f64>, Vec<usize>)>, g: usize| {
        m.as_ref()
            .and_then(|(s, c)| (c[g] > 0).then(|| s[g] / c[g] as f64))
    };
    let grades = result
        .grades
        .iter()
        .enumerate()
        .map(|(g, label)| {
            let revenue = money.as_ref().map(|(s, _)| s[g]);
            GradeSummary {
                grade: label.clone(),
                label: crate::builtin_label(label),
                customers: counts[g],
                share: if n > 0 {
                    counts[g] as f64 / n as f64
                } else {
                    0.0
                },
                revenue,
                revenue_share: match (revenue, total_revenue) {
                    (Some(r), Some(t)) if t > 0.0 => Some(r / t),
                    _ => None,
                },
                mean_recency_days: mean(&rec, g),
                mean_orders: mean(&ord, g),
                mean_monetary: mean(&money, g),
                mean_clv: mean(&clv, g),
                action_zh: playbook.action(label, Lang::Zh).map(str::to_string),
                action_en: playbook.action(label, Lang::En).map(str::to_string),
            }
        })
        .collect();
    SchemeSummary {
        scheme: result.scheme.clone(),
        column: result.column.clone(),
        mode: result.mode,
        customers: n,
        grades,
        ungraded,
        separator: (result.mode == crate::Mode::Tags).then(|| result.separator.clone()),
        resolved: result.resolved.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile, presets};
    use clientele_core::ColumnData;

    #[test]
    fn per_grade_sizes_revenue_and_means() {
        let mut t = CustomerTable::new(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
        t.push(
            "orders",
            ColumnData::Int(vec![Some(20), Some(12), Some(1), Some(2)].into()),
        )
        .unwrap();
        t.push(
            "categories",
            ColumnData::Int(vec![Some(6), Some(5), Some(1), None].into()),
        )
        .unwrap();
        t.push(
            "monetary",
            ColumnData::Float(vec![Some(600.0), Some(450.0), None, Some(-50.0)].into()),
        )
        .unwrap();
        t.push(
            "recency_days",
            ColumnData::Int(vec![Some(3), None, Some(100), Some(200)].into()),
        )
        .unwrap();
        t.push(
            "clv",
            ColumnData::Float(vec![Some(1000.0), Some(300.0), Some(0.0), Some(10.0)].into()),
        )
        .unwrap();
        let r = compile(&presets::get("behaviour").unwrap(), &t)
            .unwrap()
            .apply(&t)
            .unwrap();
        let s = summarize(&r, &t, &Playbook::builtin());
        assert_eq!((s.customers, s.ungraded), (4, 0));
        let g: Vec<(&str, usize)> = s
            .grades
            .iter()
            .map(|g| (g.grade.as_str(), g.customers))
            .collect();
        assert_eq!(g, [("VIP", 1), ("高级客户", 1), ("普通客户", 2)]);
        let normal = &s.grades[2];
        assert_eq!(normal.share, 0.5);
        assert_eq!(normal.revenue, Some(-50.0));
        assert_eq!(normal.revenue_share, Some(-50.0 / 1000.0));
        assert_eq!(normal.mean_monetary, Some(-50.0));
        assert_eq!(normal.mean_recency_days, Some(150.0));
        assert_eq!(normal.mean_orders, Some(1.5));
        assert_eq!(normal.mean_clv, Some(5.0));
        assert_eq!(s.grades[1].mean_recency_days, None);
        assert!(normal.action_zh.is_some() && normal.action_en.is_some());
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"mode\":\"first_match\""), "{json}");
    }

    #[test]
    fn missing_columns_give_none_not_errors() {
        let mut t = CustomerTable::new(vec!["a".into()]);
        t.push("satisfaction", ColumnData::Float(vec![None].into()))
            .unwrap();
        let r = compile(&presets::get("satisfaction").unwrap(), &t)
            .unwrap()
            .apply(&t)
            .unwrap();
        let s = summarize(&r, &t, &Playbook::builtin());
        let none = s.grades.iter().find(|g| g.grade == "无评分").unwrap();
        assert_eq!(
            (none.customers, none.revenue, none.mean_clv),
            (1, None, None)
        );
    }
}
