//! History: KPIs and group sizes at every back-dated month end (`--history monthly`).

use std::collections::BTreeMap;

use clientele_core::columns::Grouping;
use clientele_engine::HistoryPoint;
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_money, c_pct};
use super::chart::{grid, legend, num_val, opt};
use super::{Ctx, Section};
use crate::fmt_num::int;

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "history");
    let pts = &c.s.history;
    if pts.is_empty() {
        return sec;
    }
    let dates: Vec<String> = pts.iter().map(|p| p.as_of.to_string()).collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": dates},
        "yAxis": [{"type": "value", "name": c.t("kpi.customers")},
                  {"type": "value", "name": c.t("kpi.revenue"), "splitLine": {"show": false}}],
        "series": [
            {"type": "line", "name": c.t("kpi.customers"), "data": pts.iter().map(|p| num_val(p.kpis.customers as f64, 0)).collect::<Vec<_>>(), "smooth": true},
            {"type": "line", "name": c.t("kpi.revenue"), "yAxisIndex": 1, "data": pts.iter().map(|p| num_val(p.kpis.revenue, 2)).collect::<Vec<_>>(), "smooth": true},
        ],
    }));
    let mut t = Table::new(vec![
        (c.t("hist.as_of"), false),
        (c.t("kpi.customers"), true),
        (c.t("kpi.revenue"), true),
        (c.t("kpi.active"), true),
    ])
    .fallback();
    for (p, d) in pts.iter().zip(&dates) {
        t.row(vec![
            json!(d),
            c_int(p.kpis.customers as f64),
            c_money(p.kpis.revenue),
            c_pct(p.kpis.active_90d_share),
        ]);
    }
    sec.cards.push(
        Card::new(c.t("hist.kpis"), 12)
            .chart(c.chart_id("hist-kpis"), 280, option)
            .table(t)
            .json(),
    );
    let mut sizes: Vec<Value> =
        c.s.highlights
            .history
            .iter()
            .filter_map(|key| sizes_card(c, pts, &dates, key))
            .collect();
    // side by side only when every one fits half the page: no half-empty rows
    if sizes.iter().any(|card| card["span"] == 12) {
        for card in &mut sizes {
            card["span"] = json!(12);
        }
    }
    sec.cards.extend(sizes);
    sec.lead
        .push(c.tf("hist.lead", &[("v", int(pts.len() as f64))]));
    sec
}

/// Customers per group of one grouping at every point.
fn sizes_card(c: &Ctx, pts: &[HistoryPoint], dates: &[String], key: &str) -> Option<Value> {
    let sizes: Vec<Option<&BTreeMap<String, usize>>> =
        pts.iter().map(|p| p.sizes.get(key)).collect();
    // every group seen at any point, in order of appearance
    let mut groups: Vec<&String> = Vec::new();
    for g in sizes.iter().flatten().flat_map(|m| m.keys()) {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    if groups.is_empty() {
        return None;
    }
    // sizes are by name (lifecycle: by stage id), shown in the report's language
    let grouping = Grouping::of_key(key);
    let label = |g: &str| c.group(&grouping, g);
    // a group missing at a point had no customers then
    let size = |m: &Option<&BTreeMap<String, usize>>, g: &str| -> f64 {
        m.and_then(|m| m.get(g)).map_or(0.0, |n| *n as f64)
    };
    let series: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({"type": "line", "name": label(g), "smooth": true, "showSymbol": false,
                   "data": sizes.iter().map(|m| num_val(size(m, g), 0)).collect::<Vec<_>>()})
        })
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": dates}, "yAxis": {"type": "value"},
        "series": series,
    }));
    let mut t = Table::new(
        std::iter::once((c.t("hist.as_of"), false))
            .chain(groups.iter().map(|g| (label(g), true)))
            .collect(),
    )
    .fallback();
    for (m, d) in sizes.iter().zip(dates) {
        let mut cells = vec![json!(d)];
        cells.extend(groups.iter().map(|g| c_int(size(m, g))));
        t.row(cells);
    }
    let title = c.tf("hist.sizes", &[("v", c.grouping(&Grouping::of_key(key)))]);
    // a column per group: more than a few need the page's width
    let span = if groups.len() > 5 { 12 } else { 6 };
    Some(
        Card::new(title, span)
            .chart(c.chart_id("hist-sizes"), 300, option)
            .table(t)
            .json(),
    )
}
