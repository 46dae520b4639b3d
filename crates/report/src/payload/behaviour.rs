//! Purchase behaviour: distributions, category shares, top categories per grade, category
//! affinity, seasonality and the breakdown the engine chose.

use clientele_core::columns::Grouping;
use clientele_engine::behaviour::{
    AffinitySummary, BehaviourSummary, Breakdown, CategoryShares, Histogram, PeriodShare,
    SeasonalityShares, TopCategories,
};
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_money, c_num, c_pct, c_share, truncate};
use super::chart::{grid, legend, num_val, opt, pct_val, share_bars};
use super::{Ctx, Section};
use crate::fmt_num::{int, num, pct};

/// Grade columns shown in the top-categories table, in the engine's order.
const TOP_CATEGORY_COLUMNS: usize = 4;
/// Affinity pairs in the table (the engine ranks them by lift), and in the chart.
const PAIRS: usize = 15;
const PAIRS_CHARTED: usize = 10;
/// Suggested categories named.
const SUGGESTIONS: usize = 5;
/// Top categories per grade shown.
const TOP_CATEGORIES: usize = 3;

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "behaviour");
    let Some(b) = c.s.behaviour.done() else {
        if let Some(why) = c.s.behaviour.problem_in(c.lang) {
            sec.notes.push(truncate(why, 200));
        }
        return sec;
    };
    let d = &b.distributions;
    for h in [&d.orders, &d.avg_order_value, &d.avg_interpurchase_days] {
        if !h.bins.is_empty() {
            sec.cards.push(distribution_card(c, h));
        }
    }
    if let Some(cat) = &b.categories
        && !cat.shares.is_empty()
    {
        sec.cards.push(categories_card(c, cat));
    }
    if !b.top_categories.is_empty() {
        sec.cards.push(top_categories_card(c, &b.top_categories));
    }
    if let Some(a) = &b.affinity
        && !a.pairs.is_empty()
    {
        sec.cards.push(affinity_card(c, a));
    }
    if let Some(se) = &b.seasonality {
        season_cards(c, se, &mut sec);
    }
    if let Some(bd) = c.s.highlights.breakdown.and_then(|i| b.breakdowns.get(i))
        && !bd.values.is_empty()
        && !bd.grades.is_empty()
    {
        sec.cards.push(breakdown_card(c, b, bd));
    }
    sec
}

fn distribution_card(c: &Ctx, h: &Histogram) -> Value {
    let cats: Vec<&str> = h.bins.iter().map(|b| b.label.as_str()).collect();
    let mut t = Table::new(vec![
        (c.t("col.bin"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
    ])
    .fallback();
    for b in &h.bins {
        t.row(vec![
            json!(b.label),
            c_int(b.customers as f64),
            c_share(b.share),
        ]);
    }
    let rotate = if cats.len() > 8 { 35 } else { 0 };
    let option = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 12, "right": 16, "top": 30, "bottom": 8, "containLabel": true},
        "xAxis": {"type": "category", "data": cats, "axisLabel": {"interval": 0, "rotate": rotate, "fontSize": 11}},
        "yAxis": {"type": "value", "name": c.t("col.customers"), "nameTextStyle": {"align": "left"}},
        "series": [{"type": "bar", "name": c.t("col.customers"), "data": h.bins.iter().map(|b| num_val(b.customers as f64, 0)).collect::<Vec<_>>(), "barMaxWidth": 32}],
    }));
    let sub = h.stats.map_or_else(String::new, |s| {
        c.tf(
            "beh.stats",
            &[
                ("mean", num(s.mean, 1)),
                ("median", num(s.median, 1)),
                ("p90", num(s.p90, 1)),
                ("max", num(s.max, 0)),
            ],
        )
    });
    let mut line = c.tf("beh.dist_n", &[("v", int(h.customers as f64))]);
    if h.missing > 0 {
        line.push_str(" · ");
        line.push_str(&c.tf("beh.dist_missing", &[("v", int(h.missing as f64))]));
    }
    let key = &h.column;
    Card::new(c.t_or(&format!("beh.dist.{key}"), key), 4)
        .sub(sub)
        .chart(c.chart_id(&format!("beh-{key}")), 260, option)
        .table(t)
        .text(vec![line])
        .json()
}

/// Share of customers buying each category, and its share of revenue.
fn categories_card(c: &Ctx, cat: &CategoryShares) -> Value {
    let shares = &cat.shares;
    let names: Vec<String> = shares.iter().map(|x| x.category.clone()).collect();
    let option = share_bars(
        &names,
        vec![
            (
                c.t("col.share"),
                shares.iter().map(|x| Some(x.customer_share)).collect(),
            ),
            (
                c.t("col.revenue_share"),
                shares.iter().map(|x| Some(x.revenue_share)).collect(),
            ),
        ],
        true,
    );
    let mut t = Table::new(vec![
        (c.t("beh.category"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
        (c.t("tr.orders"), true),
        (c.t("col.revenue"), true),
        (c.t("col.revenue_share"), true),
    ])
    .fallback();
    // the categories beyond the engine's limit, as one row
    for x in shares.iter().chain(&cat.other) {
        t.row(vec![
            json!(x.category),
            c_int(x.customers as f64),
            c_share(x.customer_share),
            c_int(x.orders as f64),
            c_money(x.revenue),
            c_share(x.revenue_share),
        ]);
    }
    let h = (shares.len() as u32 * 26 + 70).clamp(240, 640);
    Card::new(c.t("beh.categories_title"), 6)
        .sub(c.tf(
            "beh.categories_sub",
            &[("v", int(cat.customers_with_categories as f64))],
        ))
        .chart(c.chart_id("beh-categories"), h, option)
        .table(t)
        .json()
}

/// The first few categories of every grade (the engine sorts them by revenue).
fn top_categories_card(c: &Ctx, tops: &[TopCategories]) -> Value {
    let mut t = Table::new(vec![
        (c.t("col.scheme"), false),
        (c.t("col.grade"), false),
        (c.t("col.customers"), true),
        (c.t("beh.top1"), false),
        (c.t("beh.top2"), false),
        (c.t("beh.top3"), false),
    ]);
    for tc in tops.iter().take(TOP_CATEGORY_COLUMNS) {
        let scheme = c.grouping_column(&tc.grade_column);
        let grouping = Grouping::of_column(&tc.grade_column);
        for g in &tc.grades {
            let grade = grouping
                .as_ref()
                .map_or_else(|| g.grade.clone(), |gr| c.group(gr, &g.grade));
            let mut cells = vec![json!(scheme), json!(grade), c_int(g.customers as f64)];
            for i in 0..TOP_CATEGORIES {
                cells.push(json!(g.categories.get(i).map_or_else(
                    || "–".to_string(),
                    |x| format!("{} {}", x.category, pct(x.revenue_share))
                )));
            }
            t.row(cells);
        }
    }
    Card::new(c.t("beh.top_title"), 6)
        .sub(c.t("beh.top_sub"))
        .table(t)
        .json()
}

/// Category pairs bought by the same customers, by lift (the engine's order).
fn affinity_card(c: &Ctx, a: &AffinitySummary) -> Value {
    let pairs: Vec<_> = a.pairs.iter().take(PAIRS).collect();
    let names: Vec<String> = pairs.iter().map(|p| format!("{} + {}", p.a, p.b)).collect();
    let charted: Vec<Value> = pairs
        .iter()
        .take(PAIRS_CHARTED)
        .map(|p| num_val(p.lift, 3))
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 12, "right": 40, "top": 8, "bottom": 8, "containLabel": true},
        "xAxis": {"type": "value", "scale": true, "name": c.t("beh.lift"), "splitNumber": 4},
        "yAxis": {"type": "category", "data": names.iter().take(PAIRS_CHARTED).collect::<Vec<_>>(), "inverse": true},
        "series": [{"type": "bar", "name": c.t("beh.lift"), "data": charted, "barMaxWidth": 18,
                    "label": {"show": true, "position": "right"},
                    "markLine": {"symbol": "none", "lineStyle": {"type": "dashed", "color": "#eb3b5a"}, "data": [{"xAxis": 1}], "label": {"formatter": "1"}}}],
    }));
    let mut t = Table::new(vec![
        (c.t("beh.pair"), false),
        (c.t("col.customers"), true),
        (c.t("beh.support"), true),
        (c.t("beh.conf_ab"), true),
        (c.t("beh.conf_ba"), true),
        (c.t("beh.lift"), true),
    ]);
    for (p, n) in pairs.iter().zip(&names) {
        t.row(vec![
            json!(n),
            c_int(p.customers as f64),
            c_pct(p.support),
            c_pct(p.confidence_ab),
            c_pct(p.confidence_ba),
            c_num(p.lift, 3),
        ]);
    }
    let mut lines = vec![c.tf(
        "beh.affinity_line",
        &[
            ("total", int(a.pairs_total as f64)),
            ("support", pct(a.min_support)),
            ("min", int(a.min_customers as f64)),
        ],
    )];
    let suggestions: Vec<String> = a
        .suggestions
        .iter()
        .take(SUGGESTIONS)
        .map(|s| format!("{} ({})", s.category, int(s.customers as f64)))
        .collect();
    if !suggestions.is_empty() {
        lines.push(c.tf("beh.suggestions", &[("v", suggestions.join(", "))]));
    }
    Card::new(c.t("beh.affinity_title"), 12)
        .sub(c.t("beh.affinity_sub"))
        .split()
        .chart(c.chart_id("beh-affinity"), 340, option)
        .table(t)
        .text(lines)
        .json()
}

/// Weekday and month shares of orders and revenue, with the peak.
fn season_cards(c: &Ctx, se: &SeasonalityShares, sec: &mut Section) {
    for (key, rows, peak) in [
        ("weekday", &se.weekday, &se.peak_weekday),
        ("month", &se.month, &se.peak_month),
    ] {
        if rows.is_empty() {
            continue;
        }
        let names = period_names(c, key, rows);
        let option = share_bars(
            &names,
            vec![
                (
                    c.t("beh.order_share"),
                    rows.iter().map(|x| Some(x.order_share)).collect(),
                ),
                (
                    c.t("col.revenue_share"),
                    rows.iter().map(|x| Some(x.revenue_share)).collect(),
                ),
            ],
            false,
        );
        let mut t = Table::new(vec![
            (c.t(&format!("season.{key}")), false),
            (c.t("tr.orders"), true),
            (c.t("beh.order_share"), true),
            (c.t("col.revenue"), true),
            (c.t("col.revenue_share"), true),
        ])
        .fallback();
        for (x, n) in rows.iter().zip(&names) {
            t.row(vec![
                json!(n),
                c_int(x.orders as f64),
                c_share(x.order_share),
                c_money(x.revenue),
                c_share(x.revenue_share),
            ]);
        }
        // the peak is one of the rows, by its label: shown by its name here
        let peak = peak.as_ref().map(|p| {
            rows.iter()
                .position(|r| r.label == *p)
                .map_or_else(|| p.clone(), |i| names[i].clone())
        });
        sec.cards.push(
            Card::new(c.t(&format!("season.{key}_title")), 6)
                .sub(peak.map_or_else(String::new, |p| c.tf("season.peak", &[("v", p)])))
                .chart(c.chart_id(&format!("beh-{key}")), 260, option)
                .table(t)
                .json(),
        );
    }
}

/// Weekday or month names in the report's language (the summary has them in the analysis
/// language); the data's own labels when there are not 7 or 12.
fn period_names(c: &Ctx, key: &str, rows: &[PeriodShare]) -> Vec<String> {
    let names: Vec<String> = c
        .t(&format!("season.{key}s"))
        .split(',')
        .map(str::to_string)
        .collect();
    if names.len() == rows.len() {
        names
    } else {
        rows.iter().map(|r| r.label.clone()).collect()
    }
}

/// One dimension × one grouping: each value's customers and revenue, and how its value is
/// split over the groups.
fn breakdown_card(c: &Ctx, b: &BehaviourSummary, bd: &Breakdown) -> Value {
    let vnames: Vec<&str> = bd.values.iter().map(|v| v.label.as_str()).collect();
    let grouping = Grouping::of_column(&bd.grade_column);
    let gname = |name: &str| {
        grouping
            .as_ref()
            .map_or_else(|| name.to_string(), |gr| c.group(gr, name))
    };
    let series: Vec<Value> = bd
        .grades
        .iter()
        .enumerate()
        .map(|(gi, g)| {
            let d: Vec<Value> = bd
                .share_in_value
                .iter()
                .map(|row| row.get(gi).map_or(Value::Null, |x| pct_val(*x)))
                .collect();
            json!({"type": "bar", "name": gname(&g.label), "stack": "s", "data": d, "barMaxWidth": 26})
        })
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "valueFormatter": "{value}%"},
        "legend": legend(), "grid": grid(),
        "xAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "yAxis": {"type": "category", "data": vnames, "inverse": true},
        "series": series,
    }));
    let mut t = Table::new(vec![
        (c.col(&bd.dimension), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
        (c.t("col.revenue_share"), true),
    ]);
    for g in &bd.grades {
        t.col(gname(&g.label), true);
    }
    for (v, row) in bd.values.iter().zip(&bd.share_in_value) {
        let mut cells = vec![
            json!(v.label),
            c_int(v.customers as f64),
            c_share(v.customer_share),
            c_share(v.revenue_share),
        ];
        cells.extend(row.iter().map(|x| c_pct(*x)));
        t.row(cells);
    }
    let h = (vnames.len() as u32 * 28 + 80).clamp(220, 600);
    let title = c.tf(
        "beh.breakdown_title",
        &[
            ("dim", c.col(&bd.dimension)),
            ("scheme", c.grouping_column(&bd.grade_column)),
        ],
    );
    Card::new(title, 12)
        .sub(c.tf(
            "beh.breakdown_sub",
            &[("v", int(b.breakdowns.len() as f64))],
        ))
        .chart(c.chart_id("beh-breakdown"), h, option)
        .table(t)
        .json()
}
