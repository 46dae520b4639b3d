//! `/trends`, `/cohorts`, `/migration`: the report's own sections (monthly trends and the
//! back-dated history; cohort retention; grade migration against the previous run), rendered
//! by the report's template and drawn by its script, so the dashboard and the report show the
//! same charts.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Ctx;
use crate::AppState;

pub(super) async fn trends(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    sections(&s, q.as_deref(), "trends", &["trends", "history"])
}

pub(super) async fn cohorts(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    sections(&s, q.as_deref(), "cohorts", &["cohorts"])
}

pub(super) async fn migration(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    sections(&s, q.as_deref(), "migration", &["migration"])
}

/// A page of the report's sections `ids`, or a note saying what the run lacks.
fn sections(s: &AppState, query: Option<&str>, page: &str, ids: &[&str]) -> Response {
    let c = match Ctx::of(s, query, &format!("/{page}")) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let payload = clientele_report::payload(&c.run.run.summary, c.lang);
    let chosen: Vec<Value> = payload["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sec| sec["id"].as_str().is_some_and(|id| ids.contains(&id)))
        .cloned()
        .collect();
    let html = match clientele_report::render_sections(&chosen, c.lang) {
        Ok(h) => h,
        Err(e) => return super::internal(c.lang, &e),
    };
    let title = c.l.t(&format!("nav.{page}"));
    let note = chosen
        .is_empty()
        .then(|| c.l.t(&format!("charts.none.{page}")));
    let data = json!({"lang": c.lang.code(), "sections": chosen});
    let charts = (!chosen.is_empty()).then_some(&data);
    c.render(
        StatusCode::OK,
        "charts.html",
        &title,
        page,
        json!({"sections_html": html, "note": note}),
        charts,
    )
}
