//! `/openapi.json`: the API described as OpenAPI 3.1. Schemas come from the Rust types the
//! handlers answer with (JSON Schema 2020-12, which OpenAPI 3.1 uses as is), and the query
//! parameters from the query types, so the document cannot drift from the code.

use axum::Json;
use axum::extract::State;
use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

use crate::api::{
    CustomerDetail, CustomerPage, CustomersQuery, Grade, Health, RunInfo, RunQuery, Scheme,
    ScoreRequest, ScoreResponse,
};
use crate::export::ExportQuery;
use crate::refresh::{Alerts, Refreshed};
use crate::{AppState, ErrorBody};

pub(crate) async fn document(State(s): State<AppState>) -> Json<Value> {
    let mut doc = openapi();
    // this server's page limit, and what its primary run needs to score
    if let Some(ps) = doc["paths"]["/api/v1/customers"]["get"]["parameters"].as_array_mut() {
        for p in ps.iter_mut().filter(|p| p["name"] == "limit") {
            p["schema"]["maximum"] = json!(s.limits.page_size);
        }
    }
    if let Ok(run) = s.library.run(None)
        && let Some(scorer) = &run.scorer
    {
        doc["paths"]["/api/v1/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["properties"]["customers"]["items"] = score_item(scorer.inputs());
        doc["paths"]["/api/v1/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["properties"]["customers"]["maxItems"] = json!(s.limits.score_batch);
    }
    Json(doc)
}

/// One customer to score: its id and the columns the primary run's models and rules read.
fn score_item(inputs: &[clientele_engine::ScoreInput]) -> Value {
    use clientele_engine::ColumnKind;
    let mut props = serde_json::Map::new();
    props.insert(
        "customer_id".into(),
        json!({"type": ["string", "integer"], "description": "The customer's id."}),
    );
    let mut required = vec![json!("customer_id")];
    for i in inputs {
        let mut t = match i.r#type {
            ColumnKind::Int => json!({"type": ["integer"]}),
            ColumnKind::Float => json!({"type": ["number"]}),
            ColumnKind::Date => json!({"type": ["string"], "format": "date"}),
            ColumnKind::Text => json!({"type": ["string"]}),
        };
        if i.nullable {
            t["type"]
                .as_array_mut()
                .expect("an array")
                .push(json!("null"));
        } else {
            required.push(json!(i.column));
        }
        t["description"] = json!(format!("Used by: {}.", i.used_by.join(", ")));
        props.insert(i.column.clone(), t);
    }
    json!({"type": "object", "required": required, "properties": props})
}

/// Query parameters from a query type's properties.
fn params<T: JsonSchema>(skip: &[&str]) -> Vec<Value> {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let schema = g.root_schema_for::<T>();
    let v = schema.as_value();
    let props = v.get("properties").and_then(Value::as_object);
    props
        .into_iter()
        .flatten()
        .filter(|(name, _)| !skip.contains(&name.as_str()))
        .map(|(name, p)| {
            let mut p = p.clone();
            let description = p
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .unwrap_or(Value::Null);
            json!({"name": name, "in": "query", "required": false,
                   "description": description, "schema": p})
        })
        .collect()
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string", "minLength": 1}})
}

fn ok(schema: Value, description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn error(description: &str) -> Value {
    ok(
        json!({"$ref": "#/components/schemas/ErrorBody"}),
        description,
    )
}

/// The whole document.
pub fn openapi() -> Value {
    let mut g: SchemaGenerator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.contract = Contract::Serialize;
            s.meta_schema = None;
        })
        .into_generator();
    let r = |v: schemars::Schema| v.to_value();
    let summary = r(g.subschema_for::<clientele_engine::Summary>());
    let health = r(g.subschema_for::<Health>());
    let runs = r(g.subschema_for::<Vec<RunInfo>>());
    let schemes = r(g.subschema_for::<Vec<Scheme>>());
    let grades = r(g.subschema_for::<Vec<Grade>>());
    let page = r(g.subschema_for::<CustomerPage>());
    let detail = r(g.subschema_for::<CustomerDetail>());
    let scored = r(g.subschema_for::<ScoreResponse>());
    let alerts = r(g.subschema_for::<Alerts>());
    let refreshed = r(g.subschema_for::<Refreshed>());
    let _ = r(g.subschema_for::<ErrorBody>());
    let mut schemas = g.take_definitions(true);
    // the request body is read, not written: its schema under the deserialize contract
    let mut gr = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let score_req = gr.subschema_for::<ScoreRequest>().to_value();
    for (k, v) in gr.take_definitions(true) {
        schemas.entry(k).or_insert(v);
    }
    let run_q = params::<RunQuery>(&[]);
    let with_path = |name: &str, d: &str| -> Vec<Value> {
        std::iter::once(path_param(name, d))
            .chain(run_q.clone())
            .collect()
    };
    let scheme_params = with_path("scheme", "A grouping key from /api/v1/schemes.");
    let id_params = with_path("id", "A customer id as the data has it.");
    let auth_errors = |mut responses: Value| {
        let o = responses.as_object_mut().expect("an object");
        o.insert(
            "401".into(),
            error("A token is required and was not given or is wrong."),
        );
        o.insert(
            "400".into(),
            error("The request is malformed; the message says how to fix it."),
        );
        responses
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "clientele API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Customer grades, segments, CLV and lifecycle stages of the analyses a `clientele serve` serves. Read-only unless the server allows refresh. Beyond loopback every route except /health needs `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
        "paths": {
            "/health": {"get": {
                "operationId": "health", "summary": "Liveness; never needs a token.",
                "security": [],
                "responses": {"200": ok(health, "The server answers.")}}},
            "/api/v1/runs": {
                "get": {"operationId": "listRuns", "summary": "The runs served, primary first.",
                    "responses": auth_errors(json!({"200": ok(runs, "The runs.")}))},
                "post": {"operationId": "refresh", "summary": "Re-run the configured analysis now (only with --allow-refresh).",
                    "responses": auth_errors(json!({
                        "201": ok(refreshed, "The new run and its alerts."),
                        "403": error("The server is read-only."),
                        "409": error("A refresh is already running.")}))}},
            "/api/v1/summary": {"get": {
                "operationId": "summary", "summary": "The typed analysis summary (what summary.json holds).",
                "parameters": run_q,
                "responses": auth_errors(json!({"200": ok(summary, "The summary."), "404": error("No such run.")}))}},
            "/api/v1/schemes": {"get": {
                "operationId": "schemes", "summary": "Every grouping (grading schemes, RFM segments, lifecycle, value tiers, clusters) with each group's size, value and action.",
                "parameters": run_q,
                "responses": auth_errors(json!({"200": ok(schemes, "The groupings."), "404": error("No such run.")}))}},
            "/api/v1/schemes/{scheme}/grades": {"get": {
                "operationId": "schemeGrades", "summary": "The groups of one grouping.",
                "parameters": scheme_params,
                "responses": auth_errors(json!({"200": ok(grades, "The groups."), "404": error("No such scheme or run.")}))}},
            "/api/v1/customers": {"get": {
                "operationId": "customers", "summary": "Customers of a selection (grouping and group, filter in the rule language, id prefix), sorted, one page at a time (cursor pagination).",
                "parameters": params::<CustomersQuery>(&[]),
                "responses": auth_errors(json!({"200": ok(page, "A page."), "404": error("No such run, scheme or grade.")}))}},
            "/api/v1/customers/{id}": {"get": {
                "operationId": "customer", "summary": "One customer: every metric, each group with the rule that put them there, and their history across the served runs.",
                "parameters": id_params,
                "responses": auth_errors(json!({"200": ok(detail, "The customer."), "404": error("No such customer or run.")}))}},
            "/api/v1/export": {"get": {
                "operationId": "export", "summary": "A selection as a file, streamed: CSV (UTF-8 with BOM, for Excel) or Parquet.",
                "parameters": params::<ExportQuery>(&[]),
                "responses": auth_errors(json!({
                    "200": {"description": "The list.", "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "application/vnd.apache.parquet": {"schema": {"type": "string", "contentEncoding": "binary"}}}},
                    "404": error("No such run, scheme or grade."),
                    "413": error("The selection is larger than one export may be.")}))}},
            "/api/v1/score": {"post": {
                "operationId": "score", "summary": "Grades, RFM, CLV, P(alive) and lifecycle stage for posted customer summaries, with the served run's stored models and rules (stateless).",
                "requestBody": {"required": true, "content": {"application/json": {"schema": score_req}}},
                "responses": auth_errors(json!({
                    "200": ok(scored, "One result per customer posted."),
                    "404": error("No such run."),
                    "409": error("The run cannot score."),
                    "415": error("The body is not JSON."),
                    "422": error("The body is JSON but not a score request.")}))}},
            "/api/v1/alerts": {"get": {
                "operationId": "alerts", "summary": "Groups whose size or value moved more than the threshold between the latest two runs.",
                "parameters": run_q,
                "responses": auth_errors(json!({"200": ok(alerts, "The alerts (empty before a second run).")}))}},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document.",
                "responses": auth_errors(json!({"200": {"description": "The OpenAPI document.", "content": {"application/json": {}}}}))}},
        }
    })
}
