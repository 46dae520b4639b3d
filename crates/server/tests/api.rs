//! The JSON API through the router, without a socket: a real demo-shop analysis written to a
//! folder and served; selections against the customer table, cursors, the token, the
//! loopback default, traversal attempts, limits and error bodies.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{AnalyzeOptions, Config, NoProgress, OutputFormat, ParquetCompression};
use clientele_server::{AppState, ServeOptions, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "a-test-token-of-enough-length";

/// A demo shop (attributes, satisfaction, leads), analyzed in English and written once.
fn run_dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let mut spec = ShopSpec::new(1500, 11);
        spec.days = 500;
        let shop = generate(&spec, &tmp.path().join("shop"), &|_| {}).unwrap();
        let mut config = Config::default();
        config.source.transactions = vec![shop.transactions.clone()];
        config.source.attributes = Some(shop.attributes.clone());
        config.source.satisfaction = Some(shop.satisfaction.clone());
        config.output.lang = clientele_core::Lang::En;
        let a =
            clientele_engine::analyze(&config, &AnalyzeOptions::default(), &NoProgress).unwrap();
        let out = tmp.path().join("out");
        clientele_engine::write_outputs(
            &a,
            &out,
            OutputFormat::Parquet,
            ParquetCompression::default(),
            &[],
            &[],
        )
        .unwrap();
        (tmp, out)
    })
    .1
}

fn state(token: Option<&str>) -> AppState {
    let mut o = ServeOptions::new(vec![run_dir().to_path_buf()]);
    o.token = token.map(str::to_string);
    AppState::new(&o).unwrap()
}

async fn call(s: &AppState, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let r = router(s.clone()).oneshot(req).await.unwrap();
    let (parts, body) = r.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, bytes, parts.headers)
}

async fn get(s: &AppState, uri: &str) -> (StatusCode, Value) {
    let (st, body, _) = call(s, Request::get(uri).body(Body::empty()).unwrap()).await;
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (st, v)
}

/// `x` percent-encoded for a query string.
fn enc(x: &str) -> String {
    x.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_filtered_grade_pages_by_cursor_through_exactly_its_customers() {
    let s = state(None);
    let table = clientele_engine::read_customers(&run_dir().join("customers.parquet")).unwrap();
    let filter = "monetary > 300 AND orders >= 2";
    // the oracle: the same rows by hand, from the customer table
    let stage = table.texts("lifecycle_stage").unwrap();
    let money = table.floats("monetary").unwrap();
    let orders = table.ints("orders").unwrap();
    let mut want: Vec<(f64, String)> = (0..table.len())
        .filter(|&i| {
            stage.get(i) == Some("Active")
                && money.get(i).is_some_and(|m| m > 300.0)
                && orders.get(i).is_some_and(|o| o >= 2)
        })
        .map(|i| (money.get(i).unwrap(), table.ids().get(i).to_string()))
        .collect();
    want.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    assert!(want.len() > 60, "{}", want.len());
    // by the stage's key, sorted by money descending, 25 a page
    let mut got = Vec::new();
    let mut cursor = String::new();
    loop {
        let uri = format!(
            "/api/v1/customers?scheme=lifecycle&grade=active&where={}&sort=-monetary&limit=25&cursor={}",
            enc(filter),
            cursor
        );
        let (st, v) = get(&s, &uri).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["total"], want.len());
        for c in v["customers"].as_array().unwrap() {
            got.push(c["customer_id"].as_str().unwrap().to_string());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let want_ids: Vec<String> = want.into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, want_ids);
    // a cursor of one list is refused by another
    let (st, v) = get(
        &s,
        &format!("/api/v1/customers?scheme=lifecycle&grade=active&cursor={cursor}"),
    )
    .await;
    if !cursor.is_empty() {
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    }
}

#[tokio::test]
async fn a_customer_answers_with_every_column_and_groups_in_the_language_asked() {
    let s = state(None);
    let (_, page) = get(&s, "/api/v1/customers?limit=1&sort=-clv").await;
    let id = page["customers"][0]["customer_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, v) = get(&s, &format!("/api/v1/customers/{}?lang=zh", enc(&id))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["customer"]["customer_id"], id.as_str());
    assert!(v["customer"]["clv"].is_number());
    let stage = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["scheme"] == "lifecycle")
        .unwrap();
    // the table holds the English name; asked in Chinese, the name is Chinese
    assert!(stage["grade"].as_str().unwrap().is_ascii());
    assert!(!stage["name"].as_str().unwrap().is_ascii(), "{stage}");
    // the rule that graded them, as the run's scheme wrote it
    let behaviour = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["scheme"] == "behaviour")
        .unwrap();
    let rule = behaviour["rule"].as_str().unwrap();
    assert!(rule == "default" || rule.contains("orders"), "{behaviour}");
    assert_eq!(v["history"].as_array().unwrap().len(), 1);
    let (st, v) = get(&s, "/api/v1/customers/no-such-customer").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-customer")
    );
}

#[tokio::test]
async fn schemes_list_every_grouping_with_sizes_that_add_up() {
    let s = state(None);
    let (st, v) = get(&s, "/api/v1/schemes").await;
    assert_eq!(st, StatusCode::OK);
    let keys: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["key"].as_str().unwrap())
        .collect();
    for k in ["behaviour", "lifecycle", "value_tier", "rfm_cn8"] {
        assert!(keys.contains(&k), "{k} not in {keys:?}");
    }
    for sch in v.as_array().unwrap() {
        if sch["tags"] == false {
            let sum: u64 = sch["grades"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["customers"].as_u64().unwrap())
                .sum();
            assert_eq!(
                sum + sch["ungraded"].as_u64().unwrap(),
                1500,
                "{}",
                sch["key"]
            );
        }
    }
    let (st, g) = get(&s, "/api/v1/schemes/behaviour/grades?lang=zh").await;
    assert_eq!(st, StatusCode::OK);
    assert!(g[0]["action"].as_str().is_some_and(|a| !a.is_ascii()));
    let (st, e) = get(&s, "/api/v1/schemes/nope/grades").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(e["error"]["fix"].as_str().unwrap().contains("behaviour"));
}

#[tokio::test]
async fn bad_requests_get_a_json_message_and_a_fix_never_a_500() {
    let s = state(None);
    let long = "x".repeat(5000);
    let cases = [
        (
            "/api/v1/customers?where=monetry%20%3E%205",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/customers?where=load_file('/etc/passwd')",
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/v1/customers?where={long}") as &str,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/customers?sort=nope", StatusCode::BAD_REQUEST),
        ("/api/v1/customers?limit=0", StatusCode::BAD_REQUEST),
        ("/api/v1/customers?limit=100000", StatusCode::BAD_REQUEST),
        ("/api/v1/customers?limit=-1", StatusCode::BAD_REQUEST),
        ("/api/v1/customers?grade=VIP", StatusCode::BAD_REQUEST),
        (
            "/api/v1/customers?scheme=behaviour&grade=nope",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/customers?cursor=99999999.abcdef",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/customers/..%2F..%2Fetc%2Fpasswd",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/schemes/..%2F..%2Fsummary/grades",
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/summary?run=..%2F..", StatusCode::NOT_FOUND),
        (
            "/api/v1/export?scheme=..%2F..%2Fetc&grade=passwd",
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/export?format=xlsx", StatusCode::BAD_REQUEST),
        ("/api/v1/summary?lang=fr", StatusCode::BAD_REQUEST),
        ("/api/v1/schemes?lang=fr", StatusCode::BAD_REQUEST),
        ("/api/v1/nope", StatusCode::NOT_FOUND),
        ("/../../etc/passwd", StatusCode::NOT_FOUND),
    ];
    for (uri, want) in cases {
        let (st, v) = get(&s, uri).await;
        assert_eq!(st, want, "{uri}: {v}");
        if st != StatusCode::OK {
            let m = v["error"]["message"]
                .as_str()
                .unwrap_or_else(|| panic!("{uri}: {v}"));
            assert!(
                !m.contains("panicked") && !m.contains("internal"),
                "{uri}: {m}"
            );
            assert_eq!(v["error"]["status"], st.as_u16());
            has_chinese_twins(&v, uri);
        }
    }
}

/// An error body says its message, and its fix where it has one, in Chinese too (what a page
/// in Chinese shows).
fn has_chinese_twins(v: &Value, what: &str) {
    let e = &v["error"];
    let zh = |k: &str| {
        e[k].as_str()
            .is_some_and(|t| t.chars().any(|c| c > '\u{2E80}'))
    };
    assert!(zh("message_zh"), "{what}: no Chinese message: {v}");
    if e["fix"].is_string() {
        assert!(zh("fix_zh"), "{what}: no Chinese fix: {v}");
    }
}

#[tokio::test]
async fn a_refused_filter_or_grade_carries_its_chinese_twin_beside_the_english() {
    let s = state(None);
    let (st, v) = get(&s, "/api/v1/customers?where=monetry%20%3E%205").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let e = &v["error"];
    assert_eq!(e["message"], "filter: unknown column `monetry`");
    assert_eq!(e["fix"], "write `monetary` instead of `monetry`");
    assert_eq!(e["message_zh"], "筛选条件：列 `monetry` 不存在");
    assert_eq!(e["fix_zh"], "把 `monetry` 改为 `monetary`");
    // the run is in English: its grades are listed by their Chinese names in Chinese
    let (st, v) = get(&s, "/api/v1/customers?scheme=lifecycle&grade=nope").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let e = &v["error"];
    assert_eq!(e["message"], "no grade `nope` in scheme `lifecycle`");
    assert!(e["fix"].as_str().unwrap().contains("Active"), "{e}");
    assert_eq!(e["message_zh"], "方案 `lifecycle` 中没有等级 `nope`");
    let fix_zh = e["fix_zh"].as_str().unwrap();
    assert!(
        fix_zh.starts_with("请使用以下等级之一：") && fix_zh.contains("活跃客户"),
        "{e}"
    );
    let (st, v) = get(&s, "/api/v1/export?sort=-nope").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["message"], "filter: no column `nope` to sort by");
    assert_eq!(v["error"]["message_zh"], "排序：没有可排序的列 `nope`");
    // the document says so
    let (_, doc) = get(&s, "/openapi.json").await;
    let detail = &doc["components"]["schemas"]["ErrorDetail"]["properties"];
    for k in ["message", "fix", "message_zh", "fix_zh"] {
        assert!(detail[k].is_object(), "{k}: {detail}");
    }
}

#[tokio::test]
async fn an_export_streams_the_selection_as_excel_csv_and_as_parquet() {
    let s = state(None);
    let (_, page) = get(
        &s,
        "/api/v1/customers?scheme=behaviour&grade=regular&limit=1",
    )
    .await;
    let total = page["total"].as_u64().unwrap() as usize;
    let (st, body, h) = call(
        &s,
        Request::get("/api/v1/export?scheme=behaviour&grade=regular&sort=-monetary")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.starts_with(b"\xEF\xBB\xBF"));
    assert!(
        h[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("behaviour_regular.csv")
    );
    let mut r = csv::Reader::from_reader(&body[3..]);
    assert_eq!(r.records().count(), total);
    let (st, body, _) = call(
        &s,
        Request::get("/api/v1/export?scheme=behaviour&grade=regular&format=parquet")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.parquet");
    std::fs::write(&p, body).unwrap();
    assert_eq!(clientele_engine::read_customers(&p).unwrap().len(), total);
}

#[tokio::test]
async fn with_a_token_nothing_but_health_answers_without_it() {
    let s = state(Some(TOKEN));
    let (st, _) = get(&s, "/health").await;
    assert_eq!(st, StatusCode::OK);
    for uri in [
        "/api/v1/summary",
        "/api/v1/customers",
        "/api/v1/export",
        "/openapi.json",
        "/api/v1/customers/x",
    ] {
        let (st, v) = get(&s, uri).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(v["error"]["status"], 401);
        has_chinese_twins(&v, uri);
    }
    // pages send the browser to the login form
    let (st, _, h) = call(&s, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h[header::LOCATION], "/login");
    for bad in [
        "Bearer wrong-token-of-enough-length",
        "Basic abc",
        "Bearer ",
        TOKEN,
    ] {
        let req = Request::get("/api/v1/summary")
            .header(header::AUTHORIZATION, bad)
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&s, req).await.0, StatusCode::UNAUTHORIZED, "{bad}");
    }
    let req = Request::get("/api/v1/summary")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&s, req).await.0, StatusCode::OK);
    let req = Request::get("/api/v1/summary")
        .header(header::COOKIE, format!("a=b; clientele_token={TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&s, req).await.0, StatusCode::OK);
    // the login form sets the cookie for the right token only
    let login = |t: &str| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={}", enc(t))))
            .unwrap()
    };
    let (_, _, h) = call(&s, login(TOKEN)).await;
    assert!(h[header::SET_COOKIE].to_str().unwrap().contains("HttpOnly"));
    let (_, _, h) = call(&s, login("wrong")).await;
    assert!(h.get(header::SET_COOKIE).is_none());
}

#[test]
fn beyond_loopback_or_with_refresh_a_token_is_required() {
    let mut o = ServeOptions::new(vec![run_dir().to_path_buf()]);
    o.bind = "0.0.0.0:8750".parse().unwrap();
    let e = o.check().unwrap_err().to_string();
    assert!(e.contains("--token"), "{e}");
    o.token = Some("short".into());
    assert!(o.check().unwrap_err().to_string().contains("16"));
    o.token = Some(TOKEN.into());
    o.check().unwrap();
    let mut o = ServeOptions::new(vec![run_dir().to_path_buf()]);
    assert!(o.bind.ip().is_loopback());
    o.allow_refresh = true;
    assert!(o.check().unwrap_err().to_string().contains("token"));
    o.token = Some(TOKEN.into());
    assert!(o.check().unwrap_err().to_string().contains("--config"));
    // a folder that is not an analysis is refused by name
    let tmp = tempfile::tempdir().unwrap();
    let e = AppState::new(&ServeOptions::new(vec![tmp.path().to_path_buf()])).unwrap_err();
    assert!(e.to_string().contains("clientele-manifest.json"), "{e}");
}

#[tokio::test]
async fn a_read_only_server_refuses_to_refresh_and_bodies_are_bounded() {
    let s = state(None);
    let (st, body, _) = call(
        &s,
        Request::post("/api/v1/runs").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    has_chinese_twins(&serde_json::from_slice(&body).unwrap(), "read-only");
    let big = format!(
        "{{\"customers\": [{}]}}",
        vec!["{\"customer_id\": \"x\"}"; 400_000].join(",")
    );
    let req = Request::post("/api/v1/score")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .unwrap();
    let (st, body, _) = call(&s, req).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    has_chinese_twins(&serde_json::from_slice(&body).unwrap(), "too large");
    let req = Request::post("/api/v1/score")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let (st, body, _) = call(&s, req).await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    has_chinese_twins(&serde_json::from_slice(&body).unwrap(), "not json");
    // a customer the run's models cannot score: said in Chinese too
    let req = Request::post("/api/v1/score")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"customers\": [{\"customer_id\": 2.5}]}"))
        .unwrap();
    let (st, body, _) = call(&s, req).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["error"]["message_zh"], "评分：第 0 行：customer_id 应为字符串，而不是 2.5",
        "{v}"
    );
}

#[tokio::test]
async fn posted_customers_are_scored_as_the_run_graded_them() {
    let s = state(None);
    let (_, page) = get(&s, "/api/v1/customers?limit=50&sort=-monetary").await;
    let customers = page["customers"].clone();
    let body = serde_json::json!({"customers": customers}).to_string();
    let req = Request::post("/api/v1/score")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let (st, body, _) = call(&s, req).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(st, StatusCode::OK, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 50);
    for (r, c) in results.iter().zip(customers.as_array().unwrap()) {
        assert_eq!(r["customer_id"], c["customer_id"]);
        assert_eq!(r["grades"]["behaviour"], c["grade_behaviour"], "{r}");
        assert_eq!(r["lifecycle_stage"], c["lifecycle_stage"], "{r}");
    }
}

#[tokio::test]
async fn the_openapi_document_names_every_route_and_resolves_every_reference() {
    let s = state(None);
    let (st, doc) = get(&s, "/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/health",
        "/api/v1/summary",
        "/api/v1/schemes",
        "/api/v1/schemes/{scheme}/grades",
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/score",
        "/api/v1/runs",
        "/api/v1/alerts",
        "/api/v1/export",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p}");
    }
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"").skip(1) {
        let target = &r[..r.find('"').unwrap()];
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "{target}");
    }
    let params: Vec<&str> = doc["paths"]["/api/v1/customers"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in ["scheme", "grade", "where", "sort", "limit", "cursor"] {
        assert!(params.contains(&p), "{p}: {params:?}");
    }
}
