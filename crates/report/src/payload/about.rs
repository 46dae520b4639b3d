//! About this report: what the run read and used (files, rows, dates, models, language, tool,
//! config hash), and what every column of the customer table means.

use clientele_core::columns::Grouping;
use clientele_engine::Summary;
use clientele_engine::lifecycle::StageMode;
use serde_json::json;

use super::card::{Card, Table};
use super::{Ctx, Section};
use crate::fmt_num::int;

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "about");
    let s = c.s;
    let mut t = Table::new(vec![
        (c.t("about.item"), false),
        (c.t("about.value"), false),
    ]);
    for (label, value) in run_rows(c, s) {
        t.row(vec![json!(label), json!(value)]);
    }
    sec.cards
        .push(Card::new(c.t("about.run"), 6).table(t).json());
    if !s.columns.is_empty() {
        let mut t = Table::new(vec![
            (c.t("about.column"), false),
            (c.t("about.meaning"), false),
        ]);
        for col in &s.columns {
            t.row(vec![json!(col.name), json!(meaning(c, s, &col.name))]);
        }
        sec.cards.push(
            Card::new(c.t("about.columns"), 6)
                .sub(c.tf("about.columns_sub", &[("v", int(s.columns.len() as f64))]))
                .table(t)
                .json(),
        );
    }
    sec.lead.push(c.t("about.lead"));
    sec
}

/// The run's identity, one (label, value) per line; lines the run has nothing for are left out.
fn run_rows(c: &Ctx, s: &Summary) -> Vec<(String, String)> {
    let i = &s.inputs;
    let mut rows = Vec::new();
    files(&mut rows, c.t("about.files"), i.files.iter().cloned());
    rows.push((
        c.t("about.rows"),
        c.tf(
            "q.reconcile",
            &[
                ("read", int(i.read as f64)),
                ("accepted", int(i.accepted as f64)),
                ("rejected", int(i.rejected as f64)),
                ("after", int(i.after_as_of as f64)),
            ],
        ),
    ));
    let side = s.side_tables.iter().map(|t| {
        let kind = c.t_or(&format!("side.{}", t.kind), &t.kind);
        format!("{} ({kind})", t.file)
    });
    files(&mut rows, c.t("about.side_files"), side);
    rows.push((c.t("about.as_of"), s.as_of.to_string()));
    if let (Some(a), Some(b)) = (s.kpis.first_order, s.kpis.last_order) {
        rows.push((c.t("about.range"), format!("{a} – {b}")));
    }
    rows.push((c.t("about.time_unit"), c.unit(s.time_unit)));
    rows.extend(models(c, s));
    rows.push((c.t("about.lang"), c.t(&format!("lang.{}", c.lang.code()))));
    rows.push((
        c.t("about.data_lang"),
        c.t(&format!("lang.{}", s.lang.code())),
    ));
    rows.push((c.t("about.tool"), s.tool.clone()));
    rows.push((c.t("about.config_hash"), s.config_hash.clone()));
    rows
}

/// One file a line (paths are long), the label on the first.
fn files(rows: &mut Vec<(String, String)>, label: String, names: impl Iterator<Item = String>) {
    for (k, f) in names.enumerate() {
        let l = if k == 0 { label.clone() } else { String::new() };
        rows.push((l, f));
    }
}

/// One line per model step that ran, named by its section: the CLV models, the RFM segment
/// schemes, k-means, the lifecycle rule and the grading schemes.
fn models(c: &Ctx, s: &Summary) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Some(clv) = s.clv.done() {
        let mut m = c.t_or(&format!("model.{}", clv.model.model), &clv.model.model);
        if clv.spend.is_some() {
            m.push_str(" + ");
            m.push_str(&c.t("model.gamma_gamma"));
        }
        rows.push((c.t("sec.value"), m));
    }
    if let Some(r) = &s.rfm {
        let names: Vec<String> = r
            .schemes
            .iter()
            .map(|sc| c.grouping(&Grouping::Rfm(sc.name.clone())))
            .collect();
        rows.push((c.t("sec.rfm"), names.join(c.pick("、", ", "))));
    }
    if let Some(cl) = s.clusters.done() {
        rows.push((c.t("sec.clusters"), format!("k = {}", cl.model.k)));
    }
    if let Some(l) = &s.lifecycle {
        let mode = match l.stages.mode {
            StageMode::Cadence => "lcmode.cadence",
            StageMode::Fixed => "lcmode.fixed",
        };
        rows.push((c.t("sec.lifecycle"), c.t(mode)));
    }
    if !s.grades.is_empty() {
        let names: Vec<String> = s
            .grades
            .iter()
            .map(|g| c.grouping(&Grouping::Grade(g.scheme.clone())))
            .collect();
        rows.push((c.t("sec.grades"), names.join(c.pick("、", ", "))));
    }
    rows
}

/// What a customer-table column holds: its label; for a grouping column without one (a
/// grading or segment scheme of the config), whose groups it holds; for a column a side table
/// added, which table it came from.
fn meaning(c: &Ctx, s: &Summary, name: &str) -> String {
    if let Some(label) = crate::i18n::column_label(c.lang, name) {
        return label;
    }
    match Grouping::of_column(name) {
        Some(g @ Grouping::Grade(_)) => {
            return c.tf("about.grade_column", &[("v", c.grouping(&g))]);
        }
        Some(g @ Grouping::Rfm(_)) => {
            return c.tf("about.segment_column", &[("v", c.grouping(&g))]);
        }
        _ => {}
    }
    s.side_tables
        .iter()
        .find(|t| t.columns_added.iter().any(|a| a == name))
        .map_or_else(String::new, |t| {
            let kind = c.t_or(&format!("side.{}", t.kind), &t.kind);
            c.tf("about.attribute_column", &[("v", kind)])
        })
}
