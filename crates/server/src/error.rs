//! The server's errors: [`ServeError`] for starting (the operator's to fix), [`ApiError`] for a
//! request (the caller's, as JSON with a status code and a message meant for them).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clientele_core::Lang;
use clientele_engine::{EngineError, Fault};
use serde::Serialize;

/// Why the server could not start or refresh.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A served folder is not a finished analysis, or cannot be read.
    #[error(transparent)]
    Run(#[from] EngineError),
    /// Settings that do not go together (a public address without a token…): what to do.
    #[error("{0}")]
    Settings(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The server stopped on an I/O error.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// A request that could not be answered: sent as `{"error": {"status", "message", "fix",
/// "message_zh", "fix_zh"}}`. The message is for the caller; internal details stay in the
/// server's log. The English is the API's contract; the Chinese twin is what a page in
/// Chinese shows (and what a Chinese client may show), where the server words it so.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the caller.
    pub message: String,
    /// What to do about it, when the caller can do something.
    pub fix: Option<String>,
    /// The message in Chinese.
    pub message_zh: Option<String>,
    /// The fix in Chinese.
    pub fix_zh: Option<String>,
}

/// The JSON body of an error.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error: status code, message and fix, in English; with their Chinese twins where the
/// server words them so.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorDetail {
    /// HTTP status code.
    pub status: u16,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// `message` in Chinese, where the server words it so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
    /// `fix` in Chinese, where the server words it so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_zh: Option<String>,
}

impl ApiError {
    /// An error with `status` and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            fix: None,
            message_zh: None,
            fix_zh: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// With a fix.
    pub fn fix(mut self, fix: impl Into<String>) -> ApiError {
        self.fix = Some(fix.into());
        self
    }

    /// With the message in Chinese.
    pub fn zh(mut self, message: impl Into<String>) -> ApiError {
        self.message_zh = Some(message.into());
        self
    }

    /// With the fix in Chinese.
    pub fn fix_zh(mut self, fix: impl Into<String>) -> ApiError {
        self.fix_zh = Some(fix.into());
        self
    }

    /// The message in `lang` (English where the server has no Chinese for it).
    pub fn message_in(&self, lang: Lang) -> &str {
        match (lang, &self.message_zh) {
            (Lang::Zh, Some(m)) => m,
            _ => &self.message,
        }
    }

    /// The fix in `lang` (English where the server has no Chinese for it).
    pub fn fix_in(&self, lang: Lang) -> Option<&str> {
        match (lang, &self.fix_zh) {
            (Lang::Zh, Some(f)) => Some(f),
            _ => self.fix.as_deref(),
        }
    }

    /// An engine error met while answering: the caller's fault is a 400 with the engine's
    /// message (a filter that names no column), in both languages where the engine words it
    /// so; anything else is a 500 whose details go to the log only.
    pub fn engine(e: EngineError) -> ApiError {
        match (&e, e.fault()) {
            (EngineError::Filter(f), _) => {
                ApiError::bad_request(format!("filter: {}", f.message.en))
                    .fix(f.fix.en.clone())
                    .zh(format!("{}：{}", f.what_zh(), f.message.zh))
                    .fix_zh(f.fix.zh.clone())
            }
            (
                EngineError::Selection {
                    message,
                    fix,
                    not_found,
                },
                _,
            ) => ApiError::new(
                if *not_found {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::BAD_REQUEST
                },
                message.en.clone(),
            )
            .fix(fix.en.clone())
            .zh(message.zh.clone())
            .fix_zh(fix.zh.clone()),
            (_, Fault::User | Fault::Data) => {
                let a = ApiError::bad_request(e.reason());
                match e.reason_zh() {
                    Some(zh) => a.zh(zh),
                    None => a,
                }
            }
            (_, Fault::Internal) => ApiError::internal(&e),
        }
    }

    /// 500, logged; the caller learns only that the server failed.
    pub fn internal(e: &dyn std::fmt::Display) -> ApiError {
        eprintln!("clientele serve: internal error: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to answer; the error is in its log",
        )
        .zh("服务器未能应答，错误已记录在服务器日志中")
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                status: self.status.as_u16(),
                message: self.message.clone(),
                fix: self.fix.clone(),
                message_zh: self.message_zh.clone(),
                fix_zh: self.fix_zh.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
