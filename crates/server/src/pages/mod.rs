//! The dashboard: server-rendered pages over the same state the API reads. Each page takes a
//! served run and renders what it holds: the groupings' sizes and value, the typed summary,
//! a selection of customers, one customer, the latest alerts; the trends, cohorts and
//! migration pages show the report's own sections, drawn by the report's script (shared through
//! [`clientele_report::render_sections`] and [`clientele_report::assets`]). Nothing here
//! computes a number.
//!
//! Every page takes `?run=` and `?lang=zh|en` (default: the run's language) and names every
//! group, column and label in that one language. Query strings are read leniently (any bytes
//! decode), and anything the engine refuses (a filter, a sort, a cursor) is shown on the page
//! with its fix, as a 4xx, never as a failure of the server.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use clientele_core::Lang;
use minijinja::{Environment, UndefinedBehavior};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::COOKIE;
use crate::state::{Served, clip, clip_zh};
use crate::{ApiError, AppState};

mod assets;
mod charts;
mod customer;
mod customers;
mod labels;
mod overview;
mod schemes;

pub(crate) use labels::Labels;

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/schemes/{key}", get(schemes::page))
        .route("/customers", get(customers::page))
        .route("/customers/{id}", get(customer::page))
        .route("/trends", get(charts::trends))
        .route("/cohorts", get(charts::cohorts))
        .route("/migration", get(charts::migration))
        .route("/assets/{file}", get(assets::serve))
        .route("/login", get(login_form).post(login))
}

/// The templates, embedded. Names ending in `.html` are escaped for HTML.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.add_filter("code_spans", |text: &str| code_spans(text));
    for (name, text) in [
        ("layout.html", include_str!("../../templates/layout.html")),
        (
            "overview.html",
            include_str!("../../templates/overview.html"),
        ),
        ("scheme.html", include_str!("../../templates/scheme.html")),
        (
            "customers.html",
            include_str!("../../templates/customers.html"),
        ),
        (
            "customer.html",
            include_str!("../../templates/customer.html"),
        ),
        ("charts.html", include_str!("../../templates/charts.html")),
        ("error.html", include_str!("../../templates/error.html")),
        ("login.html", include_str!("../../templates/login.html")),
    ] {
        // a template that does not parse fails every test that renders it
        if let Err(e) = env.add_template(name, text) {
            eprintln!("clientele serve: template {name}: {e}");
        }
    }
    env
});

/// `text` as HTML with its spans in backticks as code: messages quote columns, filters and
/// flags that way, which a page shows as code rather than as backticks. Escaped first; a
/// backtick without its pair stays as written.
fn code_spans(text: &str) -> minijinja::Value {
    use std::fmt::Write as _;
    let pieces: Vec<&str> = text.split('`').collect();
    let last = pieces.len() - 1;
    let mut html = String::with_capacity(text.len() + 16);
    for (i, piece) in pieces.iter().enumerate() {
        let piece = minijinja::HtmlEscape(piece);
        // writing to a String cannot fail
        let _ = match (i % 2 == 1, i < last) {
            (true, true) => write!(html, "<code>{piece}</code>"),
            (true, false) => write!(html, "`{piece}"),
            (false, _) => write!(html, "{piece}"),
        };
    }
    minijinja::Value::from_safe_string(html)
}

/// The query string as pairs, decoded leniently: `+` is a space, a `%` escape that is not
/// one stays as written, and bytes that are not UTF-8 become U+FFFD. Nothing is refused.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(raw: Option<&str>) -> Params {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (decode(k), decode(v))
            })
            .collect();
        Params(pairs)
    }

    /// The first value of `key`, unless empty.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `key` as owned text, unless empty.
    pub(crate) fn owned(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_string)
    }

    /// These parameters with `key` set to `value` (or removed when `None`).
    pub(crate) fn with(&self, key: &str, value: Option<&str>) -> Params {
        let mut out: Vec<(String, String)> =
            self.0.iter().filter(|(k, _)| k != key).cloned().collect();
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push((key.to_string(), v.to_string()));
        }
        Params(out)
    }

    /// `path` with these parameters (empty ones left out, each key once).
    pub(crate) fn href(&self, path: &str) -> String {
        let mut seen: Vec<&str> = Vec::new();
        let mut q = String::new();
        for (k, v) in &self.0 {
            if v.is_empty() || seen.contains(&k.as_str()) {
                continue;
            }
            seen.push(k);
            q.push(if q.is_empty() { '?' } else { '&' });
            q.push_str(&encode(k));
            q.push('=');
            q.push_str(&encode(v));
        }
        format!("{path}{q}")
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encodes all but the unreserved characters of RFC 3986.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What every page knows: the run, the language, the query it was asked with.
pub(crate) struct Ctx {
    pub state: AppState,
    pub run: Arc<Served>,
    pub lang: Lang,
    pub params: Params,
    /// The page's path, for links that keep the query (the language switch).
    pub path: String,
    pub l: Labels,
}

impl Ctx {
    /// The run and language a request asks for; a bad `run` or `lang` is an error page in
    /// the primary run's language.
    pub(crate) fn of(
        state: &AppState,
        raw_query: Option<&str>,
        path: &str,
    ) -> Result<Ctx, Box<Response>> {
        let params = Params::parse(raw_query);
        let run = state.library.run(params.get("run")).map_err(|e| {
            let lang = state.library.run(None).map_or(Lang::En, |r| r.lang());
            Box::new(bare_error(lang, &e))
        })?;
        let lang = match params.get("lang") {
            None => run.lang(),
            Some(l) => l.parse::<Lang>().map_err(|_| {
                let e = ApiError::bad_request(format!("unknown language `{}`", clip(l)))
                    .fix("use lang=zh or lang=en")
                    .zh(format!("未知的语言 `{}`", clip_zh(l)))
                    .fix_zh("请使用 lang=zh 或 lang=en");
                Box::new(bare_error(run.lang(), &e))
            })?,
        };
        Ok(Ctx {
            state: state.clone(),
            run,
            lang,
            params,
            path: path.to_string(),
            l: Labels::new(lang),
        })
    }

    /// A link to `path` on this run in this language, with `extra` parameters.
    pub(crate) fn href(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut p = Params::default()
            .with("run", self.params.get("run"))
            .with("lang", self.params.get("lang"));
        for (k, v) in extra {
            p = p.with(k, Some(v));
        }
        p.href(path)
    }

    /// A link to a customer list.
    pub(crate) fn list_href(&self, scheme: &str, grade: Option<&str>) -> String {
        let mut extra = vec![("scheme", scheme)];
        if let Some(g) = grade {
            extra.push(("grade", g));
        }
        self.href("/customers", &extra)
    }

    /// The name of a group of `grouping_key` in the page's language.
    pub(crate) fn group_name(&self, grouping_key: &str, text: &str) -> String {
        let g = clientele_core::columns::Grouping::of_key(grouping_key);
        self.run.vocab.name(&g, text, self.lang)
    }

    /// Renders `template` with the page's own values into the layout: `title`, the current
    /// nav item, `status`, and optionally report sections with charts.
    pub(crate) fn render(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        nav: &str,
        page: Value,
        charts: Option<&Value>,
    ) -> Response {
        let mut ctx = self.common(title, nav);
        if let Value::Object(m) = page {
            ctx.extend(m);
        }
        let body = match render_template(template, &Value::Object(ctx.clone())) {
            Ok(b) => b,
            Err(e) => return internal(self.lang, &e),
        };
        ctx.insert("body".into(), Value::String(body));
        if let Some(data) = charts {
            ctx.insert("charts".into(), Value::Bool(true));
            ctx.insert(
                "data_json".into(),
                Value::String(clientele_report::script_json(data)),
            );
        } else {
            ctx.insert("charts".into(), Value::Bool(false));
        }
        match render_template("layout.html", &Value::Object(ctx)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => internal(self.lang, &e),
        }
    }

    /// An error on the page: its message and fix, in the layout.
    pub(crate) fn error(&self, e: &ApiError) -> Response {
        let title = self.l.t("err.title");
        self.render(
            e.status,
            "error.html",
            &title,
            "",
            json!({"error": error_json(e, self.lang)}),
            None,
        )
    }

    /// Values the layout and every page read.
    fn common(&self, title: &str, current: &str) -> Map<String, Value> {
        let s = &self.run.run.summary;
        let nav: Vec<Value> = [
            ("overview", "/"),
            ("customers", "/customers"),
            ("trends", "/trends"),
            ("cohorts", "/cohorts"),
            ("migration", "/migration"),
        ]
        .iter()
        .map(|(key, path)| {
            json!({
                "label": self.l.t(&format!("nav.{key}")),
                "href": self.href(path, &[]),
                "current": *key == current,
            })
        })
        .collect();
        let other = match self.lang {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        };
        let switch_href = self
            .params
            .with("lang", Some(other.code()))
            .href(&self.path);
        let switch = json!({
            "href": switch_href,
            "label": self.l.t("switch"),
            "lang": if other == Lang::Zh { "zh-CN" } else { "en" },
        });
        let runs: Vec<Value> = self
            .state
            .library
            .runs()
            .iter()
            .map(|r| {
                let href = Params::default()
                    .with("run", Some(&r.name))
                    .with("lang", self.params.get("lang"))
                    .href("/");
                json!({
                    "name": r.name,
                    "as_of": r.run.summary.as_of.to_string(),
                    "href": href,
                    "current": r.name == self.run.name,
                })
            })
            .collect();
        let mut m = Map::new();
        m.insert("lang".into(), json!(self.lang.code()));
        m.insert("T".into(), self.l.table());
        m.insert("title".into(), json!(title));
        m.insert("nav".into(), json!(nav));
        m.insert("switch".into(), switch);
        m.insert("runs".into(), json!(runs));
        let customers = clientele_report::number::int(self.run.table().len() as f64);
        let meta = [
            self.l.tf("meta.as_of", &[("v", s.as_of.to_string())]),
            self.l.tf("meta.customers", &[("v", customers)]),
            self.l.tf("meta.run", &[("v", self.run.name.clone())]),
        ];
        m.insert(
            "run".into(),
            json!({"name": self.run.name, "as_of": s.as_of.to_string(), "meta": meta}),
        );
        m.insert("home".into(), json!(self.href("/", &[])));
        m.insert("assets".into(), assets::urls());
        m
    }
}

fn render_template(name: &str, ctx: &Value) -> Result<String, minijinja::Error> {
    TEMPLATES.get_template(name)?.render(ctx)
}

/// An error as the error template shows it, in the page's language.
fn error_json(e: &ApiError, lang: Lang) -> Value {
    let reason = match lang {
        Lang::Zh => status_zh(e.status),
        Lang::En => e.status.canonical_reason().unwrap_or(""),
    };
    json!({
        "status": e.status.as_u16(),
        "reason": reason,
        "message": e.message_in(lang),
        "fix": e.fix_in(lang),
    })
}

/// The reason phrase of the statuses a page shows, in Chinese (none for others: the code
/// alone).
fn status_zh(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "请求有误",
        StatusCode::UNAUTHORIZED => "需要令牌",
        StatusCode::FORBIDDEN => "禁止访问",
        StatusCode::NOT_FOUND => "未找到",
        StatusCode::PAYLOAD_TOO_LARGE => "内容过大",
        StatusCode::INTERNAL_SERVER_ERROR => "服务器出错",
        _ => "",
    }
}

/// An error page without a run to lay it out in (the run or language asked for is unknown).
fn bare_error(lang: Lang, e: &ApiError) -> Response {
    let l = Labels::new(lang);
    let ctx = json!({
        "lang": lang.code(),
        "T": l.table(),
        "error": error_json(e, lang),
        "home": "/",
    });
    match render_template("error.html", &ctx) {
        Ok(body) => {
            let page = format!(
                "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\
                 <link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"{}\">\
                 <link rel=\"stylesheet\" href=\"{}\"></head>\
                 <body class=\"dash\"><main>{body}</main></body></html>",
                if lang == Lang::Zh { "zh-CN" } else { "en" },
                minijinja_escape(&l.t("err.title")),
                assets::url("report.css"),
                assets::url("dashboard.css"),
            );
            (e.status, Html(page)).into_response()
        }
        Err(err) => internal(lang, &err),
    }
}

fn minijinja_escape(s: &str) -> String {
    minijinja::HtmlEscape(s).to_string()
}

/// 500: logged; the page says only that the server failed.
fn internal(lang: Lang, e: &dyn std::fmt::Display) -> Response {
    let e = ApiError::internal(e);
    let l = Labels::new(lang);
    (
        e.status,
        Html(format!(
            "<!DOCTYPE html><meta charset=\"utf-8\"><title>clientele</title><p>{}</p>",
            minijinja_escape(&l.t("err.internal"))
        )),
    )
        .into_response()
}

/// An error for a request whose text the server cannot use at all: `what` it is, and the
/// message in Chinese.
pub(crate) fn bad_text(what: &str, zh: &str) -> ApiError {
    ApiError::bad_request(format!("{what} is not readable text")).zh(zh)
}

async fn login_form(State(s): State<AppState>) -> Response {
    let lang = s.library.run(None).map_or(Lang::En, |r| r.lang());
    let l = Labels::new(lang);
    let ctx = json!({"lang": lang.code(), "T": l.table()});
    match render_template("login.html", &ctx) {
        Ok(html) => Html(html).into_response(),
        Err(e) => internal(lang, &e),
    }
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

async fn login(State(s): State<AppState>, Form(f): Form<Login>) -> Response {
    match &s.token {
        Some(t) if t.matches(&f.token) => {
            let mut r = Redirect::to("/").into_response();
            let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", f.token);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Some(_) => Redirect::to("/login").into_response(),
        None => Redirect::to("/").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_spans_become_code_and_everything_is_escaped() {
        let html = |t: &str| code_spans(t).to_string();
        assert_eq!(
            html("unknown column `monetry`; write `monetary`"),
            "unknown column <code>monetry</code>; write <code>monetary</code>"
        );
        assert_eq!(
            html("filter `a<b & \"c\"` <script>"),
            "filter <code>a&lt;b &amp; &quot;c&quot;</code> &lt;script&gt;"
        );
        // a backtick without its pair stays as written, and nothing is lost
        assert_eq!(html("`a` and `b"), "<code>a</code> and `b");
        assert_eq!(html("``"), "<code></code>");
        assert_eq!(html(""), "");
    }

    #[test]
    fn query_strings_decode_leniently() {
        let p = Params::parse(Some("a=1+2&b=%E4%B8%AD&c=%ZZ&d=%&e=%C3%28&a=9&f"));
        assert_eq!(p.get("a"), Some("1 2"));
        assert_eq!(p.get("b"), Some("中"));
        assert_eq!(p.get("c"), Some("%ZZ"));
        assert_eq!(p.get("d"), Some("%"));
        assert_eq!(p.get("e"), Some("\u{fffd}("));
        assert_eq!(p.get("f"), None);
    }

    #[test]
    fn links_encode_what_they_carry() {
        let p = Params::default()
            .with("where", Some("monetary > 500 AND x = 'a&b'"))
            .with("lang", Some("zh"));
        assert_eq!(
            p.href("/customers"),
            "/customers?where=monetary%20%3E%20500%20AND%20x%20%3D%20%27a%26b%27&lang=zh"
        );
        let back = Params::parse(p.href("/x").strip_prefix("/x?"));
        assert_eq!(back.get("where"), Some("monetary > 500 AND x = 'a&b'"));
    }
}
