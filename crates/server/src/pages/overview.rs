//! `/`: the headline numbers (the report's KPI tiles), the latest alerts, what to do next, and
//! every grouping with its groups' sizes, each linking to its list.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use clientele_core::columns::Grouping;
use clientele_engine::GroupKind;
use clientele_report::number::{int, money, pct};
use serde_json::{Value, json};

use super::Ctx;
use crate::AppState;

pub(super) async fn page(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let c = match Ctx::of(&s, q.as_deref(), "/") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let summary = &c.run.run.summary;
    // the report's overview section, its KPI tiles only
    let payload = clientele_report::payload(summary, c.lang);
    let kpis: Vec<Value> = payload["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sec| sec["id"] == "overview")
        .map(|sec| {
            let mut sec = sec.clone();
            sec["cards"] = json!([]);
            sec
        })
        .collect();
    let kpis_html = match clientele_report::render_sections(&kpis, c.lang) {
        Ok(h) => h,
        Err(e) => return super::internal(c.lang, &e),
    };
    let page = json!({
        "kpis_html": kpis_html,
        "alerts": alerts(&c),
        "next": next_steps(&c),
        "next_title": c.l.t("sec.next"),
        "groupings": groupings(&c),
    });
    let title = c.l.t("nav.overview");
    c.render(
        StatusCode::OK,
        "overview.html",
        &title,
        "overview",
        page,
        None,
    )
}

/// The latest alerts when they are about this run.
fn alerts(c: &Ctx) -> Value {
    let primary = c
        .state
        .library
        .run(None)
        .map(|r| r.name.clone())
        .unwrap_or_default();
    if c.run.name != primary {
        let note = c.l.tf("alerts.other_run", &[("v", primary)]);
        return json!({"note": note, "rows": [], "more": ""});
    }
    let Some(a) = c.state.refresher.latest() else {
        return json!({"note": c.l.t("alerts.no_previous"), "rows": [], "more": ""});
    };
    let since = a.previous_as_of.clone().unwrap_or_default();
    let share = pct(a.min_share);
    let rows: Vec<Value> = a
        .alerts
        .iter()
        .map(|x| {
            json!({
                "text": x.message.text(c.lang),
                "scheme": c.l.grouping(&x.grouping),
                "href": c.list_href(&x.grouping, Some(&x.key)),
                "direction": x.direction,
            })
        })
        .collect();
    let note = if rows.is_empty() {
        c.l.tf("alerts.none", &[("v", since), ("share", share)])
    } else {
        c.l.tf(
            "alerts.since",
            &[
                ("v", since),
                ("share", share),
                ("n", int(a.min_customers as f64)),
            ],
        )
    };
    let more = c.l.tf("alerts.more", &[("v", int(rows.len() as f64))]);
    json!({"note": note, "rows": rows, "more": more})
}

/// The engine's next steps, each linking to its list.
fn next_steps(c: &Ctx) -> Value {
    let cols = [
        "col.group",
        "col.scheme",
        "col.customers",
        "col.share",
        "col.value_at_stake",
    ]
    .map(|k| c.l.t(k));
    let rows: Vec<Value> = c
        .run
        .run
        .summary
        .next_steps
        .iter()
        .map(|g| {
            let grouping = match g.kind {
                GroupKind::Grade => Grouping::Grade(g.scheme.clone()),
                GroupKind::Rfm => Grouping::Rfm(g.scheme.clone()),
                GroupKind::Lifecycle => Grouping::Lifecycle,
            };
            let key = grouping.key();
            json!({
                "name": c.lang.pick(&g.name_zh, &g.name_en),
                "href": c.list_href(&key, Some(&g.group)),
                "scheme": c.l.grouping(&key),
                "scheme_href": c.href(&format!("/schemes/{}", super::encode(&key)), &[]),
                "customers": int(g.customers as f64),
                "share": g.share.map(pct),
                "bar": g.share.map(|s| (s * 100.0).clamp(0.0, 100.0)),
                "value": g.value_at_stake.map(money),
                "action": c.lang.pick(
                    g.action_zh.as_deref().unwrap_or(""),
                    g.action_en.as_deref().unwrap_or(""),
                ),
            })
        })
        .collect();
    json!({"cols": cols, "action": c.l.t("col.action"), "rows": rows})
}

/// Every grouping and its groups.
fn groupings(c: &Ctx) -> Vec<Value> {
    c.run
        .groupings
        .iter()
        .map(|g| {
            let groups: Vec<Value> = g
                .summary
                .grades
                .iter()
                .map(|x| {
                    json!({
                        "name": c.group_name(&g.key, &x.grade),
                        "href": c.list_href(&g.key, Some(&x.grade)),
                        "customers": int(x.customers as f64),
                        "share": pct(x.share),
                        "bar": (x.share * 100.0).clamp(0.0, 100.0),
                    })
                })
                .collect();
            json!({
                "title": c.l.grouping(&g.key),
                "href": c.href(&format!("/schemes/{}", super::encode(&g.key)), &[]),
                "sub": c.l.tf("groups.sub", &[
                    ("n", int(g.summary.grades.len() as f64)),
                    ("c", int(g.summary.customers as f64)),
                ]),
                "groups": groups,
                "cols": [c.l.t("col.group"), c.l.t("col.customers"), c.l.t("col.share")],
            })
        })
        .collect()
}
