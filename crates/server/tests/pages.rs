//! The dashboard's pages through the router, without a socket, over a real run (the demo shop
//! in Chinese, with a previous run, history and alerts; `browser/fixture.rs`): every page in
//! both languages names groups in that language only; the list filters, sorts, pages and
//! exports; errors show the engine's message and fix; hostile query strings never fail the
//! server.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clientele_core::Lang;
use clientele_engine::Vocabulary;
use clientele_server::{AppState, ServeOptions, router};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[path = "browser/fixture.rs"]
mod fixture;

fn state() -> AppState {
    let f = fixture::fixture();
    AppState::new(&ServeOptions::new(vec![f.out.clone(), f.prev.clone()])).expect("serve")
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn get(s: &AppState, uri: &str) -> Answer {
    let r = router(s.clone())
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("an answer");
    let (parts, body) = r.into_parts();
    let body = body.collect().await.expect("body").to_bytes().to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// HTML text as written in an attribute or a text node, back to plain text.
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `href` of the element with `id` in `html`.
fn href_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find("href=\"")? + "href=\"".len();
    let end = rest[start..].find('"')?;
    Some(unescape(&rest[start..start + end]))
}

/// Every link in `html` (hrefs, unescaped).
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(unescape)
        .collect()
}

/// The text of the element with `id` up to the next tag.
fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(unescape(&rest[start..start + end]))
}

/// The total a list page shows (`data-total`).
fn total_of(html: &str) -> usize {
    let at = html.find("data-total=\"").expect("a list") + "data-total=\"".len();
    html[at..at + html[at..].find('"').expect("end")]
        .parse()
        .expect("a number")
}

/// Group names of `lang` that differ from the other language's, as the pages would show
/// them in text (`>name<`).
fn names_in(lang: Lang) -> Vec<String> {
    Vocabulary::of(&fixture::fixture().summary)
        .labels()
        .filter(|l| l.zh != l.en)
        .map(|l| l.name(lang).to_string())
        .collect()
}

/// The pages a person visits, for a run whose groupings are `keys`.
fn every_page(keys: &[String], id: &str) -> Vec<String> {
    let mut v = vec![
        "/".to_string(),
        "/customers".into(),
        "/customers?scheme=lifecycle&grade=at_risk".into(),
        "/customers?scheme=rfm_cn8&grade=important_value&sort=-monetary".into(),
        "/customers?where=monetary%20%3E%20500%20AND%20orders%20%3E%3D%203&cols=all".into(),
        format!("/customers/{id}"),
        format!("/customers/{id}?run=prev"),
        "/trends".into(),
        "/cohorts".into(),
        "/migration".into(),
        "/?run=prev".into(),
    ];
    v.extend(keys.iter().map(|k| format!("/schemes/{k}")));
    v
}

fn a_customer() -> String {
    let f = fixture::fixture();
    f.summary
        .top_customers
        .first()
        .map(|c| c.customer_id.clone())
        .expect("a top customer")
}

#[tokio::test]
async fn every_page_answers_in_both_languages_and_names_groups_in_that_language_only() {
    let s = state();
    let keys: Vec<String> = s.library.runs()[0]
        .groupings
        .iter()
        .map(|g| g.key.clone())
        .collect();
    assert!(keys.len() >= 8, "{keys:?}");
    let id = a_customer();
    for (lang, other) in [(Lang::Zh, Lang::En), (Lang::En, Lang::Zh)] {
        let foreign = names_in(other);
        assert!(foreign.len() > 20, "{foreign:?}");
        for page in every_page(&keys, &id) {
            let sep = if page.contains('?') { '&' } else { '?' };
            let uri = format!("{page}{sep}lang={lang}");
            let a = get(&s, &uri).await;
            let html = a.text();
            assert_eq!(a.status, StatusCode::OK, "{uri}: {html}");
            let ct = a.headers[header::CONTENT_TYPE].to_str().expect("ascii");
            assert!(ct.starts_with("text/html"), "{uri}: {ct}");
            let want = if lang == Lang::Zh { "zh-CN" } else { "en" };
            assert!(html.contains(&format!("<html lang=\"{want}\">")), "{uri}");
            for name in &foreign {
                assert!(
                    !html.contains(&format!(">{name}<")),
                    "{uri}: a group named in {other}: {name}"
                );
            }
            // the switch leads to the same page in the other language
            let switch = href_of(&html, "lang-switch").expect("a language switch");
            assert!(switch.contains(&format!("lang={other}")), "{uri}: {switch}");
            assert!(
                switch.starts_with(page.split('?').next().expect("a path")),
                "{uri}: {switch}"
            );
        }
    }
}

#[tokio::test]
async fn pages_default_to_the_run_language_and_keep_the_run_in_links() {
    let s = state();
    let a = get(&s, "/").await;
    assert!(a.text().contains("<html lang=\"zh-CN\">"));
    let a = get(&s, "/customers?run=prev&lang=en").await;
    let html = a.text();
    for l in links(&html) {
        if l.starts_with("/customers") || l.starts_with("/trends") || l.starts_with("/schemes") {
            assert!(l.contains("run=prev"), "{l}");
            assert!(l.contains("lang=en") || l.contains("lang=zh"), "{l}");
        }
    }
    // both runs are offered
    assert!(
        html.contains(">out · ") && html.contains(">prev · "),
        "{html}"
    );
}

#[tokio::test]
async fn the_chart_pages_show_the_report_sections_with_the_report_script() {
    let s = state();
    for (page, ids) in [
        ("/trends", &["trends", "history"][..]),
        ("/cohorts", &["cohorts"][..]),
        ("/migration", &["migration"][..]),
    ] {
        for lang in ["zh", "en"] {
            let html = unescape(&get(&s, &format!("{page}?lang={lang}")).await.text());
            for id in ids {
                assert!(
                    html.contains(&format!("<section id=\"{id}\" class=\"section\">")),
                    "{page}: no section {id}"
                );
            }
            assert!(html.contains("<script type=\"application/json\" id=\"data\">"));
            assert!(html.contains("/assets/app.js?v="), "{page}");
            if clientele_report::CHARTS_EMBEDDED {
                assert!(html.contains("/assets/echarts.min.js?v="), "{page}");
                assert!(html.contains("class=\"chart\""), "{page}");
            }
        }
    }
    // the assets are the report's own
    let a = get(&s, "/assets/app.js").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text(), clientele_report::assets::APP_JS);
    assert!(
        a.headers[header::CACHE_CONTROL]
            .to_str()
            .expect("ascii")
            .contains("immutable")
    );
    let a = get(&s, "/assets/report.css").await;
    assert_eq!(a.text(), clientele_report::assets::CSS);
    assert_eq!(
        get(&s, "/assets/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&s, "/assets/..%2F..%2Fetc%2Fpasswd").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_overview_lists_alerts_next_steps_and_every_grouping() {
    let s = state();
    let html = get(&s, "/?lang=en").await.text();
    let f = fixture::fixture();
    assert!(html.contains("id=\"alerts\""));
    // the alerts compare with the run kept in history/
    assert!(
        html.contains("2025-09-30"),
        "no comparison date in the alerts"
    );
    let alerts = s.refresher.latest().expect("alerts from history/");
    for a in &alerts.alerts {
        assert!(
            html.contains(&unescape_to_html(a.message.text(Lang::En))),
            "{a:?}"
        );
    }
    for step in &f.summary.next_steps {
        assert!(
            html.contains(&format!(">{}<", html_escape(&step.name_en))),
            "{step:?}"
        );
    }
    let all = links(&html);
    for g in &s.library.runs()[0].groupings {
        let to = format!("/schemes/{}?lang=en", g.key);
        assert!(all.contains(&to), "{to}");
    }
    // the report's KPI tiles
    assert!(html.contains("class=\"kpis n"));
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn unescape_to_html(s: &str) -> String {
    html_escape(s)
}

#[tokio::test]
async fn a_scheme_page_links_each_grade_to_its_list_and_export() {
    let s = state();
    let run = &s.library.runs()[0];
    let g = run.grouping("behaviour").expect("the behaviour grading");
    let html = get(&s, "/schemes/behaviour?lang=en").await.text();
    let all = links(&html);
    for x in &g.summary.grades {
        let name = run.vocab.name(&g.grouping(), &x.grade, Lang::En);
        assert!(
            html.contains(&format!(">{}<", html_escape(&name))),
            "{name}"
        );
        let enc: String = x
            .grade
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert!(
            all.iter().any(|l| l.starts_with("/customers?")
                && l.contains("scheme=behaviour")
                && l.contains(&format!("grade={enc}"))),
            "no list link for {}",
            x.grade
        );
        assert!(
            all.iter().any(|l| l.starts_with("/api/v1/export?")
                && l.contains(&format!("grade={enc}"))
                && l.contains("format=parquet")),
            "no export link for {}",
            x.grade
        );
    }
    assert_eq!(get(&s, "/schemes/nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_list_pages_through_a_selection_and_exports_all_of_it() {
    let s = state();
    let first = get(&s, "/customers?lang=en&sort=-monetary").await;
    assert_eq!(first.status, StatusCode::OK);
    let html = first.text();
    let total = total_of(&html);
    assert_eq!(total, s.library.runs()[0].table().len());
    // the largest spender first, as the API orders them
    let api = get(&s, "/api/v1/customers?sort=-monetary&limit=1")
        .await
        .text();
    let top: serde_json::Value = serde_json::from_str(&api).expect("json");
    let top_id = top["customers"][0]["customer_id"].as_str().expect("an id");
    let first_row = html.find("<td class=\"id\">").expect("a row");
    assert!(html[first_row..].starts_with(&format!(
        "<td class=\"id\"><a href=\"&#x2f;customers&#x2f;{top_id}"
    )));
    assert!(
        html.contains("class=\"num desc\""),
        "the sorted column is marked"
    );
    // next, next, then back
    let next = href_of(&html, "next").expect("a next page");
    let second = get(&s, &next).await.text();
    assert!(text_of(&second, "total").expect("total").contains("51–100"));
    let third = get(&s, &href_of(&second, "next").expect("next"))
        .await
        .text();
    assert!(text_of(&third, "total").expect("total").contains("101–150"));
    let back = get(&s, &href_of(&third, "prev").expect("prev"))
        .await
        .text();
    assert_eq!(text_of(&back, "total"), text_of(&second, "total"));
    let back = get(&s, &href_of(&back, "prev").expect("prev")).await.text();
    assert_eq!(text_of(&back, "total"), text_of(&html, "total"));
    assert!(href_of(&back, "prev").is_none());

    // a filtered group, exported as CSV with a BOM and one line per customer
    let uri = "/customers?lang=en&scheme=lifecycle&grade=active&where=monetary%20%3E%20300";
    let html = get(&s, uri).await.text();
    let total = total_of(&html);
    assert!(total > 0 && total < 2000, "{total}");
    let csv = href_of(&html, "export-csv").expect("an export link");
    assert!(csv.starts_with("/api/v1/export?"), "{csv}");
    let a = get(&s, &csv).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    let lines = a.text().lines().filter(|l| !l.is_empty()).count();
    assert_eq!(lines, total + 1, "header + one line per customer");
    let pq = href_of(&html, "export-parquet").expect("a parquet link");
    let a = get(&s, &pq).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.starts_with(b"PAR1"));
}

#[tokio::test]
async fn the_id_search_and_columns_follow_the_query() {
    let s = state();
    let id = a_customer();
    let prefix = &id[..id.len() - 1];
    let html = get(&s, &format!("/customers?q={prefix}")).await.text();
    let total = total_of(&html);
    assert!((1..=10).contains(&total), "{total}");
    assert!(html.contains(&format!(">{id}<")));
    // a filter's columns are shown; all columns on request
    let html = get(&s, "/customers?where=income%20%3E%200").await.text();
    assert!(html.contains("data-col=\"income\""));
    let html = get(&s, "/customers?cols=all").await.text();
    for c in s.library.runs()[0].table().columns() {
        assert!(
            html.contains(&format!("data-col=\"{}\"", c.name)),
            "{}",
            c.name
        );
    }
}

#[tokio::test]
async fn a_bad_filter_shows_the_engine_message_and_fix_as_400() {
    let s = state();
    let a = get(&s, "/customers?lang=en&where=monetry%20%3E%20500").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let html = a.text();
    assert!(
        html.contains("unknown column <code>monetry</code>"),
        "{html}"
    );
    assert!(
        html.contains("write <code>monetary</code> instead of <code>monetry</code>"),
        "{html}"
    );
    // the filter stays in its box to be fixed
    assert!(html.contains("value=\"monetry &gt; 500\""), "{html}");
    assert!(html.contains("role=\"alert\""));
    let a = get(&s, "/customers?lang=en&sort=nope").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("no column <code>nope</code> to sort by"));
    // the refused order stays chosen in its box, as the filter does
    assert!(
        a.text()
            .contains("<option value=\"nope\" selected>nope (cannot sort)</option>"),
        "{}",
        a.text()
    );
    let a = get(&s, "/customers?lang=en&scheme=behaviour&grade=nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.text().contains("use one of"));
}

/// The English an error page must not show in Chinese: the engine's and the server's words.
const ENGLISH: &[&str] = &[
    "unknown column",
    "instead of",
    "to sort by",
    "no grade",
    "no scheme",
    "use one of",
    "in this run",
    "Bad Request",
    "Not Found",
    "cursor is",
    "no customer",
    "What to do",
];

#[tokio::test]
async fn a_page_in_chinese_shows_a_refused_filter_grade_or_sort_in_chinese() {
    let s = state();
    // the run is in Chinese: its pages are, unless asked otherwise
    let a = get(&s, "/customers?where=monetry%20%3E%20500").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let html = unescape(&a.text());
    assert!(
        html.contains("筛选条件：列 <code>monetry</code> 不存在"),
        "{html}"
    );
    assert!(
        html.contains("解决办法：</b>把 <code>monetry</code> 改为 <code>monetary</code>"),
        "{html}"
    );
    assert!(html.contains("role=\"alert\""));
    let cases = [
        (
            "/customers?lang=zh&sort=-nope",
            StatusCode::BAD_REQUEST,
            "排序：没有可排序的列 <code>nope</code>",
        ),
        (
            "/customers?lang=zh&scheme=behaviour&grade=nope",
            StatusCode::NOT_FOUND,
            "方案 <code>behaviour</code> 中没有等级 <code>nope</code>",
        ),
        (
            "/customers?lang=zh&cursor=999999999.x",
            StatusCode::BAD_REQUEST,
            "这个 cursor 不属于此列表的任何一页",
        ),
        (
            "/schemes/nope?lang=zh",
            StatusCode::NOT_FOUND,
            "本次运行没有方案 <code>nope</code>",
        ),
        (
            "/customers/NOPE-123?lang=zh",
            StatusCode::NOT_FOUND,
            "中没有客户 <code>NOPE-123</code>",
        ),
        (
            "/?lang=fr",
            StatusCode::BAD_REQUEST,
            "请使用 lang=zh 或 lang=en",
        ),
    ];
    for (uri, status, says) in cases {
        let a = get(&s, uri).await;
        assert_eq!(a.status, status, "{uri}");
        let html = unescape(&a.text());
        assert!(html.contains(says), "{uri}: {html}");
        for en in ENGLISH {
            assert!(!html.contains(en), "{uri}: `{en}` in {html}");
        }
    }
    // the same error in English on an English page
    let html = unescape(&get(&s, "/schemes/nope?lang=en").await.text());
    assert!(
        html.contains("404 Not Found") && html.contains("no scheme <code>nope</code> in this run")
    );
    assert!(html.contains("What to do:</b> use one of: "), "{html}");
}

#[tokio::test]
async fn unknown_things_are_404_and_bad_settings_400() {
    let s = state();
    let a = get(&s, "/customers/NOPE-123?lang=en").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.text().contains("no customer <code>NOPE-123</code>"));
    assert_eq!(get(&s, "/?run=nope").await.status, StatusCode::NOT_FOUND);
    // a language it does not know is said in the run's (Chinese)
    let a = get(&s, "/?lang=fr").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("lang=zh 或 lang=en"));
}

#[tokio::test]
async fn a_customer_page_shows_every_metric_each_group_and_the_history() {
    let s = state();
    let id = a_customer();
    let run = &s.library.runs()[0];
    let html = get(&s, &format!("/customers/{id}?lang=en")).await.text();
    for c in run.table().columns() {
        if clientele_core::columns::Grouping::is_grouping_column(&c.name) {
            continue;
        }
        assert!(
            html.contains(&format!("title=\"{}\"", c.name)),
            "metric {} missing",
            c.name
        );
    }
    let all = links(&html);
    for g in &run.groupings {
        let to = format!("/schemes/{}?lang=en", g.key);
        assert!(all.contains(&to), "{to}");
    }
    // both served runs, the earlier first
    let a = html.find(">2025-09-30<").expect("the earlier run");
    let b = html
        .rfind(&format!(">{}<", run.run.summary.as_of))
        .expect("this run");
    assert!(a < b);
}

#[tokio::test]
async fn hostile_query_strings_never_fail_the_server() {
    let s = state();
    let long = "monetary%20%3E%201%20OR%20".repeat(400);
    let cases = [
        "/customers?where=%27".to_string(),
        "/customers?where=%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        "/customers?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        "/customers?scheme=%3Cscript%3E&grade=x".into(),
        "/customers?sort=%3Cscript%3E".into(),
        "/customers?grade=only".into(),
        "/customers?where=../../etc/passwd".into(),
        "/customers?run=../../etc/passwd".into(),
        "/customers/..%2F..%2Fetc%2Fpasswd".into(),
        "/customers/%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        "/schemes/..%2F..%2Fetc%2Fpasswd".into(),
        "/schemes/%3Cscript%3E".into(),
        format!("/customers?where={long}"),
        "/customers?where=%FF%FE%C3%28".into(),
        "/customers?where=%".into(),
        "/customers?where=%E4%B8".into(),
        "/customers/%FF%FE".into(),
        "/schemes/%FF".into(),
        "/customers?cursor=999999999999999999999.abc".into(),
        "/customers?cursor=18446744073709551615.000000000000".into(),
        "/customers?cursor=-1".into(),
        "/customers?lang=%3Cscript%3E".into(),
        "/trends?lang=%FF".into(),
        "/?run=%3Cscript%3E".into(),
        "/customers?where=&sort=&q=&cursor=&scheme=&grade=&lang=&run=".into(),
        "/customers?where=monetary&where=orders".into(),
        "/customers?=&&&=x&where".into(),
    ];
    for uri in &cases {
        let a = get(&s, uri).await;
        let html = a.text();
        assert!(
            a.status.is_success() || a.status.is_client_error(),
            "{uri}: {} {html}",
            a.status
        );
        assert!(!html.contains("<script>alert"), "{uri}: unescaped");
        assert!(!html.contains("<script>"), "{uri}: a script element");
        assert!(!html.contains("panicked"), "{uri}");
    }
    // a cursor carrying this list's fingerprint but an offset past its end
    let html = get(&s, "/customers").await.text();
    let next = href_of(&html, "next").expect("next");
    let fp = next.split("cursor=").nth(1).expect("a cursor");
    let fp = fp
        .split('&')
        .next()
        .expect("cursor")
        .split("%2E")
        .nth(1)
        .or_else(|| fp.split('.').nth(1))
        .expect("fingerprint");
    let a = get(&s, &format!("/customers?cursor=18446744073709551615.{fp}")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
}

#[tokio::test]
async fn login_sets_the_cookie_and_pages_ask_for_it() {
    let f = fixture::fixture();
    let token = "a-dashboard-test-token-long-enough";
    let mut o = ServeOptions::new(vec![f.out.clone()]);
    o.token = Some(token.into());
    let s = AppState::new(&o).expect("serve");
    let a = get(&s, "/").await;
    assert!(a.status.is_redirection());
    assert_eq!(a.headers[header::LOCATION], "/login");
    let a = get(&s, "/login").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("name=\"token\""));
    let r = router(s.clone())
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("token={token}")))
                .expect("request"),
        )
        .await
        .expect("answer");
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let pair = cookie.split(';').next().expect("name=value").to_string();
    let r = router(s.clone())
        .oneshot(
            Request::get("/customers")
                .header(header::COOKIE, pair)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::OK);
}
