//! `/schemes/{key}`: one grouping's groups with their size, value and playbook action, each
//! linking to its customers and its export.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use clientele_report::number::{int, money, num, pct};
use serde_json::{Value, json};

use super::Ctx;
use crate::AppState;

pub(super) async fn page(
    State(s): State<AppState>,
    key: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let path = match &key {
        Ok(Path(k)) => format!("/schemes/{}", super::encode(k)),
        Err(_) => "/".to_string(),
    };
    let c = match Ctx::of(&s, q.as_deref(), &path) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Ok(Path(key)) = key else {
        return c.error(&super::bad_text("the scheme", "方案名不是可读的文本"));
    };
    let g = match c.run.grouping_or_404(&key) {
        Ok(g) => g,
        Err(e) => return c.error(&e),
    };
    let has_clv = g.summary.grades.iter().any(|x| x.mean_clv.is_some());
    let mut cols = vec![
        ("col.group", false),
        ("col.customers", true),
        ("col.share", true),
        ("col.revenue", true),
        ("col.revenue_share", true),
        ("col.mean_recency_days", true),
        ("col.mean_orders", true),
        ("col.mean_monetary", true),
    ];
    if has_clv {
        cols.push(("col.mean_clv", true));
    }
    let cols: Vec<Value> = cols
        .into_iter()
        .map(|(k, n)| json!({"l": c.l.t(k), "num": n}))
        .collect();
    let export = |grade: &str, format: &str| {
        c.href(
            "/api/v1/export",
            &[("scheme", &g.key), ("grade", grade), ("format", format)],
        )
    };
    let rows: Vec<Value> = g
        .summary
        .grades
        .iter()
        .map(|x| {
            let action = c.lang.pick(
                x.action_zh.as_deref().unwrap_or(""),
                x.action_en.as_deref().unwrap_or(""),
            );
            let mut cells = vec![
                json!(int(x.customers as f64)),
                json!(pct(x.share)),
                json!(x.revenue.map_or_else(dash, money)),
                json!(x.revenue_share.map_or_else(dash, pct)),
                json!(x.mean_recency_days.map_or_else(dash, |v| num(v, 1))),
                json!(x.mean_orders.map_or_else(dash, |v| num(v, 2))),
                json!(x.mean_monetary.map_or_else(dash, money)),
            ];
            if has_clv {
                cells.push(json!(x.mean_clv.map_or_else(dash, money)));
            }
            json!({
                "name": c.group_name(&g.key, &x.grade),
                "href": c.list_href(&g.key, Some(&x.grade)),
                "bar": (x.share * 100.0).clamp(0.0, 100.0),
                "cells": cells,
                "action": action,
                "csv": export(&x.grade, "csv"),
                "parquet": export(&x.grade, "parquet"),
            })
        })
        .collect();
    let tabs: Vec<Value> = c
        .run
        .groupings
        .iter()
        .map(|t| {
            json!({
                "label": c.l.grouping(&t.key),
                "href": c.href(&format!("/schemes/{}", super::encode(&t.key)), &[]),
                "current": t.key == g.key,
            })
        })
        .collect();
    let mut sub = vec![
        c.l.tf("scheme.column", &[("v", g.column.clone())]),
        c.l.tf(
            "groups.sub",
            &[
                ("n", int(g.summary.grades.len() as f64)),
                ("c", int(g.summary.customers as f64)),
            ],
        ),
    ];
    if g.summary.ungraded > 0 {
        sub.push(c.l.tf("groups.ungraded", &[("v", int(g.summary.ungraded as f64))]));
    }
    let title = c.l.grouping(&g.key);
    let page = json!({
        "tabs": tabs,
        "sub": sub,
        "cols": cols,
        "rows": rows,
        "action_label": c.l.t("col.action"),
        "all_href": c.list_href(&g.key, None),
    });
    c.render(StatusCode::OK, "scheme.html", &title, "", page, None)
}

fn dash() -> String {
    "–".into()
}
