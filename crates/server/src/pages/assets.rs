//! The pages' stylesheets and scripts, served from memory: the report's stylesheet, script and
//! ECharts (the same bytes the report embeds) and the dashboard's own stylesheet. URLs carry a
//! digest of the content (`?v=…`), so browsers may keep them for good.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::Digest;

use crate::ApiError;

const DASHBOARD_CSS: &str = include_str!("../../templates/dashboard.css");

/// Name, content type, content.
const FILES: &[(&str, &str, &str)] = &[
    (
        "report.css",
        "text/css; charset=utf-8",
        clientele_report::assets::CSS,
    ),
    ("dashboard.css", "text/css; charset=utf-8", DASHBOARD_CSS),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        clientele_report::assets::APP_JS,
    ),
    (
        "echarts.min.js",
        "text/javascript; charset=utf-8",
        clientele_report::ECHARTS_JS,
    ),
];

/// Each file's URL with its digest.
static URLS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, _, text)| {
            let d = sha2::Sha256::digest(text.as_bytes());
            let v: String = d[..6].iter().map(|b| format!("{b:02x}")).collect();
            (*name, format!("/assets/{name}?v={v}"))
        })
        .collect()
});

/// The URL of an asset.
pub(super) fn url(name: &str) -> String {
    URLS.iter()
        .find(|(n, _)| *n == name)
        .map_or_else(|| format!("/assets/{name}"), |(_, u)| u.clone())
}

/// The URLs templates link to; `echarts` is null when this build has no ECharts.
pub(super) fn urls() -> Value {
    json!({
        "report_css": url("report.css"),
        "dashboard_css": url("dashboard.css"),
        "app_js": url("app.js"),
        "echarts": (clientele_report::CHARTS_EMBEDDED && !clientele_report::ECHARTS_JS.is_empty())
            .then(|| url("echarts.min.js")),
    })
}

pub(super) async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == file) {
        Some((_, kind, text)) if !text.is_empty() => {
            let mut r = (StatusCode::OK, *text).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            r
        }
        _ => ApiError::not_found("no such file")
            .zh("没有这个文件")
            .into_response(),
    }
}
