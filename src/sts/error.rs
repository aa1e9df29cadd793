//! The AWS error shapes (../shared/spec/aws-wire.md): rest-json for SSO OIDC and the SSO portal
//! (`x-amzn-ErrorType` header, JSON body) and awsquery XML for STS.

use super::sigv4::SigError;
use crate::error::Error;
use crate::oidc::error::OAuthError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Which AWS protocol renders the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SSO OIDC: body `{"error", "error_description", "message"}`.
    SsoOidc,
    /// SSO portal: body `{"message"}`.
    Sso,
    /// STS: `<ErrorResponse>` XML.
    Sts,
}

#[derive(Debug, Clone)]
pub struct AwsError {
    pub protocol: Protocol,
    pub status: StatusCode,
    /// The shape name (`x-amzn-ErrorType`) or STS error code.
    pub code: &'static str,
    /// The OAuth error code, for SSO OIDC.
    pub oauth: &'static str,
    pub message: String,
}

impl AwsError {
    pub fn new(protocol: Protocol, status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { protocol, status, code, oauth: "", message: message.into() }
    }

    /// An SSO portal 401: botocore tells the user their token expired and to log in again.
    pub fn sso_unauthorized(message: impl Into<String>) -> Self {
        Self::new(Protocol::Sso, StatusCode::UNAUTHORIZED, "UnauthorizedException", message)
    }

    pub fn invalid_request(protocol: Protocol, message: impl Into<String>) -> Self {
        let code = if protocol == Protocol::Sts { "InvalidParameterValue" } else { "InvalidRequestException" };
        let mut e = Self::new(protocol, StatusCode::BAD_REQUEST, code, message);
        e.oauth = "invalid_request";
        e
    }

    /// An SSO OIDC error from the provider's OAuth error (the shapes of aws-wire.md §1).
    pub fn from_oauth(e: OAuthError) -> Self {
        let (code, status) = match e.error {
            "authorization_pending" => ("AuthorizationPendingException", StatusCode::BAD_REQUEST),
            "slow_down" => ("SlowDownException", StatusCode::BAD_REQUEST),
            "expired_token" => ("ExpiredTokenException", StatusCode::BAD_REQUEST),
            "invalid_client" => ("InvalidClientException", StatusCode::UNAUTHORIZED),
            "invalid_grant" => ("InvalidGrantException", StatusCode::BAD_REQUEST),
            "unauthorized_client" => ("UnauthorizedClientException", StatusCode::BAD_REQUEST),
            "unsupported_grant_type" => ("UnsupportedGrantTypeException", StatusCode::BAD_REQUEST),
            "invalid_scope" => ("InvalidScopeException", StatusCode::BAD_REQUEST),
            "access_denied" => ("AccessDeniedException", StatusCode::BAD_REQUEST),
            "server_error" => ("InternalServerException", StatusCode::INTERNAL_SERVER_ERROR),
            "temporarily_unavailable" => ("InternalServerException", StatusCode::SERVICE_UNAVAILABLE),
            _ => ("InvalidRequestException", StatusCode::BAD_REQUEST),
        };
        let mut out = Self::new(Protocol::SsoOidc, status, code, e.description);
        out.oauth = e.error;
        out
    }

    /// A service error in `protocol`'s words.
    pub fn from_error(protocol: Protocol, e: Error) -> Self {
        let status = e.status();
        let code = match (&e, protocol) {
            (Error::Forbidden(_), Protocol::Sts) => "AccessDenied",
            (Error::Forbidden(_), _) => "ForbiddenException",
            (Error::NotFound(_), Protocol::Sts) => "NoSuchEntity",
            (Error::NotFound(_), _) => "ResourceNotFoundException",
            (Error::TooManyRequests(_), Protocol::Sts) => "Throttling",
            (Error::TooManyRequests(_), _) => "TooManyRequestsException",
            (Error::Internal(_) | Error::Unavailable(_), Protocol::Sts) => "InternalFailure",
            (Error::Internal(_) | Error::Unavailable(_), _) => "InternalServerException",
            (Error::Unauthenticated | Error::SignInAgain(_), Protocol::Sso) => "UnauthorizedException",
            (Error::SignInAgain(_), Protocol::Sts) => "AccessDenied",
            (_, Protocol::Sts) => "ValidationError",
            _ => "InvalidRequestException",
        };
        let status = match status {
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED if protocol == Protocol::Sts => StatusCode::FORBIDDEN,
            s => s,
        };
        let mut out = Self::new(protocol, status, code, e.public_message());
        out.oauth = match status {
            StatusCode::FORBIDDEN => "access_denied",
            s if s.is_server_error() => "server_error",
            _ => "invalid_request",
        };
        out
    }

    /// A refused signature (STS codes; the status AWS uses for each).
    pub fn from_sig(protocol: Protocol, e: SigError) -> Self {
        let status = match e {
            SigError::Missing | SigError::Incomplete(_) => StatusCode::BAD_REQUEST,
            SigError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::FORBIDDEN,
        };
        Self::new(protocol, status, e.code(), e.to_string())
    }
}

impl From<Error> for AwsError {
    fn from(e: Error) -> Self {
        Self::from_error(Protocol::Sso, e)
    }
}

/// Escapes text for an XML text node or attribute.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The STS namespace.
pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let rid = uuid::Uuid::new_v4().to_string();
        let mut resp = match self.protocol {
            Protocol::Sts => {
                let kind = if self.status.is_server_error() { "Receiver" } else { "Sender" };
                let body = format!(
                    "<ErrorResponse xmlns=\"{STS_NS}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>",
                    self.code,
                    xml_escape(&self.message)
                );
                (self.status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
            }
            Protocol::SsoOidc => {
                let body = serde_json::json!({"error": self.oauth, "error_description": self.message, "message": self.message});
                (self.status, axum::Json(body)).into_response()
            }
            Protocol::Sso => (self.status, axum::Json(serde_json::json!({"message": self.message}))).into_response(),
        };
        if let Ok(v) = HeaderValue::from_str(self.code) {
            resp.headers_mut().insert("x-amzn-errortype", v);
        }
        if let Ok(v) = HeaderValue::from_str(&rid) {
            resp.headers_mut().insert("x-amzn-requestid", v);
        }
        resp
    }
}
