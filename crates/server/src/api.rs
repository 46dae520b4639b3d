//! The JSON API under `/api/v1`: the typed summary, the groupings, customers (filtered, sorted,
//! paged by cursor), one customer, scoring, alerts and refresh. Every answer renders what the
//! engine computed; nothing here derives a number.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clientele_core::Lang;
use clientele_engine::GroupingSummary;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{Selection, Served, clip, clip_zh};
use crate::{ApiError, AppState};

/// `Query` whose rejection is a JSON [`ApiError`] with a fix, like every other error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Q<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Q<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| Q(t))
            .map_err(|e| {
                // axum words the rejection in English only: quoted
                ApiError::bad_request(format!("bad query parameters: {}", e.body_text()))
                    .fix("see /openapi.json for each parameter's type")
                    .zh(format!("查询参数有误（{}）", e.body_text()))
                    .fix_zh("各参数的类型见 /openapi.json")
            })
    }
}

/// `Path` whose rejection is a JSON [`ApiError`].
#[derive(Debug, Clone)]
pub struct P<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for P<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| P(t))
            .map_err(|e| {
                ApiError::not_found(format!("bad path: {}", e.body_text()))
                    .zh(format!("路径有误（{}）", e.body_text()))
            })
    }
}

/// A language asked for in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LangParam {
    /// 中文.
    Zh,
    /// English.
    En,
}

impl From<LangParam> for Lang {
    fn from(l: LangParam) -> Lang {
        match l {
            LangParam::Zh => Lang::Zh,
            LangParam::En => Lang::En,
        }
    }
}

/// `?run=` and `?lang=`, accepted by every read.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct RunQuery {
    /// A served run by name (default: the primary run).
    pub run: Option<String>,
    /// Names of groups in this language (default: the run's).
    pub lang: Option<LangParam>,
}

/// The language asked for, or the run's.
pub fn lang_of(q: Option<LangParam>, run: &Served) -> Result<Lang, ApiError> {
    Ok(q.map_or_else(|| run.lang(), Lang::from))
}

/// `GET /health`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: &'static str,
    /// Runs served.
    pub runs: usize,
}

pub(crate) async fn health(State(s): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        runs: s.library.runs().len(),
    })
}

/// One served run.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunInfo {
    /// Its name in `?run=`.
    pub name: String,
    /// The as-of date of its analysis.
    pub as_of: String,
    /// Customers.
    pub customers: usize,
    /// The config hash (runs with equal hashes are comparable).
    pub config_hash: String,
    /// The language its tables are in.
    pub lang: String,
    /// Whether `POST /api/v1/score` can score with it.
    pub scoring: bool,
}

pub(crate) fn run_info(r: &Served) -> RunInfo {
    RunInfo {
        name: r.name.clone(),
        as_of: r.run.summary.as_of.to_string(),
        customers: r.table().len(),
        config_hash: r.run.summary.config_hash.clone(),
        lang: r.lang().code().to_string(),
        scoring: r.scorer.is_some(),
    }
}

pub(crate) async fn runs(State(s): State<AppState>) -> Json<Vec<RunInfo>> {
    Json(s.library.runs().iter().map(|r| run_info(r)).collect())
}

pub(crate) async fn summary(
    State(s): State<AppState>,
    Q(q): Q<RunQuery>,
) -> Result<Response, ApiError> {
    let run = s.library.run(q.run.as_deref())?;
    // the summary as the run wrote it: the typed contract, serialized once more
    Ok(Json(&run.run.summary).into_response())
}

/// A grouping and its groups, named in the language asked for.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Scheme {
    /// Stable key, used in URLs.
    pub key: String,
    /// Kind: `grade`, `rfm`, `lifecycle`, `value_tier` or `cluster`.
    pub kind: &'static str,
    /// The customer-table column.
    pub column: String,
    /// Customers graded.
    pub customers: usize,
    /// Customers without a group.
    pub ungraded: usize,
    /// A customer may be in several groups (a `tags` scheme): sizes overlap.
    pub tags: bool,
    /// The groups.
    pub grades: Vec<Grade>,
}

/// One group: size, value, action.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Grade {
    /// The group as the customer table names it (use it, or `key`, as `grade=`).
    pub grade: String,
    /// Stable key when the group is a built-in one.
    pub key: Option<String>,
    /// The name in the language asked for.
    pub name: String,
    /// Customers.
    pub customers: usize,
    /// Share of all customers.
    pub share: f64,
    /// Σ monetary.
    pub revenue: Option<f64>,
    /// Share of all revenue.
    pub revenue_share: Option<f64>,
    /// Mean CLV.
    pub mean_clv: Option<f64>,
    /// Mean monetary.
    pub mean_monetary: Option<f64>,
    /// Mean recency in days.
    pub mean_recency_days: Option<f64>,
    /// The playbook's action, in the language asked for.
    pub action: Option<String>,
}

fn kind_of(g: &GroupingSummary) -> &'static str {
    use clientele_core::columns::Grouping as G;
    match g.grouping() {
        G::Grade(_) => "grade",
        G::Rfm(_) => "rfm",
        G::Lifecycle => "lifecycle",
        G::ValueTier => "value_tier",
        G::Cluster => "cluster",
    }
}

/// A grouping as the API shows it.
pub fn scheme_of(run: &Served, g: &GroupingSummary, lang: Lang) -> Scheme {
    let grouping = g.grouping();
    let money = clientele_core::Rounding::Money;
    let measure = clientele_core::Rounding::Measure;
    Scheme {
        key: g.key.clone(),
        kind: kind_of(g),
        column: g.column.clone(),
        customers: g.summary.customers,
        ungraded: g.summary.ungraded,
        tags: g.summary.mode == clientele_engine::grade::Mode::Tags,
        grades: g
            .summary
            .grades
            .iter()
            .map(|x| Grade {
                grade: x.grade.clone(),
                key: run.vocab.label(&grouping, &x.grade).map(|l| l.key),
                name: run.vocab.name(&grouping, &x.grade, lang),
                customers: x.customers,
                share: measure.round(x.share),
                revenue: x.revenue.map(|v| money.round(v)),
                revenue_share: x.revenue_share.map(|v| measure.round(v)),
                mean_clv: x.mean_clv.map(|v| money.round(v)),
                mean_monetary: x.mean_monetary.map(|v| money.round(v)),
                mean_recency_days: x.mean_recency_days.map(|v| measure.round(v)),
                action: match lang {
                    Lang::Zh => x.action_zh.clone(),
                    Lang::En => x.action_en.clone(),
                },
            })
            .collect(),
    }
}

pub(crate) async fn schemes(
    State(s): State<AppState>,
    Q(q): Q<RunQuery>,
) -> Result<Json<Vec<Scheme>>, ApiError> {
    let run = s.library.run(q.run.as_deref())?;
    let lang = lang_of(q.lang, &run)?;
    Ok(Json(
        run.groupings
            .iter()
            .map(|g| scheme_of(&run, g, lang))
            .collect(),
    ))
}

pub(crate) async fn scheme_grades(
    State(s): State<AppState>,
    P(scheme): P<String>,
    Q(q): Q<RunQuery>,
) -> Result<Json<Vec<Grade>>, ApiError> {
    let run = s.library.run(q.run.as_deref())?;
    let lang = lang_of(q.lang, &run)?;
    let g = run.grouping_or_404(&scheme)?;
    Ok(Json(scheme_of(&run, g, lang).grades))
}

/// `GET /api/v1/customers` parameters.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CustomersQuery {
    /// A served run (default: the primary).
    pub run: Option<String>,
    /// A grouping key (`behaviour`, `rfm_cn8`, `lifecycle`…).
    pub scheme: Option<String>,
    /// A group of `scheme`, by name (either language) or key.
    pub grade: Option<String>,
    /// A condition in the rule language, e.g. `monetary > 500 AND orders >= 3`.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// A column to sort by; `-column` for descending.
    pub sort: Option<String>,
    /// Customer ids starting with this text.
    pub q: Option<String>,
    /// Customers per page (1 to the server's page limit, default 100).
    #[schemars(range(min = 1))]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl CustomersQuery {
    /// The selection asked for.
    pub fn selection(&self) -> Selection {
        Selection {
            scheme: self.scheme.clone().filter(|x| !x.is_empty()),
            grade: self.grade.clone().filter(|x| !x.is_empty()),
            filter: self.filter.clone(),
            sort: self.sort.clone(),
            id_prefix: self.q.clone(),
        }
    }
}

/// A page of customers.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CustomerPage {
    /// Customers the selection holds, all pages together.
    pub total: usize,
    /// Index of this page's first customer in the selection.
    pub offset: usize,
    /// The customers of this page: every column of the customer table.
    pub customers: Vec<serde_json::Map<String, Value>>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A page of a selection: offset from the cursor, rows, the next cursor.
pub fn page(
    s: &AppState,
    run: &Served,
    q: &CustomersQuery,
) -> Result<(CustomerPage, Arc<Vec<u32>>), ApiError> {
    let limits = &s.limits;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > limits.page_size {
        return Err(
            ApiError::bad_request(format!("limit must be 1 to {}", limits.page_size))
                .fix("page through larger lists with `cursor`, or export them")
                .zh(format!("limit 应在 1 到 {} 之间", limits.page_size))
                .fix_zh("更长的列表请用 `cursor` 翻页，或导出"),
        );
    }
    limits.check_filter(q.filter.as_deref())?;
    let sel = q.selection();
    let rows = run.select(&sel)?;
    let fp = crate::state::fingerprint(&sel, run);
    let offset = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => cursor_offset(c, &fp, rows.len())?,
    };
    let end = offset.saturating_add(limit).min(rows.len());
    let customers = rows[offset.min(end)..end]
        .iter()
        .map(|&r| run.customer_json(r as usize))
        .collect();
    let next_cursor = (end < rows.len()).then(|| format!("{end}.{fp}"));
    Ok((
        CustomerPage {
            total: rows.len(),
            offset,
            customers,
            next_cursor,
        },
        rows,
    ))
}

/// A cursor that is not one of the list's pages (the API's and the list page's).
pub(crate) fn bad_cursor() -> ApiError {
    ApiError::bad_request("this cursor is not one of this list's pages")
        .fix("start again without `cursor`; a cursor is valid for the same run and query")
        .zh("这个 cursor 不属于此列表的任何一页")
        .fix_zh("去掉 `cursor` 从头开始；cursor 只对同一次运行和同样的查询有效")
}

/// No customer of this id in the run (the API's and the customer page's).
pub(crate) fn no_customer(id: &str, run: &str) -> ApiError {
    ApiError::not_found(format!("no customer `{}` in run {run}", clip(id)))
        .zh(format!("运行 {run} 中没有客户 `{}`", clip_zh(id)))
}

fn parse_cursor(c: &str, fp: &str) -> Result<usize, ApiError> {
    let (n, f) = c.split_once('.').ok_or_else(bad_cursor)?;
    if f != fp {
        return Err(bad_cursor());
    }
    n.parse().map_err(|_| bad_cursor())
}

/// The offset of a cursor within a selection of `total` rows.
fn cursor_offset(c: &str, fp: &str, total: usize) -> Result<usize, ApiError> {
    let offset = parse_cursor(c, fp)?;
    if offset > total {
        return Err(
            ApiError::bad_request("this cursor is past the end of the list")
                .fix("start again without `cursor`")
                .zh("这个 cursor 超出了列表的末尾")
                .fix_zh("去掉 `cursor` 从头开始"),
        );
    }
    Ok(offset)
}

pub(crate) async fn customers(
    State(s): State<AppState>,
    Q(q): Q<CustomersQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let run = s.library.run(q.run.as_deref())?;
    let (p, _) = page(&s, &run, &q)?;
    Ok(Json(p))
}

/// One customer: every column, the groups they are in, and their history across the served
/// runs.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CustomerDetail {
    /// Every column of the customer table.
    pub customer: serde_json::Map<String, Value>,
    /// The group in each grouping, named in the language asked for.
    pub groups: Vec<CustomerGroup>,
    /// The customer in each served run, oldest first.
    pub history: Vec<std::collections::BTreeMap<String, Value>>,
}

/// A customer's group in one grouping.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CustomerGroup {
    /// Grouping key.
    pub scheme: String,
    /// The group as the table names it.
    pub grade: Option<String>,
    /// Its name in the language asked for.
    pub name: Option<String>,
    /// The condition of the rule that put the customer there (`default` when no rule matched
    /// and the scheme's default grade applies), for rule-based schemes.
    pub rule: Option<String>,
}

/// The detail of the customer at `row`.
pub fn customer_detail(s: &AppState, run: &Served, row: usize, lang: Lang) -> CustomerDetail {
    let t = run.table();
    let id = t.ids().get(row).to_string();
    let rules = run
        .scorer
        .as_ref()
        .map(|sc| sc.rules_of(t, row))
        .unwrap_or_default();
    let groups = run
        .groupings
        .iter()
        .map(|g| {
            let grade = t
                .texts(&g.column)
                .ok()
                .and_then(|v| v.get(row).map(str::to_string));
            CustomerGroup {
                scheme: g.key.clone(),
                name: grade
                    .as_deref()
                    .map(|x| run.vocab.name(&g.grouping(), x, lang)),
                rule: rules.get(&g.key).cloned(),
                grade,
            }
        })
        .collect();
    CustomerDetail {
        customer: run.customer_json(row),
        groups,
        history: s.library.history_of(&id),
    }
}

pub(crate) async fn customer(
    State(s): State<AppState>,
    P(id): P<String>,
    Q(q): Q<RunQuery>,
) -> Result<Json<CustomerDetail>, ApiError> {
    let run = s.library.run(q.run.as_deref())?;
    let lang = lang_of(q.lang, &run)?;
    let row = run.row_of(&id).ok_or_else(|| no_customer(&id, &run.name))?;
    Ok(Json(customer_detail(&s, &run, row, lang)))
}

/// `POST /api/v1/score` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ScoreRequest {
    /// Customer summaries: `customer_id` and the customer-table columns the run's models and
    /// rules read (this document lists them for the primary run).
    #[schemars(length(max = 10000))]
    pub customers: Vec<serde_json::Map<String, Value>>,
    /// A served run (default: the primary).
    #[serde(default)]
    pub run: Option<String>,
}

/// `POST /api/v1/score` answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ScoreResponse {
    /// The run whose models and rules scored.
    pub run: String,
    /// One result per customer posted, in order.
    pub results: Vec<clientele_engine::Scored>,
}

pub(crate) async fn score(
    State(s): State<AppState>,
    body: Result<Json<ScoreRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ScoreResponse>, ApiError> {
    let Json(req) = body.map_err(|e| {
        ApiError::new(
            e.status(),
            format!("the body is not a score request: {}", e.body_text()),
        )
        .fix("send {\"customers\": [{\"customer_id\": \"…\", …}]} as application/json")
        // axum words the rejection in English only: quoted
        .zh(format!("请求体不是评分请求（{}）", e.body_text()))
        .fix_zh("以 application/json 发送 {\"customers\": [{\"customer_id\": \"…\", …}]}")
    })?;
    if req.customers.len() > s.limits.score_batch {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{} customers in one request; at most {}",
                req.customers.len(),
                s.limits.score_batch
            ),
        )
        .fix("send the customers in batches")
        .zh(format!(
            "一次请求有 {} 位客户；最多 {} 位",
            req.customers.len(),
            s.limits.score_batch
        ))
        .fix_zh("请分批发送客户"));
    }
    let run = s.library.run(req.run.as_deref())?;
    let scorer = run.scorer.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "run {} cannot score: its settings were not recorded",
                run.name
            ),
        )
        .fix("serve a run written by this clientele version")
        .zh(format!("运行 {} 无法评分：它的设置没有记录下来", run.name))
        .fix_zh("请提供由当前版本的 clientele 写出的运行")
    })?;
    let _ = scorer;
    let customers = req.customers;
    let worker = Arc::clone(&run);
    let results = tokio::task::spawn_blocking(move || {
        worker
            .scorer
            .as_ref()
            .map(|sc| sc.batch_from_rows(&customers).and_then(|b| sc.score(&b)))
            .transpose()
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(ApiError::engine)?
    .unwrap_or_default();
    Ok(Json(ScoreResponse {
        run: run.name.clone(),
        results,
    }))
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
        .fix("see /openapi.json for the API")
        .zh("没有这个接口")
        .fix_zh("API 见 /openapi.json")
}
