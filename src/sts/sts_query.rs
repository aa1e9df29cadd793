//! The STS query API (`sts`, awsquery: form in, XML out) at `/aws`: GetCallerIdentity, signed
//! with Lanyard role credentials (header or presigned URL, as resource services forward it).

use super::credentials;
use super::error::{AwsError, Protocol, STS_NS, xml_escape};
use super::model::Caller;
use super::sigv4;
use crate::app::AppState;
use crate::audit::Origin;
use crate::server::RequestOrigin;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// The STS API version the SDKs send.
pub const VERSION: &str = "2011-06-15";

/// `POST /aws` (and `GET` for presigned URLs): dispatches on `Action`.
pub async fn query(
    State(app): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match dispatch(&app, &method, &uri, &headers, &body, &origin).await {
        Ok(xml) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], xml).into_response(),
        Err(e) => e.into_response(),
    }
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::invalid_request(Protocol::Sts, message)
}

/// The request's parameters: the query's, then the form body's (a name may appear once).
fn params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, AwsError> {
    let mut out = HashMap::new();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let query = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes());
    let form = url::form_urlencoded::parse(if is_form { body } else { b"" });
    for (k, v) in query.chain(form) {
        if out.len() >= 200 {
            return Err(invalid("too many parameters"));
        }
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(invalid("a parameter appears twice"));
        }
    }
    Ok(out)
}

/// An awsquery success document.
fn result(action: &str, inner: &str) -> String {
    let rid = uuid::Uuid::new_v4();
    format!(
        "<{action}Response xmlns=\"{STS_NS}\"><{action}Result>{inner}</{action}Result><ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></{action}Response>"
    )
}

async fn dispatch(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    origin: &Origin,
) -> Result<String, AwsError> {
    let p = params(uri, headers, body)?;
    if let Some(v) = p.get("Version")
        && v != VERSION
    {
        return Err(invalid(format!("Version must be {VERSION}")));
    }
    let action = p.get("Action").map(String::as_str).unwrap_or("");
    let req =
        sigv4::Request { method: method.as_str(), path: uri.path(), query: uri.query().unwrap_or(""), headers, body };
    match action {
        "GetCallerIdentity" => {
            let caller = signed(app, &req, "sts:GetCallerIdentity", origin).await?;
            Ok(result("GetCallerIdentity", &caller_identity(&caller)))
        }
        "" => Err(AwsError::new(Protocol::Sts, StatusCode::BAD_REQUEST, "MissingAction", "Action is required")),
        other => Err(AwsError::new(
            Protocol::Sts,
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!("{} is not an action this endpoint serves", other.chars().take(64).collect::<String>()),
        )),
    }
}

/// The caller behind a SigV4 signature for the `sts` service.
async fn signed(app: &AppState, req: &sigv4::Request<'_>, action: &str, origin: &Origin) -> Result<Caller, AwsError> {
    credentials::authenticate(app, req, &["sts"], action, origin)
        .await
        .map_err(|e| AwsError::from_sig(Protocol::Sts, e))
}

fn caller_identity(c: &Caller) -> String {
    format!(
        "<Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account>",
        xml_escape(&c.arn()),
        xml_escape(&c.user_id_string()),
        xml_escape(&c.account_id)
    )
}
