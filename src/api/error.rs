//! The admin API's wire format for errors, `{"error": code, "message": text}`, and extractors
//! whose rejections use it, so a malformed body or id never yields a bare text error.

use crate::error::Error;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The one error shape of the admin API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `invalid`, `not_found`, `conflict`.
    pub error: String,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Renders an error response in the API's shape.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(ErrorBody { error: code.into(), message: message.into(), field: None })).into_response()
}

/// A service error on its way out of the API.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let field = match &e {
            Error::Invalid(i) => Some(i.field.to_string()),
            _ => None,
        };
        let mut resp = (e.status(), Json(ErrorBody { error: e.code().into(), message: e.public_message(), field }))
            .into_response();
        if let Error::TooManyRequests(secs) = e
            && let Ok(v) = secs.to_string().parse()
        {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body whose rejections use the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match rej {
                JsonRejection::JsonDataError(e) => {
                    json_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &e.body_text())
                }
                JsonRejection::JsonSyntaxError(e) => json_error(StatusCode::BAD_REQUEST, "bad_request", &e.body_text()),
                JsonRejection::MissingJsonContentType(_) => json_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send Content-Type: application/json",
                ),
                JsonRejection::BytesRejection(_) => {
                    json_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "request body is too large")
                }
                other => json_error(StatusCode::BAD_REQUEST, "bad_request", &other.body_text()),
            }),
        }
    }
}

/// A path parameter whose rejection is a JSON 400.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| ApiPath(p.0)).map_err(
            |e: PathRejection| {
                json_error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    &format!("invalid path parameter: {}", e.body_text()),
                )
            },
        )
    }
}

/// A query string whose rejection is a JSON 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| json_error(StatusCode::BAD_REQUEST, "bad_request", &e.body_text()))
    }
}
