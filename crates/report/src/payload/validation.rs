//! Model validation: the CLV model fitted up to the calibration end, its predictions for the
//! holdout against what customers did, and against a naive baseline.

use clientele_engine::Validation;
use clientele_engine::clv::{ErrorSummary, HoldoutReport};
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_num, kpi, truncate};
use super::chart::{grid, legend, num_val, opt};
use super::fit::{fit_line, param_table};
use super::{Ctx, Section};
use crate::fmt_num::{int, num, pct};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "validation");
    let Some(v) = c.s.validation.done() else {
        if let Some(why) = c.s.validation.problem_in(c.lang) {
            sec.notes
                .push(c.tf("val.error", &[("v", truncate(why, 200))]));
        }
        return sec;
    };
    let r = &v.report;
    let (m, b) = (&r.model, &r.baseline);
    let vs = |x: f64| c.tf("val.kpi_vs_baseline", &[("v", num(x, 3))]);
    let bias = if m.sum_actual > 0.0 {
        c.tf(
            "val.kpi_total_sub",
            &[("v", pct(m.sum_predicted / m.sum_actual - 1.0))],
        )
    } else {
        String::new()
    };
    sec.kpis = vec![
        kpi(
            c.t("val.kpi_window"),
            v.calibration_end.to_string(),
            c.tf(
                "val.kpi_window_sub",
                &[("v", v.observation_end.to_string())],
            ),
        ),
        kpi(
            c.t("val.kpi_customers"),
            int(v.customers as f64),
            String::new(),
        ),
        kpi(c.t("val.kpi_mae"), num(m.mae, 3), vs(b.mae)),
        kpi(c.t("val.kpi_rmse"), num(m.rmse, 3), vs(b.rmse)),
        kpi(
            c.t("val.kpi_total"),
            format!("{} / {}", int(m.sum_predicted), int(m.sum_actual)),
            bias,
        ),
    ];
    if !r.by_frequency.is_empty() {
        sec.cards.push(by_frequency_card(c, r));
    }
    sec.cards.push(fit_card(c, v));
    sec.lead.push(c.t("val.lead"));
    sec
}

/// Mean holdout purchases by calibration frequency: actual, model and baseline.
fn by_frequency_card(c: &Ctx, r: &HoldoutReport) -> Value {
    let groups = &r.by_frequency;
    let cats: Vec<&str> = groups.iter().map(|g| g.frequency.as_str()).collect();
    let series = |f: fn(&clientele_engine::clv::FrequencyGroup) -> f64| -> Vec<Value> {
        groups.iter().map(|g| num_val(f(g), 3)).collect()
    };
    let option = opt(json!({
        "tooltip": {"trigger": "axis"},
        "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": cats},
        "yAxis": {"type": "value", "name": c.t("val.mean_purchases"), "nameTextStyle": {"align": "left"}},
        "series": [
            {"type": "bar", "name": c.t("val.actual"), "data": series(|g| g.mean_actual), "barMaxWidth": 22},
            {"type": "bar", "name": c.t("val.predicted"), "data": series(|g| g.mean_predicted), "barMaxWidth": 22},
            {"type": "line", "name": c.t("val.baseline"), "data": series(|g| g.mean_baseline)},
        ],
    }));
    let mut t = Table::new(vec![
        (c.t("val.freq"), false),
        (c.t("col.customers"), true),
        (c.t("val.actual"), true),
        (c.t("val.predicted"), true),
        (c.t("val.baseline"), true),
    ]);
    for g in groups {
        t.row(vec![
            json!(g.frequency),
            c_int(g.n as f64),
            c_num(g.mean_actual, 3),
            c_num(g.mean_predicted, 3),
            c_num(g.mean_baseline, 3),
        ]);
    }
    let errors = |key: &str, e: &ErrorSummary| {
        c.tf(
            key,
            &[
                ("mae", num(e.mae, 3)),
                ("rmse", num(e.rmse, 3)),
                ("pred", num(e.sum_predicted, 0)),
                ("act", num(e.sum_actual, 0)),
            ],
        )
    };
    let lines = vec![
        errors("val.err_model", &r.model),
        errors("val.err_baseline", &r.baseline),
    ];
    Card::new(c.t("val.title"), 6)
        .sub(c.tf("val.sub", &[("v", num(r.duration, 1))]))
        .chart(c.chart_id("holdout"), 300, option)
        .table(t)
        .text(lines)
        .json()
}

/// The calibration fit.
fn fit_card(c: &Ctx, v: &Validation) -> Value {
    let lines = vec![
        fit_line(c, &v.fit),
        c.tf("val.unit", &[("v", c.unit(v.unit))]),
    ];
    Card::new(c.t("val.fit_title"), 6)
        .table(param_table(c, &v.fit))
        .text(lines)
        .json()
}
