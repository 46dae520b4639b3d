//! The server's errors: [`ServeError`] for starting (the operator's to fix), [`ApiError`] for a
//! request (the caller's, as JSON with a status code and a message meant for them).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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

/// A request that could not be answered: sent as `{"error": {"status", "message", "fix"}}`.
/// The message is for the caller; internal details stay in the server's log.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the caller.
    pub message: String,
    /// What to do about it, when the caller can do something.
    pub fix: Option<String>,
}

/// The JSON body of an error.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error: status code, message and fix.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorDetail {
    /// HTTP status code.
    pub status: u16,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl ApiError {
    /// An error with `status` and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            fix: None,
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

    /// An engine error met while answering: the caller's fault is a 400 with the engine's
    /// message (a filter that names no column); anything else is a 500 whose details go to the
    /// log only.
    pub fn engine(e: EngineError) -> ApiError {
        match (&e, e.fault()) {
            (EngineError::Filter { message, fix, .. }, _) => {
                ApiError::bad_request(format!("filter: {message}")).fix(fix.clone())
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
                message.clone(),
            )
            .fix(fix.clone()),
            (_, Fault::User | Fault::Data) => ApiError::bad_request(e.reason()),
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
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                status: self.status.as_u16(),
                message: self.message.clone(),
                fix: self.fix.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
