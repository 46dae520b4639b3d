//! `/customers/{id}`: one customer: the headline numbers (CLV, P(alive), lifecycle stage,
//! next-best category…), each group with the rule that put them there, every metric, and the
//! customer in each served run. The customer is the API's ([`crate::api::customer_detail`]).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use clientele_core::columns::{self, Grouping};
use clientele_report::number::pct;
use serde_json::{Map, Value, json};

use super::customers::cell_text;
use super::{Ctx, encode};
use crate::AppState;

/// The headline tiles, in order (those the run has).
const TILES: &[&str] = &[
    columns::CLV,
    columns::P_ALIVE,
    "expected_purchases_12m",
    columns::LIFECYCLE_STAGE,
    columns::NEXT_BEST_CATEGORY,
    columns::MONETARY,
    columns::ORDERS,
    columns::RECENCY_DAYS,
];

/// Purchase history columns.
const PURCHASES: &[&str] = &[
    "first_purchase",
    "last_purchase",
    columns::RECENCY_DAYS,
    columns::ORDERS,
    "purchase_days",
    columns::MONETARY,
    columns::AVG_ORDER_VALUE,
    "items",
    "returns",
    "return_amount",
    "profit",
    "tenure_days",
    "avg_interpurchase_days",
    "longest_gap_days",
    "last_gap_days",
    "categories",
    "top_category",
    columns::NEXT_BEST_CATEGORY,
    "next_best_category_score",
];

/// The value model's columns (CLV conventions and predictions).
const MODEL: &[&str] = &[
    "frequency",
    "recency",
    "T",
    "monetary_value",
    columns::P_ALIVE,
    "expected_purchases_12m",
    columns::EXPECTED_VALUE,
    columns::CLV,
];

pub(super) async fn page(
    State(s): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let path = match &id {
        Ok(Path(id)) => format!("/customers/{}", encode(id)),
        Err(_) => "/customers".to_string(),
    };
    let c = match Ctx::of(&s, q.as_deref(), &path) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Ok(Path(id)) = id else {
        return c.error(&super::bad_text(
            "the customer id",
            "客户 ID 不是可读的文本",
        ));
    };
    let row = c.run.row_of(&id);
    let Some(row) = row else {
        return c.error(
            &crate::api::no_customer(&id, &c.run.name)
                .fix("search by the first characters of the id on the customer list")
                .fix_zh("在客户列表中按 ID 的开头几个字符查找"),
        );
    };
    let d = crate::api::customer_detail(&c.state, &c.run, row, c.lang);
    let m = &d.customer;
    let t = c.run.table();
    let has = |name: &str| t.get(name).is_some();
    let tiles: Vec<Value> = TILES
        .iter()
        .filter(|n| has(n))
        .map(|n| {
            let value = match (*n, m.get(*n).and_then(Value::as_f64)) {
                (columns::P_ALIVE, Some(p)) => pct(p),
                _ => cell_text(&c, n, m),
            };
            json!({"label": c.l.column(n), "value": value})
        })
        .collect();
    let groups: Vec<Value> = d
        .groups
        .iter()
        .map(|g| {
            json!({
                "scheme": c.l.grouping(&g.scheme),
                "scheme_href": c.href(&format!("/schemes/{}", encode(&g.scheme)), &[]),
                "name": g.name.clone().unwrap_or_else(|| "–".into()),
                "href": g.grade.as_deref().map(|x| c.list_href(&g.scheme, Some(x))),
                // the API's `default` (no rule matched), in the page's language
                "rule": g.rule.as_deref().map(|r| if r == "default" { c.l.t("cust.by_default") } else { r.to_string() }),
            })
        })
        .collect();
    let metrics = |names: Vec<String>| -> Vec<Value> {
        names
            .iter()
            .map(|n| json!({"label": c.l.column(n), "name": n, "value": cell_text(&c, n, m)}))
            .collect()
    };
    let own = |list: &[&str]| -> Vec<String> {
        list.iter()
            .filter(|n| has(n))
            .map(|n| (*n).to_string())
            .collect()
    };
    let other: Vec<String> = t
        .columns()
        .iter()
        .map(|col| col.name.clone())
        .filter(|n| {
            !PURCHASES.contains(&n.as_str())
                && !MODEL.contains(&n.as_str())
                && !Grouping::is_grouping_column(n)
        })
        .collect();
    let cards = vec![
        json!({"title": c.l.t("cust.purchases"), "items": metrics(own(PURCHASES))}),
        json!({"title": c.l.t("cust.model"), "items": metrics(own(MODEL))}),
        json!({"title": c.l.t("cust.other"), "items": metrics(other)}),
    ];
    let page = json!({
        "id": id,
        "tiles": tiles,
        "groups": groups,
        "cards": cards,
        "history": history(&c, &id, &d.history),
        "back": c.href("/customers", &[]),
    });
    let title = c.l.tf("cust.title", &[("v", id.clone())]);
    c.render(
        StatusCode::OK,
        "customer.html",
        &title,
        "customers",
        page,
        None,
    )
}

/// The customer in each served run, oldest first: its groups and headline numbers.
fn history(c: &Ctx, id: &str, rows: &[std::collections::BTreeMap<String, Value>]) -> Value {
    let keys: Vec<&str> = c
        .run
        .groupings
        .iter()
        .map(|g| g.key.as_str())
        .filter(|k| rows.iter().any(|r| r.contains_key(*k)))
        .collect();
    let numbers: Vec<&str> = [columns::MONETARY, columns::CLV, columns::P_ALIVE]
        .into_iter()
        .filter(|k| rows.iter().any(|r| r.contains_key(*k)))
        .collect();
    let mut head = vec![c.l.t("cust.as_of"), c.l.t("cust.run")];
    head.extend(keys.iter().map(|k| c.l.grouping(k)));
    head.extend(numbers.iter().map(|k| c.l.column(k)));
    let body: Vec<Value> = rows
        .iter()
        .map(|r| {
            let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("–").to_string();
            let run = text("run");
            // a group is named by the vocabulary of the run that put the customer there
            let served = c
                .state
                .library
                .run(Some(&run))
                .unwrap_or_else(|_| std::sync::Arc::clone(&c.run));
            let mut cells: Vec<Value> = keys
                .iter()
                .map(|k| {
                    json!(match r.get(*k).and_then(Value::as_str) {
                        Some(g) => served.vocab.name(&Grouping::of_key(k), g, c.lang),
                        None => "–".to_string(),
                    })
                })
                .collect();
            let as_map: Map<String, Value> =
                r.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            cells.extend(numbers.iter().map(|k| json!(cell_text(c, k, &as_map))));
            json!({
                "as_of": text("as_of"),
                "run": run,
                "href": super::Params::default()
                    .with("run", Some(&run))
                    .with("lang", c.params.get("lang"))
                    .href(&format!("/customers/{}", encode(id))),
                "current": run == c.run.name,
                "cells": cells,
            })
        })
        .collect();
    json!({
        "head": head,
        "rows": body,
        "note": (rows.len() < 2).then(|| c.l.t("cust.history_one")),
    })
}
