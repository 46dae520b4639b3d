//! Customer value: CLV headline numbers, the Pareto curve, ABC/HML tiers, the CLV distribution,
//! the model fit and the best customers.

use clientele_core::columns::{self as col, Grouping};
use clientele_engine::{ClvBin, ClvSection, TopCustomer, ValueTierSection, grade::TierSummary};
use serde_json::{Value, json};

use super::card::{
    Card, Table, c_int, c_money, c_num, c_pct, c_share, dash, kpi, or_dash, truncate,
};
use super::chart::{grid, legend, num_val, opt, pct_val, share_bars};
use super::fit::{fit_line, param_rows, param_table};
use super::{Ctx, Section};
use crate::fmt_num::{int, num, pct, round};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "value");
    let clv = c.s.clv.done();
    match clv {
        Some(clv) => {
            sec.kpis = clv_kpis(c, clv);
            if let Some(why) = clv.clv_skipped_in(c.lang) {
                sec.notes
                    .push(c.tf("clv.error", &[("v", truncate(why, 200))]));
            }
            sec.notes
                .extend(clv.notes.iter().map(|n| n.text(c.lang).to_string()));
        }
        None => {
            if let Some(why) = c.s.clv.problem_in(c.lang) {
                sec.notes
                    .push(c.tf("clv.error", &[("v", truncate(why, 200))]));
            }
        }
    }
    if let Some(vt) = &c.s.value_tiers {
        if !vt.pareto.is_empty() {
            sec.cards.push(pareto_card(c, vt));
        }
        for (kind, tiers) in [("abc", &vt.abc), ("hml", &vt.hml)] {
            if !tiers.is_empty() {
                sec.cards.push(tier_card(c, kind, tiers, &vt.column));
            }
        }
    }
    if let Some(clv) = clv {
        if !clv.clv_distribution.is_empty() {
            sec.cards.push(distribution_card(c, &clv.clv_distribution));
        }
        sec.cards.push(fit_card(c, clv));
    }
    if !c.s.top_customers.is_empty() {
        sec.cards.push(top_card(c, &c.s.top_customers));
    }
    sec
}

/// The CLV horizon in months: `12`, or `21.9` for a horizon of 95 weeks.
pub(super) fn months(clv: &ClvSection) -> String {
    let m = clv.options.horizon_months();
    if m.fract() == 0.0 { int(m) } else { num(m, 1) }
}

fn clv_kpis(c: &Ctx, clv: &ClvSection) -> Vec<Value> {
    let horizon = c.tf("clv.horizon", &[("v", months(clv))]);
    // CLV is absent when only the spend model failed (the reason is a note)
    let shown = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| "–".into(), f);
    vec![
        kpi(
            c.t("clv.total"),
            shown(clv.clv_total, &|v| c.money_k(v)),
            horizon.clone(),
        ),
        kpi(
            c.t("clv.mean"),
            shown(clv.clv_mean, &|v| num(v, 2)),
            c.tf(
                "clv.median",
                &[("v", shown(clv.clv_median, &|v| num(v, 2)))],
            ),
        ),
        kpi(
            c.t("clv.expected"),
            int(clv.expected_purchases_total),
            horizon,
        ),
        kpi(
            c.t("clv.p_alive"),
            pct(clv.p_alive_mean),
            c.t("clv.p_alive_sub"),
        ),
    ]
}

/// The Pareto curve with the engine's 80 % crossing marked.
fn pareto_card(c: &Ctx, vt: &ValueTierSection) -> Value {
    let pts = &vt.pareto;
    let data: Vec<Value> = pts
        .iter()
        .map(|p| json!([pct_val(p.customers), pct_val(p.value)]))
        .collect();
    let cross = vt.customers_for_80_percent;
    let mut mark = vec![json!({"yAxis": 80, "name": "80%",
        "label": {"formatter": "80%", "position": "insideStartTop"}})];
    if let Some(x) = cross {
        mark.push(json!({"xAxis": round(x * 100.0, 2),
            "label": {"formatter": pct(x), "position": "insideEndTop"}}));
    }
    let option = opt(json!({
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 12, "right": 24, "top": 30, "bottom": 30, "containLabel": true},
        "xAxis": {"type": "value", "min": 0, "max": 100, "name": c.t("pareto.x"), "nameLocation": "middle", "nameGap": 24, "axisLabel": {"formatter": "{value}%"}},
        "yAxis": {"type": "value", "min": 0, "max": 100, "name": c.t("pareto.y"), "nameTextStyle": {"align": "left"}, "axisLabel": {"formatter": "{value}%"}},
        "series": [{"type": "line", "name": c.t("pareto.y"), "data": data, "showSymbol": false,
                    "areaStyle": {"opacity": 0.12}, "lineStyle": {"width": 2.5},
                    "markLine": {"symbol": "none", "lineStyle": {"type": "dashed", "color": "#eb3b5a"}, "data": mark}}],
    }));
    let mut t = Table::new(vec![(c.t("pareto.x"), true), (c.t("pareto.y"), true)]).fallback();
    // about ten rows of the curve, and its end
    let step = (pts.len() / 10).max(1);
    for (i, p) in pts.iter().enumerate() {
        if i % step == 0 || i + 1 == pts.len() {
            t.row(vec![c_pct(p.customers), c_pct(p.value)]);
        }
    }
    let sub = cross
        .map(|x| c.tf("pareto.sub", &[("v", pct(x))]))
        .unwrap_or_default();
    Card::new(c.t("pareto.title"), 6)
        .sub(sub)
        .chart(c.chart_id("pareto"), 320, option)
        .table(t)
        .json()
}

fn tier_card(c: &Ctx, kind: &str, tiers: &[TierSummary], column: &str) -> Value {
    let cats: Vec<String> = tiers
        .iter()
        .map(|x| c.t_or(&format!("tier.{kind}.{}", x.tier), &x.tier))
        .collect();
    let option = share_bars(
        &cats,
        vec![
            (
                c.t("col.share"),
                tiers.iter().map(|x| Some(x.customer_share)).collect(),
            ),
            (
                c.t("col.value_share"),
                tiers.iter().map(|x| Some(x.value_share)).collect(),
            ),
        ],
        false,
    );
    let mut t = Table::new(vec![
        (c.t("col.tier"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
        (c.t("col.value"), true),
        (c.t("col.value_share"), true),
    ]);
    for (x, cat) in tiers.iter().zip(&cats) {
        t.row(vec![
            json!(cat),
            c_int(x.customers as f64),
            c_share(x.customer_share),
            c_money(x.value),
            c_share(x.value_share),
        ]);
    }
    Card::new(c.t(&format!("tiers.{kind}")), 6)
        .sub(c.tf(&format!("tiers.{kind}_sub"), &[("col", c.col(column))]))
        .chart(c.chart_id(kind), 220, option)
        .table(t)
        .json()
}

/// Customers per CLV range (bars) and the CLV they hold (line).
fn distribution_card(c: &Ctx, bins: &[ClvBin]) -> Value {
    let n = bins.len();
    let cats: Vec<String> = bins
        .iter()
        .enumerate()
        .map(|(i, b)| {
            // the last bin is open: a few huge customers would squash the chart
            if i + 1 == n && n > 1 {
                format!("≥{}", num(b.from, 0))
            } else {
                format!("{}–{}", num(b.from, 0), num(b.to, 0))
            }
        })
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": cats, "axisLabel": {"interval": 0, "rotate": if n > 6 { 30 } else { 0 }}},
        "yAxis": [{"type": "value", "name": c.t("col.customers")},
                  {"type": "value", "name": c.t("clv.dist_value"), "splitLine": {"show": false}}],
        "series": [
            {"type": "bar", "name": c.t("col.customers"), "data": bins.iter().map(|b| num_val(b.customers as f64, 0)).collect::<Vec<_>>(), "barMaxWidth": 36},
            {"type": "line", "name": c.t("clv.dist_value"), "yAxisIndex": 1, "data": bins.iter().map(|b| num_val(b.clv, 2)).collect::<Vec<_>>(), "smooth": true},
        ],
    }));
    let mut t = Table::new(vec![
        (c.t("clv.range"), false),
        (c.t("col.customers"), true),
        (c.t("clv.dist_value"), true),
        (c.t("col.value_share"), true),
    ])
    .fallback();
    for (b, l) in bins.iter().zip(&cats) {
        t.row(vec![
            json!(l),
            c_int(b.customers as f64),
            c_money(b.clv),
            or_dash(b.clv_share, c_share),
        ]);
    }
    Card::new(c.t("clv.distribution"), 6)
        .sub(c.t("clv.dist_sub"))
        .chart(c.chart_id("clv-dist"), 300, option)
        .table(t)
        .json()
}

/// The purchase and spend models' parameters, fit lines and the CLV settings.
fn fit_card(c: &Ctx, clv: &ClvSection) -> Value {
    let mut t = param_table(c, &clv.model);
    let mut lines = vec![fit_line(c, &clv.model)];
    if let Some(sp) = &clv.spend {
        param_rows(&mut t, &sp.fit);
        lines.push(fit_line(c, &sp.fit));
        lines.push(c.tf(
            "fit.spend_used",
            &[
                ("used", int(sp.used as f64)),
                ("no_repeat", int(sp.no_repeat as f64)),
            ],
        ));
    }
    lines.push(c.tf(
        "fit.options",
        &[
            ("months", months(clv)),
            ("disc", pct(clv.options.monthly_discount)),
            ("unit", c.unit(clv.unit)),
        ],
    ));
    Card::new(c.t("fit.title"), 6).table(t).text(lines).json()
}

/// A column of the best-customers table: the customer-table column it shows, whether it is
/// numeric, and the cell of a customer (`None` when the customer has no value).
type TopColumn = (&'static str, bool, fn(&Ctx, &TopCustomer) -> Option<Value>);

const TOP_COLUMNS: [TopColumn; 9] = [
    (col::MONETARY, true, |_, t| t.monetary.map(|v| c_num(v, 2))),
    (col::ORDERS, true, |_, t| t.orders.map(|v| c_int(v as f64))),
    (col::RECENCY_DAYS, true, |_, t| {
        t.recency_days.map(|v| c_int(v as f64))
    }),
    (col::CLV, true, |_, t| t.clv.map(|v| c_num(v, 2))),
    (col::P_ALIVE, true, |_, t| t.p_alive.map(c_pct)),
    (col::RFM_SEGMENT, false, |c, t| {
        t.rfm_segment
            .as_deref()
            .map(|s| json!(c.group(&Grouping::Rfm(col::CN8_SCHEME.to_string()), s)))
    }),
    (col::LIFECYCLE_STAGE, false, |c, t| {
        t.lifecycle_stage.as_deref().map(|s| json!(c.stage(s)))
    }),
    (col::VALUE_TIER, false, |_, t| {
        t.value_tier.as_deref().map(|s| json!(s))
    }),
    (col::CLUSTER_NAME, false, |c, t| {
        t.cluster_name
            .as_deref()
            .map(|s| json!(c.group(&Grouping::Cluster, s)))
    }),
];

/// The engine's best customers, with the columns this run has.
fn top_card(c: &Ctx, top: &[TopCustomer]) -> Value {
    let columns: Vec<&TopColumn> = TOP_COLUMNS
        .iter()
        .filter(|(_, _, cell)| top.iter().any(|t| cell(c, t).is_some()))
        .collect();
    let mut t = Table::new(vec![
        (c.t("col.rank"), true),
        (c.col(col::CUSTOMER_ID), false),
    ]);
    for (name, numeric, _) in &columns {
        t.col(c.col(name), *numeric);
    }
    for (i, customer) in top.iter().enumerate() {
        let mut cells = vec![c_int((i + 1) as f64), json!(customer.customer_id)];
        for (_, numeric, cell) in &columns {
            let absent = if *numeric { dash() } else { json!("–") };
            cells.push(cell(c, customer).unwrap_or(absent));
        }
        t.row(cells);
    }
    Card::new(c.t("top.title"), 12)
        .sub(c.tf("top.sub", &[("v", int(top.len() as f64))]))
        .table(t)
        .json()
}
