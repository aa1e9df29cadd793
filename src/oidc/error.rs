//! OAuth error responses (RFC 6749 §5.2, RFC 6750 §3.1, RFC 8628 §3.5): the provider's wire
//! format for its back-channel endpoints.

use crate::error::Error;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An OAuth error: the registered code, a description for developers, the HTTP status.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// How the client must authenticate (sent as `WWW-Authenticate` with a 401).
    pub challenge: Option<&'static str>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into(), challenge: None }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    /// RFC 6749 §5.2: 401 with a challenge; one message for every cause, so a caller learns
    /// nothing about which client ids exist.
    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed".into(),
            challenge: Some("Basic realm=\"lanyard\""),
        }
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
    }
    /// RFC 6750 §3.1: a bad bearer token at userinfo.
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: d.into(),
            challenge: Some("Bearer error=\"invalid_token\""),
        }
    }
    pub fn slow_down(wait: i64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", format!("too many requests; retry in {wait} seconds"))
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        match e {
            Error::Internal(_) => {
                OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", e.public_message())
            }
            Error::Unavailable(_) => {
                OAuthError::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", e.public_message())
            }
            Error::TooManyRequests(w) => OAuthError::slow_down(w),
            other => OAuthError::invalid_request(other.public_message()),
        }
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(e: sqlx::Error) -> Self {
        Error::from(e).into()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.error, "error_description": self.description});
        let mut resp = (self.status, Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.status == StatusCode::UNAUTHORIZED
            && let Some(c) = self.challenge
        {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        resp
    }
}
