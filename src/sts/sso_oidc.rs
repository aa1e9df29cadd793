//! The SSO OIDC API (`sso-oidc`, rest-json, unsigned) under `/aws`: RegisterClient,
//! StartDeviceAuthorization and CreateToken, so `aws sso login`, boto3 and `lanyard login` sign
//! in with Lanyard's device flow and code flow. Every registration is a secret for the built-in
//! AWS application ([`crate::oidc::clients::AWS_CLIENT_ID`]); the grants, tokens, refresh
//! rotation and reuse detection are the OIDC provider's own.

use super::error::{AwsError, Protocol};
use super::store::{self, Registration};
use crate::app::AppState;
use crate::audit::Origin;
use crate::crypto::token::PlainToken;
use crate::oidc::clients::AWS_CLIENT_ID;
use crate::oidc::model::Client;
use crate::server::RequestOrigin;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// How long a registration lasts (IAM Identity Center: 90 days).
pub const REGISTRATION_TTL: i64 = 90 * 86_400;
const SECRET_PREFIX: &str = "lyd_sso";
/// The scopes every registration gets: the account access the portal API needs, and a refresh
/// token that does not end with the browser's session.
const BASE_SCOPES: &[&str] = &["openid", "offline_access", "sso:account:access"];

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::invalid_request(Protocol::SsoOidc, message)
}

fn invalid_client(message: &str) -> AwsError {
    let mut e = AwsError::new(Protocol::SsoOidc, StatusCode::UNAUTHORIZED, "InvalidClientException", message);
    e.oauth = "invalid_client";
    e
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AwsError> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("the request body is not valid: {e}")))
}

fn limit(app: &AppState, origin: &Origin) -> Result<(), AwsError> {
    app.oidc_ip_rate
        .check(&origin.ip, app.now())
        .map_err(|wait| AwsError::from_oauth(crate::oidc::error::OAuthError::slow_down(wait)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClient {
    client_name: String,
    client_type: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    #[serde(default)]
    issuer_url: Option<String>,
    #[serde(default)]
    entitled_application_arn: Option<String>,
}

/// `POST /aws/client/register`.
pub async fn register_client(
    State(app): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> Response {
    respond(register(&app, &body, &origin).await)
}

fn respond(r: Result<Value, AwsError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn register(app: &AppState, body: &[u8], origin: &Origin) -> Result<Value, AwsError> {
    limit(app, origin)?;
    let r: RegisterClient = parse(body)?;
    let _ = (&r.issuer_url, &r.entitled_application_arn);
    let name = r.client_name.trim();
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(invalid_metadata("clientName must be 1–128 characters"));
    }
    if r.client_type != "public" {
        return Err(invalid_metadata("clientType must be \"public\""));
    }
    if r.scopes.len() > 25 || r.grant_types.len() > 5 || r.redirect_uris.len() > 10 {
        return Err(invalid_metadata("too many scopes, grant types or redirect URIs"));
    }
    for g in &r.grant_types {
        if !matches!(
            g.as_str(),
            "authorization_code" | "refresh_token" | "urn:ietf:params:oauth:grant-type:device_code"
        ) {
            return Err(AwsError::from_oauth(crate::oidc::error::OAuthError::unsupported_grant_type(format!(
                "{g:?} is not a grant type this client can register"
            ))));
        }
    }
    // The AWS CLI registers its loopback callback without a port; anything else would never match.
    for u in &r.redirect_uris {
        if !crate::oidc::model::redirect_matches(&["http://127.0.0.1/oauth/callback".to_string()], u) {
            let mut e = AwsError::new(
                Protocol::SsoOidc,
                StatusCode::BAD_REQUEST,
                "InvalidRedirectUriException",
                "redirect URIs must be http://127.0.0.1/oauth/callback (any port)",
            );
            e.oauth = "invalid_redirect_uri";
            return Err(e);
        }
    }
    let mut scopes: Vec<String> = BASE_SCOPES.iter().map(|s| s.to_string()).collect();
    for s in &r.scopes {
        if !BASE_SCOPES.contains(&s.as_str()) {
            let mut e = AwsError::new(
                Protocol::SsoOidc,
                StatusCode::BAD_REQUEST,
                "InvalidScopeException",
                format!("scope {s:?} is not offered"),
            );
            e.oauth = "invalid_scope";
            return Err(e);
        }
    }
    scopes.dedup();
    let now = app.now();
    let secret = PlainToken::generate(SECRET_PREFIX).map_err(crate::error::Error::from).map_err(err)?;
    let reg = Registration {
        id: Uuid::now_v7(),
        name: name.to_string(),
        scopes: scopes.join(" "),
        created_at: now,
        expires_at: now + REGISTRATION_TTL,
    };
    let mut tx = app.db.begin().await.map_err(db)?;
    store::insert_registration(&mut tx, &reg, &secret.hash()).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    let base = crate::oidc::tokens::issuer(app);
    Ok(json!({
        "clientId": AWS_CLIENT_ID,
        "clientSecret": secret.expose(),
        "clientIdIssuedAt": now,
        "clientSecretExpiresAt": reg.expires_at,
        "authorizationEndpoint": format!("{base}/authorize"),
        "tokenEndpoint": format!("{base}/aws/token"),
    }))
}

fn invalid_metadata(message: &str) -> AwsError {
    let mut e = AwsError::new(Protocol::SsoOidc, StatusCode::BAD_REQUEST, "InvalidClientMetadataException", message);
    e.oauth = "invalid_client_metadata";
    e
}

fn err(e: crate::error::Error) -> AwsError {
    AwsError::from_error(Protocol::SsoOidc, e)
}

fn db(e: sqlx::Error) -> AwsError {
    err(e.into())
}

/// The built-in client behind a registration, when `client_id` and `client_secret` are one.
async fn authenticate(
    app: &AppState,
    client_id: &str,
    client_secret: &str,
) -> Result<(Client, Registration), AwsError> {
    if client_id != AWS_CLIENT_ID || client_secret.len() > 200 {
        return Err(invalid_client("the client id or secret is not valid; register the client again"));
    }
    // The lookup is by digest: a wrong secret finds nothing, in the same time as a right one.
    let hash = PlainToken::from_presented(client_secret).hash();
    let mut tx = app.db.conn().await.map_err(db)?;
    let reg = store::find_registration(&mut tx, &hash, app.now()).await.map_err(db)?;
    drop(tx);
    let reg = reg.ok_or_else(|| {
        invalid_client("the client registration is not valid or has expired; register the client again")
    })?;
    let client = crate::oidc::clients::find_enabled(app, AWS_CLIENT_ID)
        .await
        .map_err(err)?
        .ok_or_else(|| invalid_client("the AWS CLI and SDKs application is disabled on this Lanyard"))?;
    Ok((client, reg))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartDevice {
    client_id: String,
    client_secret: String,
    start_url: String,
}

/// `POST /aws/device_authorization`.
pub async fn start_device_authorization(
    State(app): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> Response {
    respond(start_device(&app, &body, &origin).await)
}

async fn start_device(app: &AppState, body: &[u8], origin: &Origin) -> Result<Value, AwsError> {
    limit(app, origin)?;
    let r: StartDevice = parse(body)?;
    if r.start_url.len() > 2048 {
        return Err(invalid("startUrl is too long"));
    }
    let (client, reg) = authenticate(app, &r.client_id, &r.client_secret).await?;
    let scopes: Vec<String> = reg.scopes.split(' ').map(str::to_string).collect();
    let d = crate::oidc::device::issue(app, &client, &scopes, origin).await.map_err(AwsError::from_oauth)?;
    Ok(json!({
        "deviceCode": d.device_code,
        "userCode": d.user_code,
        "verificationUri": d.verification_uri,
        "verificationUriComplete": d.verification_uri_complete,
        "expiresIn": d.expires_in,
        "interval": d.interval,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateToken {
    client_id: String,
    client_secret: String,
    grant_type: String,
    #[serde(default)]
    device_code: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<Vec<String>>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    code_verifier: Option<String>,
}

/// `POST /aws/token`.
pub async fn create_token(State(app): State<AppState>, RequestOrigin(origin): RequestOrigin, body: Bytes) -> Response {
    respond(token(&app, &body, &origin).await)
}

async fn token(app: &AppState, body: &[u8], origin: &Origin) -> Result<Value, AwsError> {
    limit(app, origin)?;
    let r: CreateToken = parse(body)?;
    let (client, reg) = authenticate(app, &r.client_id, &r.client_secret).await?;
    // Per registration: every SDK shares the built-in client, but not its budget.
    app.oidc_client_rate
        .check(&reg.id.to_string(), app.now())
        .map_err(|w| AwsError::from_oauth(crate::oidc::error::OAuthError::slow_down(w)))?;
    let need = |v: &Option<String>, name: &str| {
        v.clone().ok_or_else(|| invalid(format!("{name} is required for this grant type")))
    };
    let scope = r.scope.map(|s| s.join(" "));
    let issued = match r.grant_type.as_str() {
        crate::oidc::model::GRANT_DEVICE => {
            crate::oidc::device::redeem(app, &client, &need(&r.device_code, "deviceCode")?, origin).await
        }
        crate::oidc::model::GRANT_REFRESH => {
            crate::oidc::grants::refresh(
                app,
                &client,
                &need(&r.refresh_token, "refreshToken")?,
                scope.as_deref(),
                origin,
            )
            .await
        }
        crate::oidc::model::GRANT_CODE => {
            crate::oidc::grants::redeem_code(
                app,
                &client,
                &need(&r.code, "code")?,
                r.redirect_uri.as_deref(),
                r.code_verifier.as_deref(),
                origin,
            )
            .await
        }
        other => {
            return Err(AwsError::from_oauth(crate::oidc::error::OAuthError::unsupported_grant_type(format!(
                "{other:?} is not supported"
            ))));
        }
    }
    .map_err(AwsError::from_oauth)?;
    let mut out = json!({
        "accessToken": issued.access_token,
        "tokenType": "Bearer",
        "expiresIn": issued.expires_in,
    });
    // botocore drops its cached refresh token when a refresh answers without one; rotation
    // always gives a new one.
    if let Some(rt) = issued.refresh_token {
        out["refreshToken"] = json!(rt);
    }
    if let Some(id) = issued.id_token {
        out["idToken"] = json!(id);
    }
    Ok(out)
}
