//! Every grouping of a run's customers (grading schemes, RFM segments, lifecycle stages, value
//! tiers, clusters) with the size and value of each group, and which customers a group holds:
//! what a dashboard lists and drills into. Grading schemes are as the run summarised them;
//! the other groupings are summarised the same way from their customer-table column.

use clientele_core::CustomerTable;
use clientele_core::columns::Grouping;
use clientele_grade::{Codes, Mode, Playbook, SchemeResult, SchemeSummary, summarize};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{EngineError, Summary};

/// One grouping of the customers and its groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupingSummary {
    /// Stable key: the scheme name (`behaviour`, `cn8`), `rfm_<name>`, `lifecycle`,
    /// `value_tier` or `cluster`.
    pub key: String,
    /// The customer-table column holding each customer's group.
    pub column: String,
    /// Sizes and value per group, in the grouping's order, with playbook actions for grades.
    pub summary: SchemeSummary,
}

impl GroupingSummary {
    /// The grouping this is.
    pub fn grouping(&self) -> Grouping {
        Grouping::of_key(&self.key)
    }

    /// A group as the customer table names it, given its name in either language or its key.
    pub fn group(&self, vocab: &crate::Vocabulary, text: &str) -> Option<String> {
        let names: Vec<&str> = self
            .summary
            .grades
            .iter()
            .map(|x| x.grade.as_str())
            .collect();
        if names.contains(&text) {
            return Some(text.to_string());
        }
        let label = vocab.label(&self.grouping(), text)?;
        [label.zh.as_str(), label.en.as_str(), label.key.as_str()]
            .into_iter()
            .find(|n| names.contains(n))
            .map(str::to_string)
    }

    /// For every customer of `table`: is it in `group` (as the table names it)? A `tags`
    /// scheme's customer is in every group among its tags.
    pub fn members(&self, table: &CustomerTable, group: &str) -> Result<Vec<bool>, EngineError> {
        let texts = table.texts(&self.column)?;
        Ok(match &self.summary.separator {
            Some(sep) if self.summary.mode == Mode::Tags => texts
                .iter()
                .map(|t| t.is_some_and(|t| t.split(sep.as_str()).any(|x| x == group)))
                .collect(),
            _ => {
                let code = texts.labels().iter().position(|l| l == group);
                (0..texts.len())
                    .map(|i| code.is_some() && texts.code(i) == code.map(|c| c as u32))
                    .collect()
            }
        })
    }
}

/// Every grouping `table` holds a column of, grading schemes first (as `summary` lists them),
/// then RFM segments, lifecycle stages, value tiers and clusters.
pub fn groupings(summary: &Summary, table: &CustomerTable) -> Vec<GroupingSummary> {
    let mut out: Vec<GroupingSummary> = summary
        .grades
        .iter()
        .map(|g| GroupingSummary {
            key: Grouping::Grade(g.scheme.clone()).key(),
            column: g.column.clone(),
            summary: g.clone(),
        })
        .collect();
    let playbook = Playbook::default();
    // each grouping is summarised over every customer: side by side
    let columns: Vec<(&clientele_core::Column, Grouping)> = table
        .columns()
        .iter()
        .filter_map(|c| match Grouping::of_column(&c.name) {
            Some(Grouping::Grade(_)) | None => None,
            Some(g) => Some((c, g)),
        })
        .collect();
    let others: Vec<Option<GroupingSummary>> = columns
        .into_par_iter()
        .map(|(c, grouping)| {
            let Ok(texts) = table.texts(&c.name) else {
                return None;
            };
            let order = group_order(summary, &grouping, texts.labels());
            let codes: Vec<Option<u32>> = (0..texts.len())
                .map(|i| {
                    texts
                        .get(i)
                        .and_then(|t| order.iter().position(|o| o == t).map(|p| p as u32))
                })
                .collect();
            let result = SchemeResult {
                scheme: grouping.key(),
                column: c.name.clone(),
                mode: Mode::FirstMatch,
                grades: order,
                codes: Codes::Exclusive(codes),
                separator: String::new(),
                resolved: Vec::new(),
            };
            let mut s = summarize(&result, table, &playbook);
            // playbook actions are for grades; the other groupings carry their own advice
            for g in &mut s.grades {
                g.action_zh = None;
                g.action_en = None;
            }
            Some(GroupingSummary {
                key: grouping.key(),
                column: c.name.clone(),
                summary: s,
            })
        })
        .collect();
    out.extend(others.into_iter().flatten());
    out
}

/// The groups of a grouping in the order the run defines (stages in lifecycle order, segments
/// in scheme order, clusters by number), then any other value in the column.
fn group_order(summary: &Summary, grouping: &Grouping, present: &[String]) -> Vec<String> {
    let lang = summary.lang;
    let mut order: Vec<String> = match grouping {
        Grouping::Lifecycle => clientele_lifecycle::Stage::ALL
            .iter()
            .map(|s| s.name(lang).to_string())
            .collect(),
        Grouping::Rfm(name) => summary
            .rfm
            .iter()
            .flat_map(|r| &r.schemes)
            .filter(|s| &s.name == name)
            .flat_map(|s| &s.segments)
            .map(|seg| lang.pick(&seg.zh, &seg.en).to_string())
            .collect(),
        Grouping::Cluster => summary
            .clusters
            .done()
            .map(|c| {
                c.profiles
                    .iter()
                    .map(|p| format!("{}: {}", p.label, lang.pick(&p.name_zh, &p.name_en)))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    // keep only groups the table holds, in the run's order, then the rest as first seen
    order.retain(|o| present.contains(o));
    let mut rest: Vec<String> = present
        .iter()
        .filter(|p| !order.contains(p))
        .cloned()
        .collect();
    rest.sort();
    order.extend(rest);
    order
}
