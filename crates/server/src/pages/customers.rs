//! `/customers`: a selection of customers (a group, a filter in the rule language, an id
//! prefix), sorted by any column, a page at a time, with links to export the whole selection.
//! The selection is the API's ([`crate::api::page`]); a filter the engine refuses is shown
//! with its message and fix, as a 400.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use clientele_core::columns::{self, Grouping};
use clientele_core::{ColumnData, Rounding};
use clientele_report::number::{int, money};
use serde_json::{Map, Value, json};

use super::labels::grouping_of_column;
use super::{Ctx, encode};
use crate::api::{CustomerPage, CustomersQuery};
use crate::{ApiError, AppState};

/// Customers per page.
pub(crate) const PAGE: usize = 50;

/// Columns shown unless all are asked for, in this order (those the run has).
const KEY_COLUMNS: &[&str] = &[
    columns::LIFECYCLE_STAGE,
    columns::MONETARY,
    columns::ORDERS,
    columns::RECENCY_DAYS,
    columns::CLV,
    columns::P_ALIVE,
    "expected_purchases_12m",
    "segment_cn8",
    columns::VALUE_TIER,
    columns::NEXT_BEST_CATEGORY,
    "last_purchase",
];

pub(super) async fn page(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let c = match Ctx::of(&s, q.as_deref(), "/customers") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let query = query_of(&c.params);
    let result = match check_cursor(query.cursor.as_deref(), c.run.table().len()) {
        Err(e) => Err(e),
        Ok(()) => {
            let (state, run, query) = (c.state.clone(), Arc::clone(&c.run), query_of(&c.params));
            tokio::task::spawn_blocking(move || {
                crate::api::page(&state, &run, &query).map(|(page, _)| page)
            })
            .await
            .unwrap_or_else(|e| Err(ApiError::internal(&e)))
        }
    };
    let (status, list, error) = match result {
        Ok(page) => (StatusCode::OK, Some(list(&c, &query, &page)), None),
        Err(e) => (e.status, None, Some(super::error_json(&e, c.lang))),
    };
    let page = json!({
        "form": form(&c, &query),
        "chips": chips(&c, &query),
        "list": list,
        "error": error,
        "help": help(&c),
    });
    let title = match (&query.scheme, &query.grade) {
        (Some(scheme), Some(grade)) if c.run.grouping(scheme).is_some() => {
            format!("{} · {}", c.group_name(scheme, grade), c.l.grouping(scheme))
        }
        (Some(scheme), None) if c.run.grouping(scheme).is_some() => c.l.grouping(scheme),
        _ => c.l.t("list.title"),
    };
    c.render(status, "customers.html", &title, "customers", page, None)
}

/// The API's query for the page's parameters.
fn query_of(p: &super::Params) -> CustomersQuery {
    CustomersQuery {
        run: p.owned("run"),
        scheme: p.owned("scheme"),
        grade: p.owned("grade"),
        filter: p.owned("where"),
        sort: p.owned("sort"),
        q: p.owned("q"),
        limit: Some(PAGE),
        cursor: p.owned("cursor"),
    }
}

/// A cursor's offset must lie within the table: a larger one is not one of the list's pages
/// (and must not reach the arithmetic of paging).
fn check_cursor(cursor: Option<&str>, len: usize) -> Result<(), ApiError> {
    let Some(c) = cursor else { return Ok(()) };
    let n = c.split_once('.').map_or(c, |(n, _)| n);
    match n.parse::<usize>() {
        Ok(n) if n <= len => Ok(()),
        _ => Err(crate::api::bad_cursor()),
    }
}

/// The filter form: the filter, the id prefix and the order, with the group kept.
fn form(c: &Ctx, q: &CustomersQuery) -> Value {
    let mut sorts = vec![json!({"value": "", "label": c.l.t("list.sort_none")})];
    for name in column_names(c) {
        let label = c.l.column(&name);
        sorts.push(json!({"value": name, "label": format!("{label} ↑")}));
        sorts.push(json!({"value": format!("-{name}"), "label": format!("{label} ↓")}));
    }
    // a refused order stays chosen, as the filter stays in its box, to be seen and changed
    if let Some(sort) = q.sort.as_deref().filter(|s| !s.is_empty())
        && !sorts.iter().any(|o| o["value"] == sort)
    {
        let label = format!("{sort}{}", c.l.t("list.sort_unknown"));
        sorts.push(json!({"value": sort, "label": label}));
    }
    let hidden: Vec<Value> = ["run", "lang", "scheme", "grade", "cols"]
        .iter()
        .filter_map(|k| c.params.get(k).map(|v| json!({"name": k, "value": v})))
        .collect();
    let cols_all = c.params.get("cols") == Some("all");
    let columns_href = c
        .params
        .with("cols", if cols_all { None } else { Some("all") })
        .with("cursor", None)
        .href("/customers");
    json!({
        "where": q.filter,
        "q": q.q,
        "sort": q.sort.clone().unwrap_or_default(),
        "sorts": sorts,
        "hidden": hidden,
        "clear": c.href("/customers", &[]),
        "columns_href": columns_href,
        "columns_label": c.l.t(if cols_all { "list.key_columns" } else { "list.all_columns" }),
    })
}

/// The group the list is of, with a link that removes it.
fn chips(c: &Ctx, q: &CustomersQuery) -> Vec<Value> {
    let Some(scheme) = q.scheme.as_deref() else {
        return Vec::new();
    };
    if c.run.grouping(scheme).is_none() {
        return Vec::new();
    }
    let text = match q.grade.as_deref() {
        Some(g) => format!("{}: {}", c.l.grouping(scheme), c.group_name(scheme, g)),
        None => c.l.grouping(scheme),
    };
    let remove = c
        .params
        .with("scheme", None)
        .with("grade", None)
        .with("cursor", None)
        .href("/customers");
    vec![json!({
        "text": text,
        "href": c.href(&format!("/schemes/{}", encode(scheme)), &[]),
        "remove": remove,
    })]
}

/// `customer_id` and every column of the table, in table order.
fn column_names(c: &Ctx) -> Vec<String> {
    std::iter::once(columns::CUSTOMER_ID.to_string())
        .chain(c.run.table().columns().iter().map(|col| col.name.clone()))
        .collect()
}

/// The columns the table shows: all, or the id, the list's grouping, the key columns, the
/// sort column and the columns the filter names.
fn shown_columns(c: &Ctx, q: &CustomersQuery) -> Vec<String> {
    let all = column_names(c);
    if c.params.get("cols") == Some("all") {
        return all;
    }
    let mut out = vec![columns::CUSTOMER_ID.to_string()];
    let mut add = |name: &str| {
        if all.iter().any(|a| a == name) && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    };
    if let Some(g) = q.scheme.as_deref().and_then(|k| c.run.grouping(k)) {
        add(&g.column);
    }
    let sort = q.sort.as_deref().map(|s| {
        s.trim()
            .trim_start_matches('-')
            .trim_end_matches(" desc")
            .trim_end_matches(" asc")
            .trim()
    });
    if let Some(s) = sort {
        add(s);
    }
    if let Some(f) = q.filter.as_deref() {
        let words: Vec<&str> = f
            .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        for name in &all {
            if words.contains(&name.as_str()) {
                add(name);
            }
        }
    }
    for k in KEY_COLUMNS {
        add(k);
    }
    out
}

/// The page of customers as the table shows it.
fn list(c: &Ctx, q: &CustomersQuery, page: &CustomerPage) -> Value {
    let t = c.run.table();
    let shown = shown_columns(c, q);
    let current_sort = q.sort.as_deref().map(str::trim).unwrap_or("");
    let numeric = |name: &str| {
        matches!(
            t.get(name),
            Some(ColumnData::Int(_)) | Some(ColumnData::Float(_))
        )
    };
    let head: Vec<Value> = shown
        .iter()
        .map(|name| {
            let asc = current_sort == name || current_sort == format!("{name} asc");
            let desc = current_sort == format!("-{name}") || current_sort == format!("{name} desc");
            let next = if asc {
                format!("-{name}")
            } else {
                name.clone()
            };
            json!({
                "label": c.l.column(name),
                "name": name,
                "num": numeric(name),
                "order": if asc { "asc" } else if desc { "desc" } else { "" },
                "href": c.params.with("sort", Some(&next)).with("cursor", None).href("/customers"),
            })
        })
        .collect();
    let rows: Vec<Value> = page
        .customers
        .iter()
        .map(|m| {
            let id = m
                .get(columns::CUSTOMER_ID)
                .and_then(Value::as_str)
                .unwrap_or("");
            let cells: Vec<Value> = shown
                .iter()
                .skip(1)
                .map(|name| json!({"t": cell_text(c, name, m), "num": numeric(name)}))
                .collect();
            json!({
                "id": id,
                "href": c.href(&format!("/customers/{}", encode(id)), &[]),
                "cells": cells,
            })
        })
        .collect();
    let fp = crate::state::fingerprint(&q.selection(), &c.run);
    let prev = (page.offset > 0).then(|| {
        let back = page.offset.saturating_sub(PAGE);
        let cursor = (back > 0).then(|| format!("{back}.{fp}"));
        c.params
            .with("cursor", cursor.as_deref())
            .href("/customers")
    });
    let next = page
        .next_cursor
        .as_deref()
        .map(|n| c.params.with("cursor", Some(n)).href("/customers"));
    let export = |format: &str| {
        let mut p = super::Params::default();
        for k in ["run", "scheme", "grade", "where", "sort", "q"] {
            p = p.with(k, c.params.get(k));
        }
        p.with("format", Some(format)).href("/api/v1/export")
    };
    let from = if page.customers.is_empty() {
        0
    } else {
        page.offset + 1
    };
    json!({
        "total": page.total,
        "summary": c.l.tf("list.total", &[
            ("total", int(page.total as f64)),
            ("from", int(from as f64)),
            ("to", int((page.offset + page.customers.len()) as f64)),
        ]),
        "head": head,
        "rows": rows,
        "prev": prev,
        "next": next,
        "csv": export("csv"),
        "parquet": export("parquet"),
    })
}

/// A cell as shown: group names in the page's language, money to the cent, counts with
/// separators, other numbers as the customer table rounds them, "–" when missing.
pub(super) fn cell_text(c: &Ctx, name: &str, m: &Map<String, Value>) -> String {
    match m.get(name) {
        None | Some(Value::Null) => "–".into(),
        Some(Value::String(s)) => match grouping_of_column(name) {
            Some(g) => c.run.vocab.name(&g, s, c.lang),
            None => s.clone(),
        },
        Some(Value::Number(n)) => {
            if n.is_i64() || n.is_u64() {
                n.as_f64().map_or_else(|| n.to_string(), int)
            } else {
                match (Rounding::of_column(name), n.as_f64()) {
                    (Rounding::Money, Some(x)) => money(x),
                    _ => n.to_string(),
                }
            }
        }
        Some(v) => v.to_string(),
    }
}

/// The filter syntax, with the columns a filter can name.
fn help(c: &Ctx) -> Value {
    let lang_name = c.l.t(&format!("lang.{}", c.run.lang().code()));
    let cols: Vec<Value> = c
        .run
        .table()
        .columns()
        .iter()
        .map(|col| {
            json!({
                "name": col.name,
                "label": c.l.column(&col.name),
                "group": Grouping::is_grouping_column(&col.name),
            })
        })
        .collect();
    json!({
        "lines": [c.l.t("help.1"), c.l.t("help.2"), c.l.tf("help.3", &[("v", lang_name)])],
        "columns": cols,
    })
}
