//! Lifecycle: the stage funnel and the customers per stage, with the playbook's actions.

use clientele_engine::lifecycle::{StageCount, StageMode};
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_share, text_or_dash};
use super::chart::{grid_within, opt};
use super::{Ctx, Section};
use crate::fmt_num::{int, num, pct};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "lifecycle");
    let Some(l) = &c.s.lifecycle else {
        return sec;
    };
    let stg = &l.stages;
    let counts = &stg.counts;
    if counts.is_empty() {
        return sec;
    }
    let names: Vec<&str> = counts
        .iter()
        .map(|x| c.pick(&x.name_zh, &x.name_en))
        .collect();
    let funnel = funnel(c, counts, &names);
    let actions: Vec<Option<String>> = counts
        .iter()
        .map(|x| c.action(x.action_zh.as_deref(), x.action_en.as_deref()))
        .collect();
    let has_action = actions.iter().any(Option::is_some);
    let mut t = Table::new(vec![
        (c.t("col.stage"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
    ]);
    if has_action {
        t.col(c.t("col.action"), false);
    }
    let mut t2 = Table::new(vec![
        (c.t("col.stage"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
    ]);
    for ((x, n), action) in counts.iter().zip(&names).zip(&actions) {
        let cells = vec![json!(n), c_int(x.count as f64), c_share(x.share)];
        t2.row(cells.clone());
        let mut cells = cells;
        if has_action {
            cells.push(text_or_dash(action.as_deref()));
        }
        t.row(cells);
    }
    sec.cards.push(
        Card::new(c.t("lc.funnel"), 6)
            .chart(c.chart_id("funnel"), 320, funnel)
            .table(t.fallback())
            .json(),
    );
    let mode = match stg.mode {
        StageMode::Cadence => "lcmode.cadence",
        StageMode::Fixed => "lcmode.fixed",
    };
    let mut lines = vec![c.tf("lc.mode", &[("v", c.t(mode))])];
    if let Some(days) = stg.fallback_cadence_days {
        lines.push(c.tf(
            "lc.fallback",
            &[
                ("days", num(days, 1)),
                ("n", int(stg.on_fallback_cadence as f64)),
            ],
        ));
    }
    let bars = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": grid_within(8, 40, 8, 12),
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": names, "inverse": true},
        "series": [{"type": "bar", "name": c.t("col.customers"), "data": counts.iter().map(|x| json!({"value": x.count, "label": {"formatter": int(x.count as f64)}})).collect::<Vec<_>>(),
                    "barMaxWidth": 22, "colorBy": "data", "label": {"show": true, "position": "right"}}],
    }));
    sec.cards.push(
        Card::new(c.t("lc.sizes"), 6)
            .chart(c.chart_id("stages"), 200, bars)
            .table(t2)
            .text(lines)
            .json(),
    );
    sec
}

/// The stages as a funnel in lifecycle order (the summary's, potential to reactivated): one
/// bar per stage centred on a common axis, as wide as its count, so an empty stage is an
/// empty row; its name and count are written beside it in dark text.
fn funnel(c: &Ctx, counts: &[StageCount], names: &[&str]) -> Value {
    let max = counts.iter().map(|x| x.count).max().unwrap_or(0) as f64;
    // a transparent bar of half the missing width before each stage centres it
    let pad: Vec<f64> = counts
        .iter()
        .map(|x| (max - x.count as f64) / 2.0)
        .collect();
    let bars: Vec<Value> = counts
        .iter()
        .map(|x| {
            json!({"value": x.count, "label": {"formatter": format!("{}  {}", int(x.count as f64), pct(x.share))}})
        })
        .collect();
    opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": grid_within(8, 12, 8, 12),
        "xAxis": {"type": "value", "show": false, "max": max.max(1.0) * 1.3},
        "yAxis": {"type": "category", "data": names, "inverse": true, "axisLine": {"show": false},
                  "axisTick": {"show": false}, "axisLabel": {"color": "#374151", "fontSize": 12}},
        "series": [
            {"type": "bar", "stack": "funnel", "data": pad, "silent": true,
             "itemStyle": {"color": "transparent"}, "tooltip": {"show": false}},
            {"type": "bar", "stack": "funnel", "name": c.t("col.customers"), "data": bars,
             "barCategoryGap": "18%", "colorBy": "data", "itemStyle": {"borderRadius": 3},
             "label": {"show": true, "position": "right", "color": "#1f2937"}},
        ],
    }))
}
