//! Predictions: who is likely to buy next (by RFM segment), the forecast per month, how sure
//! the CLV is, and, when the run made them, the model comparison and the covariates.

use clientele_core::columns::Grouping;
use clientele_engine::clv::{Criterion, ModelComparison};
use clientele_engine::{BuyNextGroup, ClvSection, CovariateSection, ForecastMonth};
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_money, c_num, c_pct, dash, kpi, or_dash};
use super::chart::{grid, legend, num_val, opt};
use super::{Ctx, Section};
use crate::fmt_num::{int, num, pct};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "predict");
    let Some(clv) = c.s.clv.done() else {
        return sec;
    };
    sec.kpis = kpis(c, clv);
    if !clv.purchase_windows.is_empty() {
        sec.lead.push(c.t("pr.lead"));
    }
    if !clv.buy_next.is_empty() {
        sec.cards.push(buy_next_card(c, &clv.buy_next));
    }
    if !clv.forecast.is_empty() {
        sec.cards.push(forecast_card(c, &clv.forecast));
    }
    if clv.intervals.is_some() || clv.intervals_skipped.is_some() {
        sec.cards.push(intervals_card(c, clv));
    }
    if let Some(cmp) = &clv.comparison {
        sec.cards.push(comparison_card(c, cmp));
    }
    if let Some(cov) = &clv.covariates {
        sec.cards.push(covariates_card(c, cov));
    }
    sec
}

fn kpis(c: &Ctx, clv: &ClvSection) -> Vec<Value> {
    let mut out = Vec::new();
    for w in clv.purchase_windows.iter().take(2) {
        out.push(kpi(
            c.tf("pr.kpi_buyers", &[("d", int(f64::from(w.days)))]),
            int(w.expected_buyers),
            c.tf(
                "pr.kpi_buyers_sub",
                &[("v", int(w.likely_buyers as f64)), ("mean", pct(w.mean))],
            ),
        ));
    }
    if let Some(n) = &clv.next_purchase {
        out.push(kpi(
            c.t("pr.kpi_dated"),
            int(n.dated as f64),
            c.tf(
                "pr.kpi_dated_sub",
                &[("v", int(n.empty as f64)), ("max", c.span(n.max))],
            ),
        ));
    }
    if let Some(total) = clv.intervals.as_ref().and_then(|i| i.total_clv) {
        out.push(kpi(
            c.t("pr.kpi_clv_range"),
            format!("{} – {}", c.money_k(total.lower), c.money_k(total.upper)),
            c.tf("pr.kpi_clv_range_sub", &[("v", c.money_k(total.point))]),
        ));
    }
    out
}

/// Per group of the main RFM segments: customers, likely buyers, expected buyers.
fn buy_next_card(c: &Ctx, groups: &[BuyNextGroup]) -> Value {
    let days = groups.first().map_or(30, |g| g.days);
    let grouping = groups
        .first()
        .map_or(Grouping::Lifecycle, |g| Grouping::of_key(&g.grouping));
    let names: Vec<String> = groups
        .iter()
        .map(|g| c.group(&grouping, &g.group))
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": names, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": {"type": "value", "name": c.t("pr.customers_axis"), "nameTextStyle": {"align": "left"}},
        "series": [
            {"type": "bar", "name": c.t("pr.expected_buyers"), "barMaxWidth": 28,
             "data": groups.iter().map(|g| num_val(g.expected_buyers, 1)).collect::<Vec<_>>()},
            {"type": "bar", "name": c.t("pr.likely_buyers"), "barMaxWidth": 28,
             "data": groups.iter().map(|g| num_val(g.likely_buyers as f64, 0)).collect::<Vec<_>>()},
        ],
    }));
    let mut t = Table::new(vec![
        (c.t("pr.group"), false),
        (c.t("col.customers"), true),
        (c.t("pr.expected_buyers"), true),
        (c.t("pr.likely_buyers"), true),
        (c.t("pr.buy_rate"), true),
    ]);
    for (g, name) in groups.iter().zip(&names) {
        let rate = (g.customers > 0).then(|| g.expected_buyers / g.customers as f64);
        t.row(vec![
            json!(name),
            c_int(g.customers as f64),
            c_num(g.expected_buyers, 1),
            c_int(g.likely_buyers as f64),
            or_dash(rate, c_pct),
        ]);
    }
    Card::new(
        c.tf("pr.buy_next_title", &[("d", int(f64::from(days)))]),
        12,
    )
    .sub(c.tf("pr.buy_next_sub", &[("d", int(f64::from(days)))]))
    .chart(c.chart_id("buy-next"), 320, option)
    .table(t)
    .json()
}

/// Expected purchases (bars) and value (line) per month of the horizon.
fn forecast_card(c: &Ctx, months: &[ForecastMonth]) -> Value {
    // each month from the day it starts (model months are 30 days, not calendar months)
    let cats: Vec<String> = months.iter().map(|m| m.from.to_string()).collect();
    let has_value = months.iter().any(|m| m.expected_value.is_some());
    let mut series = vec![json!({
        "type": "bar", "name": c.t("pr.fc_purchases"), "barMaxWidth": 26,
        "data": months.iter().map(|m| num_val(m.expected_purchases, 1)).collect::<Vec<_>>(),
    })];
    if has_value {
        series.push(json!({
            "type": "line", "name": c.t("pr.fc_value"), "yAxisIndex": 1,
            "data": months.iter().map(|m| num_val(m.expected_value.unwrap_or(0.0), 2)).collect::<Vec<_>>(),
        }));
    }
    let mut y = vec![
        json!({"type": "value", "name": c.t("pr.fc_purchases"), "nameTextStyle": {"align": "left"}}),
    ];
    if has_value {
        y.push(json!({"type": "value", "name": c.t("pr.fc_value"), "nameTextStyle": {"align": "right"}, "splitLine": {"show": false}}));
    }
    let option = opt(json!({
        "tooltip": {"trigger": "axis"},
        "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": cats},
        "yAxis": y,
        "series": series,
    }));
    let mut t = Table::new(vec![
        (c.t("pr.fc_month"), false),
        (c.t("pr.fc_from"), false),
        (c.t("pr.fc_to"), false),
        (c.t("pr.fc_purchases"), true),
        (c.t("pr.fc_value"), true),
    ]);
    for m in months {
        t.row(vec![
            json!(int(f64::from(m.month))),
            json!(m.from.to_string()),
            json!(m.to.to_string()),
            c_num(m.expected_purchases, 1),
            m.expected_value.map_or_else(dash, c_money),
        ]);
    }
    Card::new(c.t("pr.fc_title"), 12)
        .sub(c.t("pr.fc_sub"))
        .chart(c.chart_id("forecast"), 300, option)
        .table(t)
        .json()
}

/// The totals' intervals and what the intervals mean.
fn intervals_card(c: &Ctx, clv: &ClvSection) -> Value {
    let mut t = Table::new(vec![
        (c.t("pr.iv_quantity"), false),
        (c.t("pr.iv_point"), true),
        (c.t("pr.iv_lower"), true),
        (c.t("pr.iv_upper"), true),
    ]);
    let mut lines = Vec::new();
    if let Some(iv) = &clv.intervals {
        let p = iv.total_purchases;
        t.row(vec![
            json!(c.tf("pr.iv_purchases", &[("v", super::value::months(clv))])),
            c_num(p.point, 0),
            c_num(p.lower, 0),
            c_num(p.upper, 0),
        ]);
        if let Some(v) = iv.total_clv {
            t.row(vec![
                json!(c.t("pr.iv_clv")),
                c_money(v.point),
                c_money(v.lower),
                c_money(v.upper),
            ]);
        }
        lines.push(if iv.linear {
            c.tf(
                "pr.iv_linear",
                &[
                    ("lo", pct(iv.lower_quantile)),
                    ("hi", pct(iv.upper_quantile)),
                ],
            )
        } else {
            c.tf(
                "pr.iv_method",
                &[
                    ("draws", int(iv.used_draws as f64)),
                    ("seed", iv.seed.to_string()),
                    ("lo", pct(iv.lower_quantile)),
                    ("hi", pct(iv.upper_quantile)),
                ],
            )
        });
        lines.push(c.t("pr.iv_meaning"));
    }
    if let Some(why) = clv.intervals_skipped_in(c.lang) {
        lines.push(c.tf("pr.iv_skipped", &[("v", why.to_string())]));
    }
    // the whole width: four columns of money to the cent do not fit half of a laptop screen
    Card::new(c.t("pr.iv_title"), 12)
        .table(t)
        .text(lines)
        .json()
}

/// `model = "auto"`: every candidate's score and the one kept.
fn comparison_card(c: &Ctx, cmp: &ModelComparison) -> Value {
    let holdout = cmp.criterion == Criterion::HoldoutMae;
    let mut t = Table::new(vec![
        (c.t("pr.cmp_model"), false),
        (c.t(if holdout { "pr.cmp_mae" } else { "pr.cmp_bic" }), true),
        (c.t("pr.cmp_ll"), true),
        (c.t("pr.cmp_kept"), false),
    ]);
    for cand in &cmp.candidates {
        let name = c.t_or(&format!("model.{}", cand.model.name()), cand.model.name());
        let score = if holdout { cand.holdout_mae } else { cand.bic };
        let kept = if cand.model == cmp.chosen {
            c.t("yes")
        } else {
            cand.error_in(c.lang).map_or_else(String::new, |e| {
                c.tf("pr.cmp_failed", &[("v", super::card::truncate(e, 120))])
            })
        };
        t.row(vec![
            json!(name),
            or_dash(score, |v| c_num(v, if holdout { 4 } else { 1 })),
            or_dash(cand.log_likelihood, |v| c_num(v, 1)),
            json!(kept),
        ]);
    }
    let chosen = c.t_or(&format!("model.{}", cmp.chosen.name()), cmp.chosen.name());
    let best = c.t_or(&format!("model.{}", cmp.best.name()), cmp.best.name());
    let rule = if cmp.chosen == cmp.best {
        c.tf("pr.cmp_rule_best", &[("v", chosen)])
    } else if holdout {
        c.tf(
            "pr.cmp_rule_tie_mae",
            &[("v", chosen), ("best", best), ("m", pct(cmp.tie_margin))],
        )
    } else {
        c.tf(
            "pr.cmp_rule_tie_bic",
            &[("v", chosen), ("best", best), ("m", num(cmp.tie_margin, 0))],
        )
    };
    Card::new(c.t("pr.cmp_title"), 6)
        .sub(c.t(if holdout {
            "pr.cmp_sub_mae"
        } else {
            "pr.cmp_sub_bic"
        }))
        .table(t)
        .text(vec![rule])
        .json()
}

/// The covariates' coefficients, their standard errors and the likelihood-ratio test.
fn covariates_card(c: &Ctx, cov: &CovariateSection) -> Value {
    let f = &cov.fit;
    let mut t = Table::new(vec![
        (c.t("pr.cov_coef"), false),
        (c.t("fit.estimate"), true),
        (c.t("fit.std_error"), true),
    ]);
    for (i, (name, v)) in f.coefficient_names.iter().zip(&f.coefficients).enumerate() {
        let se = f
            .coefficient_std_errors
            .as_ref()
            .and_then(|s| s.get(i))
            .copied();
        t.row(vec![
            json!(name),
            c_num(*v, 4),
            or_dash(se, |v| c_num(v, 4)),
        ]);
    }
    let lr = &f.lr_test;
    let mut lines = vec![c.tf(
        "pr.cov_lr",
        &[
            ("chi", num(lr.statistic, 3)),
            ("df", int(lr.df as f64)),
            ("p", format!("{:.2e}", lr.p_value)),
            ("ll", num(f.log_likelihood, 2)),
            ("ll0", num(lr.restricted_log_likelihood, 2)),
        ],
    )];
    for b in &cov.baselines {
        lines.push(c.tf(
            "pr.cov_baseline",
            &[("col", b.column.clone()), ("v", b.baseline.clone())],
        ));
    }
    lines.push(c.t("pr.cov_sign"));
    Card::new(c.t("pr.cov_title"), 6)
        .table(t)
        .text(lines)
        .json()
}
