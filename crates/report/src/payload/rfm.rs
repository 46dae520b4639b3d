//! RFM: the R×F heatmaps, one card per segment scheme, and the score thresholds.

use clientele_engine::rfm::{Method, MetricThresholds, RfmReport, SchemeReport};
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_money, c_num, c_share, dash, or_dash, text_or_dash};
use super::chart::{HeatAxes, heatmap, num_val, share_bars};
use super::{Ctx, Section};
use crate::fmt_num::{int, num};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "rfm");
    let Some(r) = &c.s.rfm else {
        return sec;
    };
    let g = &r.rf_grid;
    let customers: Vec<Vec<Option<f64>>> = g
        .customers
        .iter()
        .map(|row| row.iter().map(|&n| Some(n as f64)).collect())
        .collect();
    sec.cards.push(heat_card(c, "customers", &customers, 0));
    sec.cards
        .push(heat_card(c, "mean_monetary", &g.mean_monetary, 2));
    for sc in &r.schemes {
        if !sc.segments.is_empty() {
            sec.cards.push(scheme_card(c, sc));
        }
    }
    sec.cards.push(thresholds_card(c, r));
    sec.notes.extend(r.notes.iter().map(|n| n.reason.clone()));
    sec
}

/// A heatmap of one value per R score (rows, index 0 = R1) and F score (columns); empty
/// cells are "–".
fn heat_card(c: &Ctx, kind: &str, grid: &[Vec<Option<f64>>], d: usize) -> Value {
    let width = grid.iter().map(Vec::len).max().unwrap_or(0);
    let xs: Vec<String> = (1..=width).map(|i| format!("F{i}")).collect();
    let ys: Vec<String> = (1..=grid.len()).map(|i| format!("R{i}")).collect();
    let mut data = Vec::new();
    let mut max = 0.0f64;
    let mut t = Table::new(
        std::iter::once((c.t("rfm.r_score"), false))
            .chain(xs.iter().map(|x| (x.clone(), true)))
            .collect(),
    )
    .fallback();
    for (ri, row) in grid.iter().enumerate().rev() {
        let mut cells = vec![json!(ys[ri])];
        for (fi, v) in row.iter().enumerate() {
            match v {
                Some(v) => {
                    max = max.max(*v);
                    data.push(json!([fi, ri, num_val(*v, 2)]));
                    cells.push(c_num(*v, d));
                }
                None => {
                    data.push(json!([fi, ri, "-"]));
                    cells.push(dash());
                }
            }
        }
        t.row(cells);
    }
    let axes = HeatAxes {
        xs,
        ys,
        x_name: c.t("rfm.f_score"),
        y_name: c.t("rfm.r_score"),
    };
    let option = heatmap(axes, data, max, (d > 0).then_some("{@[2]}"));
    Card::new(c.t(&format!("rfm.heat_{kind}")), 6)
        .sub(c.t("rfm.heat_sub"))
        .chart(c.chart_id(&format!("rf-{kind}")), 340, option)
        .table(t)
        .json()
}

fn scheme_card(c: &Ctx, sc: &SchemeReport) -> Value {
    let segs = &sc.segments;
    let cats: Vec<String> = segs
        .iter()
        .map(|s| c.pick(&s.zh, &s.en).to_string())
        .collect();
    let option = share_bars(
        &cats,
        vec![
            (c.t("col.share"), segs.iter().map(|s| s.share).collect()),
            (
                c.t("col.revenue_share"),
                segs.iter().map(|s| s.revenue_share).collect(),
            ),
        ],
        true,
    );
    let has_action = segs.iter().any(|s| {
        c.action(s.action_zh.as_deref(), s.action_en.as_deref())
            .is_some()
    });
    let mut t = Table::new(vec![
        (c.t("col.segment"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
        (c.t("col.revenue"), true),
        (c.t("col.revenue_share"), true),
        (c.t("col.mean_recency_days"), true),
        (c.t("col.mean_orders"), true),
        (c.t("col.mean_monetary"), true),
    ]);
    if has_action {
        t.col(c.t("col.action"), false);
    }
    for (s, cat) in segs.iter().zip(&cats) {
        let mut cells = vec![
            json!(cat),
            c_int(s.customers as f64),
            or_dash(s.share, c_share),
            c_money(s.revenue),
            or_dash(s.revenue_share, c_share),
            or_dash(s.mean_recency_days, |v| c_num(v, 1)),
            or_dash(s.mean_frequency, |v| c_num(v, 2)),
            or_dash(s.mean_monetary, |v| c_num(v, 2)),
        ];
        if has_action {
            let action = c.action(s.action_zh.as_deref(), s.action_en.as_deref());
            cells.push(text_or_dash(action.as_deref()));
        }
        t.row(cells);
    }
    let name = &sc.name;
    let h = (segs.len() as u32 * 30 + 70).max(220);
    Card::new(c.t_or(&format!("scheme.{name}"), name), 12)
        .split()
        .sub(c.t_or(&format!("scheme_sub.{name}"), ""))
        .chart(c.chart_id(&format!("rfm-{name}")), h, option)
        .table(t)
        .text(
            sc.notes
                .iter()
                .map(|n| n.text(c.lang).to_string())
                .collect(),
        )
        .json()
}

fn thresholds_card(c: &Ctx, r: &RfmReport) -> Value {
    let mut t = Table::new(vec![
        (c.t("rfm.metric"), false),
        (c.t("rfm.column"), false),
        (c.t("rfm.method"), false),
        (c.t("rfm.cuts"), false),
        (c.t("rfm.level_counts"), false),
    ]);
    let th = &r.thresholds;
    let lc = &r.level_counts;
    for (m, x, counts) in [
        ("recency", &th.recency, &lc.recency),
        ("frequency", &th.frequency, &lc.frequency),
        ("monetary", &th.monetary, &lc.monetary),
    ] {
        t.row(threshold_row(c, m, x, counts));
    }
    let mut lines = Vec::new();
    if let Some(cn) = &th.cn8 {
        lines.push(c.tf(
            "rfm.cn8_ref",
            &[
                ("r", num(cn.r, 1)),
                ("f", num(cn.f, 2)),
                ("m", num(cn.m, 2)),
            ],
        ));
    }
    Card::new(c.t("rfm.thresholds"), 12)
        .table(t)
        .text(lines)
        .json()
}

fn threshold_row(c: &Ctx, metric: &str, x: &MetricThresholds, counts: &[u64]) -> Vec<Value> {
    let cuts: Vec<String> = x.cuts.iter().map(|v| num(*v, 2)).collect();
    let counts: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}:{}", i + 1, int(*n as f64)))
        .collect();
    vec![
        json!(c.t(&format!("rfm.{metric}"))),
        json!(c.col(&x.column)),
        json!(c.t(method_key(x.method))),
        json!(cuts.join(" | ")),
        json!(counts.join("  ")),
    ]
}

fn method_key(m: Method) -> &'static str {
    match m {
        Method::Balanced => "method.balanced",
        Method::Quantile => "method.quantile",
        Method::Ntile => "method.ntile",
        Method::Fixed => "method.fixed",
        Method::VsMean => "method.vs_mean",
        Method::VsMedian => "method.vs_median",
    }
}
