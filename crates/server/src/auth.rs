//! Who may ask: on loopback anyone on the machine; beyond it only a caller with the token, sent
//! as `Authorization: Bearer <token>` (systems) or as the cookie a browser gets from `/login`
//! (people). Compared in constant time, on digests, so neither the token's bytes nor its
//! length leak through timing.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

/// The cookie a browser keeps the token in.
pub const COOKIE: &str = "clientele_token";

/// A token, kept as its digest.
#[derive(Clone)]
pub struct Token(pub(crate) [u8; 32]);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// A token from its text.
    pub fn new(text: &str) -> Token {
        Token(Sha256::digest(text.as_bytes()).into())
    }

    /// Whether `given` is this token (constant time).
    pub fn matches(&self, given: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        self.0.ct_eq(&d).into()
    }
}

/// The token a request carries, from the bearer header or the cookie.
pub fn presented(h: &HeaderMap) -> Option<String> {
    if let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(t.trim().to_string());
        }
    }
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_string())
        })
}

/// Lets a request through when no token is set, when it carries the token, or when it is for
/// `/health` or the login page. Pages get a redirect to `/login`, the API a 401.
pub(crate) async fn require_token(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = &s.token else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if path == "/health" || path == "/login" {
        return next.run(req).await;
    }
    if presented(req.headers()).is_some_and(|t| token.matches(&t)) {
        return next.run(req).await;
    }
    let api = path.starts_with("/api/") || path == "/openapi.json";
    if api {
        let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "this server needs a token")
            .fix("send the header `Authorization: Bearer <token>`")
            .zh("此服务器需要令牌")
            .fix_zh("请发送请求头 `Authorization: Bearer <令牌>`")
            .into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        r
    } else {
        axum::response::Redirect::to("/login").into_response()
    }
}
