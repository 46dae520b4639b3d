//! Lifecycle: the stage funnel and the customers per stage, with the playbook's actions.

use clientele_engine::lifecycle::StageMode;
use serde_json::json;

use super::card::{Card, Table, c_int, c_share, text_or_dash};
use super::chart::opt;
use super::{Ctx, Section};
use crate::fmt_num::{int, num};

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
    let data: Vec<_> = counts
        .iter()
        .zip(&names)
        .map(|(x, n)| json!({"name": n, "value": x.count}))
        .collect();
    let funnel = opt(json!({
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "series": [{"type": "funnel", "sort": "descending", "data": data, "left": "8%", "right": "8%", "top": 16, "bottom": 16,
                    "minSize": "8%", "gap": 3, "label": {"show": true, "position": "inside", "formatter": "{b}  {c}"},
                    "itemStyle": {"borderColor": "#fff", "borderWidth": 1}}],
    }));
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
        "grid": {"left": 12, "right": 40, "top": 8, "bottom": 8, "containLabel": true},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": names, "inverse": true},
        "series": [{"type": "bar", "name": c.t("col.customers"), "data": counts.iter().map(|x| x.count).collect::<Vec<_>>(),
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
