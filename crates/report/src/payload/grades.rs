//! Customer grades: one card per grading scheme, and the presets the data could not support.

use clientele_core::columns::Grouping;
use clientele_engine::grade::{GradeSummary, Mode, SchemeSummary};
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_money, c_num, c_share, or_dash, text_or_dash, truncate};
use super::chart::share_bars;
use super::{Ctx, Section};
use crate::fmt_num::int;

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "grades");
    for g in &c.s.grades {
        if !g.grades.is_empty() {
            let id = c.chart_id(&format!("grade-{}", sec.cards.len()));
            sec.cards.push(scheme_card(c, g, id));
        }
    }
    let skipped = &c.s.skipped_presets;
    if !skipped.is_empty() {
        // each reads "<preset>: <reason>" in English
        let names: Vec<String> = skipped
            .iter()
            .map(|s| {
                s.en.split_once(':')
                    .map_or(s.en.as_str(), |(a, _)| a.trim())
            })
            .map(|n| c.grouping(&Grouping::Grade(n.to_string())))
            .collect();
        sec.notes
            .push(c.tf("grades.skipped", &[("v", names.join(", "))]));
        sec.notes
            .extend(skipped.iter().map(|s| truncate(s.text(c.lang), 240)));
    }
    if sec.cards.is_empty() && !sec.notes.is_empty() {
        sec.lead.push(c.t("grades.none"));
    }
    sec
}

fn scheme_card(c: &Ctx, g: &SchemeSummary, chart_id: String) -> Value {
    let rows = &g.grades;
    // a built-in grade in the page's language; a grade a user named as named
    let name = |r: &GradeSummary| {
        r.label
            .as_ref()
            .map_or(r.grade.as_str(), |l| c.pick(&l.zh, &l.en))
            .to_string()
    };
    let cats: Vec<String> = rows.iter().map(name).collect();
    let option = share_bars(
        &cats,
        vec![
            (
                c.t("col.share"),
                rows.iter().map(|r| Some(r.share)).collect(),
            ),
            (
                c.t("col.revenue_share"),
                rows.iter().map(|r| r.revenue_share).collect(),
            ),
        ],
        false,
    );
    let has_clv = rows.iter().any(|r| r.mean_clv.is_some());
    let mut t = Table::new(vec![
        (c.t("col.grade"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
        (c.t("col.revenue"), true),
        (c.t("col.revenue_share"), true),
        (c.t("col.mean_recency_days"), true),
        (c.t("col.mean_orders"), true),
        (c.t("col.mean_monetary"), true),
    ]);
    if has_clv {
        t.col(c.t("col.mean_clv"), true);
    }
    t.col(c.t("col.action"), false);
    for r in rows {
        let mut cells = vec![
            json!(name(r)),
            c_int(r.customers as f64),
            c_share(r.share),
            or_dash(r.revenue, c_money),
            or_dash(r.revenue_share, c_share),
            or_dash(r.mean_recency_days, |v| c_num(v, 1)),
            or_dash(r.mean_orders, |v| c_num(v, 2)),
            or_dash(r.mean_monetary, |v| c_num(v, 2)),
        ];
        if has_clv {
            cells.push(or_dash(r.mean_clv, |v| c_num(v, 2)));
        }
        let action = c.action(r.action_zh.as_deref(), r.action_en.as_deref());
        cells.push(text_or_dash(action.as_deref()));
        t.row(cells);
    }
    let mut sub = c.tf(
        "grades.sub",
        &[
            ("column", g.column.clone()),
            ("mode", c.t(mode_key(g.mode))),
            ("customers", int(g.customers as f64)),
        ],
    );
    if g.ungraded > 0 {
        sub.push_str(" · ");
        sub.push_str(&c.tf("grades.ungraded", &[("v", int(g.ungraded as f64))]));
    }
    Card::new(c.grouping(&Grouping::Grade(g.scheme.clone())), 12)
        .sub(sub)
        .chart(chart_id, 230, option)
        .table(t)
        .json()
}

fn mode_key(m: Mode) -> &'static str {
    match m {
        Mode::FirstMatch => "mode.first_match",
        Mode::Grid => "mode.grid",
        Mode::Tags => "mode.tags",
        Mode::Points => "mode.points",
    }
}
