//! What to do next: the groups the engine chose, with their actions and target lists.

use clientele_core::columns::Grouping;
use clientele_engine::{GroupKind, NextStep, ValueBasis};
use serde_json::json;

use super::card::{Card, Table, c_int, c_money, c_share, or_dash, text_or_dash};
use super::{Ctx, Section};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "next");
    let steps = &c.s.next_steps;
    if steps.is_empty() {
        return sec;
    }
    let mut t = Table::new(vec![
        (c.t("col.group"), false),
        (c.t("col.scheme"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
        (c.t("col.value_at_stake"), true),
        (c.t("col.action"), false),
        (c.t("col.list_file"), false),
    ]);
    let mut any_action = false;
    for g in steps {
        let action = c.action(g.action_zh.as_deref(), g.action_en.as_deref());
        any_action |= action.is_some();
        t.row(vec![
            json!(c.pick(&g.name_zh, &g.name_en)),
            json!(scheme(c, g)),
            c_int(g.customers as f64),
            or_dash(g.share, c_share),
            or_dash(g.value_at_stake, c_money),
            text_or_dash(action.as_deref()),
            json!(list(g, c.pick(&g.name_zh, &g.name_en))),
        ]);
    }
    let by_revenue = steps
        .iter()
        .any(|g| g.value_basis == Some(ValueBasis::Revenue));
    sec.lead.push(c.t(if by_revenue {
        "next.lead_revenue"
    } else {
        "next.lead"
    }));
    // the engine falls back to groups with a target list when no group has an action
    if !any_action {
        sec.notes.push(c.t("next.no_actions"));
    }
    sec.cards.push(
        Card::new(c.t("card.next"), 12)
            .table(t)
            .text(vec![c.t("next.files")])
            .json(),
    );
    sec
}

/// Where the group's list is: its file when the run wrote lists, else the `clientele export`
/// arguments that write it (export knows a group by its name in either language).
fn list(g: &NextStep, name: &str) -> String {
    if let Some(f) = &g.file {
        return f.clone();
    }
    let key = grouping(g).key();
    format!(
        "--scheme {key} --grade {}",
        clientele_core::shell_word(name)
    )
}

/// The grouping a group belongs to, by name.
fn scheme(c: &Ctx, g: &NextStep) -> String {
    c.grouping(&grouping(g))
}

fn grouping(g: &NextStep) -> Grouping {
    match g.kind {
        GroupKind::Grade => Grouping::Grade(g.scheme.clone()),
        GroupKind::Rfm => Grouping::Rfm(g.scheme.clone()),
        GroupKind::Lifecycle => Grouping::Lifecycle,
    }
}
