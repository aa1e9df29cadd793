//! The error every service returns, with a stable code and HTTP status. Each surface renders it
//! in its own wire format: the admin API as `{"error", "message"}` (api/error.rs), the portal as
//! an HTML page with the request id (portal/mod.rs). Internal errors are logged once here and
//! shown only as "internal error".

use axum::http::StatusCode;

pub use crate::directory::model::Invalid;

/// A service-level error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthenticated,
    /// The sign-in behind the request no longer suffices (it ended, or lacks a recent second
    /// factor): the person must sign in again.
    #[error("{0}")]
    SignInAgain(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many attempts; try again in {0} seconds")]
    TooManyRequests(i64),
    #[error("request body is too large")]
    PayloadTooLarge,
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Invalid(_) => "invalid",
            Error::BadRequest(_) => "bad_request",
            Error::Unauthenticated => "unauthenticated",
            Error::SignInAgain(_) => "sign_in_again",
            Error::Forbidden(_) => "forbidden",
            Error::TooManyRequests(_) => "too_many_requests",
            Error::PayloadTooLarge => "payload_too_large",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated | Error::SignInAgain(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the caller; internal details never leave the process.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(e) => {
                tracing::error!(error.code = "internal", error = format!("{e:#}"), "internal error");
                "internal error; the request id identifies it in the server log".into()
            }
            other => other.to_string(),
        }
    }

    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid(Invalid { field, reason: reason.into() })
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Error::Internal(e.into())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        // PostgreSQL refuses text with a NUL byte (SQLSTATE 22021) or one it cannot encode
        // (22P05): that is the caller's input, not a fault of ours.
        if let sqlx::Error::Database(d) = &e
            && matches!(d.code().as_deref(), Some("22021" | "22P05"))
        {
            return Error::BadRequest("text must not contain NUL or unencodable characters".into());
        }
        Error::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<crate::crypto::CryptoError> for Error {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Error::Internal(anyhow::Error::new(e))
    }
}

impl From<crate::crypto::password::HashError> for Error {
    fn from(e: crate::crypto::password::HashError) -> Self {
        match e {
            crate::crypto::password::HashError::Busy => Error::Unavailable(e.to_string()),
            other => Error::Internal(anyhow::Error::new(other)),
        }
    }
}
