//! The token endpoint (RFC 6749 §3.2): client authentication, then one of the grants:
//! authorization_code and refresh_token (in `grants`), client_credentials (here: no database
//! write, an audit event through the batcher), and device_code (RFC 8628 §3.4, in `device`).

use super::error::OAuthError;
use super::model;
use crate::app::AppState;
use crate::audit::{Actor, Origin};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;

/// Parses a form body, refusing repeated parameters (RFC 6749 §3.2: "MUST NOT be included more
/// than once").
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!("parameter {k:?} is repeated")));
        }
    }
    Ok(out)
}

/// Checks the content type of a back-channel POST.
pub fn require_form(headers: &HeaderMap) -> Result<(), OAuthError> {
    let ok = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if ok {
        Ok(())
    } else {
        Err(OAuthError::invalid_request("send the parameters as application/x-www-form-urlencoded"))
    }
}

/// The per-IP limit shared by the back-channel endpoints.
pub fn limit_ip(app: &AppState, origin: &Origin) -> Result<(), OAuthError> {
    app.oidc_ip_rate.check(&origin.ip, app.now()).map_err(OAuthError::slow_down)
}

/// This endpoint's URL (the audience of client assertions).
pub fn endpoint_url(app: &AppState, path: &str) -> String {
    format!("{}{path}", super::tokens::issuer(app))
}

/// The first steps every back-channel request takes: the per-IP limit, then a form body
/// without repeated parameters.
pub fn back_channel_form(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    origin: &Origin,
) -> Result<HashMap<String, String>, OAuthError> {
    limit_ip(app, origin)?;
    require_form(headers)?;
    parse_form(body)
}

/// The form and the authenticated client of a back-channel request to `path` (device
/// authorization, introspection, revocation; the token endpoint checks `grant_type` between the
/// two steps).
pub async fn back_channel(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    origin: &Origin,
    path: &str,
) -> Result<(HashMap<String, String>, model::Client), OAuthError> {
    let form = back_channel_form(app, headers, body, origin)?;
    let client = super::clients::authenticate(app, headers, &form, &endpoint_url(app, path)).await?;
    Ok((form, client))
}

pub async fn post_token(
    State(app): State<AppState>,
    crate::server::RequestOrigin(origin): crate::server::RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match token(&app, &headers, &body, &origin).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn token(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    origin: &Origin,
) -> Result<serde_json::Value, OAuthError> {
    let form = back_channel_form(app, headers, body, origin)?;
    let grant_type = form.get("grant_type").map(String::as_str).unwrap_or("");
    if grant_type.is_empty() {
        return Err(OAuthError::invalid_request("grant_type is required"));
    }
    let client = super::clients::authenticate(app, headers, &form, &endpoint_url(app, "/oauth2/token")).await?;
    app.oidc_client_rate.check(&client.client_id, app.now()).map_err(OAuthError::slow_down)?;
    if !model::GRANT_TYPES.contains(&grant_type) {
        return Err(OAuthError::unsupported_grant_type(format!("{grant_type:?} is not supported")));
    }
    if !client.has_grant(grant_type) {
        super::grants::audit(
            app,
            Actor::client(client.id, &client.client_id),
            "oidc.token.refused",
            &client,
            origin,
            false,
            json!({"grant_type": grant_type, "reason": "grant_type_not_allowed"}),
        )
        .await;
        return Err(OAuthError::unauthorized_client(format!("this client may not use the {grant_type} grant")));
    }
    let get = |k: &str| form.get(k).map(String::as_str);
    let issued = match grant_type {
        model::GRANT_CODE => {
            let code = get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
            super::grants::redeem_code(app, &client, code, get("redirect_uri"), get("code_verifier"), origin).await?
        }
        model::GRANT_REFRESH => {
            let token = get("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
            super::grants::refresh(app, &client, token, get("scope"), origin).await?
        }
        model::GRANT_DEVICE => {
            let code = get("device_code").ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
            super::device::redeem(app, &client, code, origin).await?
        }
        _ => return client_credentials(app, &client, get("scope"), origin).await,
    };
    serde_json::to_value(issued).map_err(|e| crate::error::Error::internal(e).into())
}

/// RFC 6749 §4.4: a confidential client acting for itself. Identity scopes mean nothing here,
/// so only the client's API scopes may be asked for (all of them when none are).
async fn client_credentials(
    app: &AppState,
    client: &model::Client,
    scope: Option<&str>,
    origin: &Origin,
) -> Result<serde_json::Value, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::unauthorized_client("a public client cannot use client_credentials"));
    }
    let api_scopes: Vec<String> =
        client.scopes().into_iter().filter(|s| !model::IDENTITY_SCOPES.contains(&s.as_str())).collect();
    let scope = match scope {
        None | Some("") => api_scopes,
        Some(s) => {
            let asked = model::parse_scope(s).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            if !asked.iter().all(|a| api_scopes.contains(a)) {
                return Err(OAuthError::invalid_scope("a requested scope is not allowed for this client"));
            }
            asked
        }
    }
    .join(" ");
    let (access_token, exp) = super::tokens::access_token_for_client(app, client, &scope).await?;
    super::grants::audit(
        app,
        Actor::client(client.id, &client.client_id),
        "oidc.token.client_credentials",
        client,
        origin,
        true,
        json!({"scope": scope}),
    )
    .await;
    Ok(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": exp - app.now(), "scope": scope}))
}
