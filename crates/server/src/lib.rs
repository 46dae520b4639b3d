//! `clientele serve`: the analyses of `clientele analyze` as a live dashboard for the team and
//! a JSON API for systems (documented at `/openapi.json`, OpenAPI 3.1).
//!
//! The served folders are read once into typed columns ([`state::Library`]); a customer
//! lookup is a binary search over ids, a page of a filtered grade slices a cached selection,
//! and an export streams the selection in slices. The server renders and serves what the
//! engine computed and computes no analytics of its own. Safe by default: loopback only unless
//! a token is set, read-only unless `--allow-refresh`, bounded request sizes, and errors as
//! JSON messages for the caller (internal details go to the log).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

pub mod api;
pub mod auth;
mod error;
pub mod export;
pub mod openapi;
pub mod pages;
pub mod refresh;
pub mod state;

pub use auth::Token;
pub use error::{ApiError, ErrorBody, ServeError};
pub use refresh::Schedule;
pub use state::{Library, Selection, Served};

/// The default address: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8750";

/// Bounds on what one request may ask.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, bytes.
    pub body_bytes: usize,
    /// Most customers per page.
    pub page_size: usize,
    /// Longest filter, bytes.
    pub filter_bytes: usize,
    /// Most customers in one export.
    pub export_rows: usize,
    /// Most customers per score request.
    pub score_batch: usize,
}

impl Limits {
    /// Refuses a filter longer than the limit, before it is parsed.
    pub fn check_filter(&self, filter: Option<&str>) -> Result<(), ApiError> {
        if filter.map_or(0, str::len) > self.filter_bytes {
            return Err(ApiError::bad_request(format!(
                "the filter is longer than {} bytes",
                self.filter_bytes
            ))
            .fix("shorten it; select by a grade or a column")
            .zh(format!("筛选条件超过了 {} 字节", self.filter_bytes))
            .fix_zh("缩短筛选条件：按等级或某一列筛选"));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 8 << 20,
            page_size: 1000,
            filter_bytes: clientele_engine::MAX_FILTER_BYTES,
            export_rows: 10_000_000,
            score_batch: 10_000,
        }
    }
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The analysis output folders; the first is the primary run (and the one a refresh
    /// rewrites).
    pub dirs: Vec<PathBuf>,
    /// Where to listen.
    pub bind: SocketAddr,
    /// Required for any address other than loopback.
    pub token: Option<String>,
    /// Allow `POST /api/v1/runs` (needs a token).
    pub allow_refresh: bool,
    /// Re-run the configured analysis on this schedule.
    pub refresh: Option<Schedule>,
    /// The config a refresh re-runs (its sources included).
    pub config: Option<PathBuf>,
    /// Request bounds.
    pub limits: Limits,
    /// Alert when a group's size or value moves by more than this share between runs.
    pub alert_share: f64,
    /// …and by at least this many customers.
    pub alert_min_customers: u64,
}

impl ServeOptions {
    /// Options for `dirs` with every default.
    pub fn new(dirs: Vec<PathBuf>) -> ServeOptions {
        ServeOptions {
            dirs,
            bind: DEFAULT_BIND.parse().expect("a valid address"),
            token: None,
            allow_refresh: false,
            refresh: None,
            config: None,
            limits: Limits::default(),
            alert_share: 0.2,
            alert_min_customers: 20,
        }
    }

    /// Refuses settings that would expose data or cannot work, saying what to do.
    pub fn check(&self) -> Result<(), ServeError> {
        let bad = |m: &str| Err(ServeError::Settings(m.to_string()));
        if self.dirs.is_empty() {
            return bad(
                "give the output folder of `clientele analyze` to serve (e.g. `clientele serve out`)",
            );
        }
        if let Some(t) = &self.token
            && t.trim().len() < 16
        {
            return bad(
                "the token is shorter than 16 characters: use a long random one (e.g. `openssl rand -hex 24`)",
            );
        }
        if !self.bind.ip().is_loopback() && self.token.is_none() {
            return bad(&format!(
                "{} is reachable from other machines: set a token with --token or CLIENTELE_TOKEN, \
                 or bind to 127.0.0.1",
                self.bind
            ));
        }
        if self.allow_refresh && self.token.is_none() {
            return bad(
                "--allow-refresh lets callers re-run the analysis: it needs a token (--token or CLIENTELE_TOKEN)",
            );
        }
        if (self.allow_refresh || self.refresh.is_some()) && self.config.is_none() {
            return bad(
                "a refresh re-runs the configured analysis: give its config with --config c.toml",
            );
        }
        if !(self.alert_share.is_finite() && self.alert_share > 0.0) {
            return bad("the alert threshold must be a share above 0 (0.2 = 20 %)");
        }
        Ok(())
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The runs.
    pub library: Arc<Library>,
    /// The token's digest, when one is required.
    pub token: Option<Token>,
    /// Request bounds.
    pub limits: Arc<Limits>,
    /// Refreshing.
    pub refresher: Arc<refresh::Refresher>,
}

impl AppState {
    /// The state for `opts`, loading every run.
    pub fn new(opts: &ServeOptions) -> Result<AppState, ServeError> {
        opts.check()?;
        let library = Arc::new(Library::load(&opts.dirs)?);
        Ok(AppState {
            token: opts.token.as_deref().map(Token::new),
            limits: Arc::new(opts.limits.clone()),
            refresher: Arc::new(refresh::Refresher::new(opts, Arc::clone(&library))?),
            library,
        })
    }
}

/// Every route, with the token check, body limit and security headers.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/summary", get(api::summary))
        .route("/runs", get(api::runs).post(refresh::run_now))
        .route("/schemes", get(api::schemes))
        .route("/schemes/{scheme}/grades", get(api::scheme_grades))
        .route("/customers", get(api::customers))
        .route("/customers/{id}", get(api::customer))
        .route("/export", get(export::export))
        .route("/score", post(api::score))
        .route("/alerts", get(refresh::alerts));
    Router::new()
        .route("/health", get(api::health))
        .route("/openapi.json", get(openapi::document))
        .nest("/api/v1", api)
        .merge(pages::routes())
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(DefaultBodyLimit::max(state.limits.body_bytes))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}

/// Serves until Ctrl-C (or SIGTERM). `ready` is told the address and the runs once listening.
pub async fn serve(
    opts: ServeOptions,
    ready: impl FnOnce(SocketAddr, &Library),
) -> Result<(), ServeError> {
    let state = AppState::new(&opts)?;
    let listener = tokio::net::TcpListener::bind(opts.bind)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.bind,
            source,
        })?;
    let addr = listener.local_addr()?;
    ready(addr, &state.library);
    if let Some(schedule) = opts.refresh.clone() {
        let r = Arc::clone(&state.refresher);
        tokio::spawn(async move { r.run_on(schedule).await });
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    // let open exports finish their current slice
    tokio::time::sleep(Duration::from_millis(10)).await;
}
