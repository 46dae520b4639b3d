//! The monitoring loop against a real shop: a served run, a refresh two months later through
//! `POST /api/v1/runs` (token and `--allow-refresh`), the previous run kept in `history/`,
//! migration in the new run, and alerts for the groups that moved.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{Config, NoProgress};
use clientele_server::{AppState, ServeOptions, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "refresh-test-token-0123456789";

async fn call(s: &AppState, method: &str, uri: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let r = router(s.clone()).oneshot(req).await.unwrap();
    let st = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (st, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_writes_a_new_run_keeps_the_old_one_and_lists_what_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = ShopSpec::new(1200, 5);
    spec.days = 400;
    generate(&spec, &tmp.path().join("shop"), &|_| {}).unwrap();
    let end = spec.start.0 + spec.days as i32 - 1;
    let day = |d: i32| clientele_core::Day(d).to_string();
    let config_path = tmp.path().join("shop.toml");
    let write_config = |as_of: &str| {
        let text = format!(
            "[source]\ntransactions = [\"shop/transactions.csv\"]\n\n[time]\nas_of = \"{as_of}\"\n\n\
             [output]\nlang = \"en\"\nformat = \"parquet\"\n"
        );
        std::fs::write(&config_path, text).unwrap();
    };
    // the first run, 90 days before the end of the data
    write_config(&day(end - 90));
    let config = Config::load(&config_path).unwrap();
    let a = clientele_engine::analyze(&config, &Default::default(), &NoProgress).unwrap();
    let out = tmp.path().join("out");
    clientele_engine::write_outputs(
        &a,
        &out,
        config.output.format,
        config.output.parquet_compression,
        &[],
        &[],
    )
    .unwrap();
    let mut o = ServeOptions::new(vec![out.clone()]);
    o.token = Some(TOKEN.into());
    o.allow_refresh = true;
    o.config = Some(config_path.clone());
    o.alert_share = 0.1;
    o.alert_min_customers = 5;
    let s = AppState::new(&o).unwrap();
    let (st, v) = call(&s, "GET", "/api/v1/alerts").await;
    assert_eq!(st, StatusCode::OK);
    assert!(v["alerts"].as_array().unwrap().is_empty() && v["previous_as_of"].is_null());

    // the data goes on; the config now analyzes to the end
    write_config(&day(end));
    let (st, v) = call(&s, "POST", "/api/v1/runs").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["run"]["as_of"], day(end));
    assert_eq!(v["alerts"]["previous_as_of"], day(end - 90));
    let alerts = v["alerts"]["alerts"].as_array().unwrap();
    assert!(
        !alerts.is_empty(),
        "three months on, some group moved by 10 %: {v}"
    );
    // the server now serves the new run, and says so
    let (_, runs) = call(&s, "GET", "/api/v1/runs").await;
    assert_eq!(runs[0]["as_of"], day(end));
    let (_, summary) = call(&s, "GET", "/api/v1/summary").await;
    assert!(
        summary["migration"].is_object(),
        "the new run compares with the old one"
    );
    // the old run is kept beside the new one, and alerts survive a restart
    let kept = out.join("history").read_dir().unwrap().count();
    assert_eq!(kept, 1);
    let s2 = AppState::new(&o).unwrap();
    let (_, again) = call(&s2, "GET", "/api/v1/alerts").await;
    assert_eq!(again["alerts"], v["alerts"]["alerts"]);
    // a second refresh keeps both earlier runs
    let (st, _) = call(&s2, "POST", "/api/v1/runs").await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(out.join("history").read_dir().unwrap().count(), 2);
    // nothing but clientele's files are in the folder it rewrote
    assert!(out.join("clientele-manifest.json").is_file());
}
