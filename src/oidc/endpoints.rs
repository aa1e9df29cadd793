//! The provider's smaller endpoints: discovery (OIDC Discovery §3, RFC 8414), JWKS, userinfo
//! (OIDC Core §5.3), introspection (RFC 7662), revocation (RFC 7009) and RP-initiated logout
//! (OpenID Connect RP-Initiated Logout 1.0).

use super::error::OAuthError;
use super::token::{back_channel, limit_ip, parse_form};
use super::{grants, model, store, tokens};
use crate::app::AppState;
use crate::authn::sessions::{AUTH_KEY, AuthState};
use crate::portal::{Layout, error_page, origin_of, render, see_other};
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;

pub async fn get_discovery(State(app): State<AppState>) -> Response {
    let iss = tokens::issuer(&app);
    let doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "jwks_uri": format!("{iss}/oauth2/jwks"),
        "registration_endpoint": null,
        "device_authorization_endpoint": format!("{iss}/oauth2/device_authorization"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "end_session_endpoint": format!("{iss}/oauth2/logout"),
        "scopes_supported": model::IDENTITY_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": model::GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": model::SIGNING_ALGS,
        "token_endpoint_auth_methods_supported": model::AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": model::AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
                             "name", "preferred_username", "updated_at", "email", "email_verified", "groups"],
        "acr_values_supported": ["pwd", "mfa"],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    });
    let mut resp = Json(doc).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    resp
}

pub async fn get_jwks(State(app): State<AppState>) -> Response {
    match super::keys::current(&app).await {
        Ok(set) => {
            let mut resp = (
                [(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"))],
                set.jwks.as_str().to_string(),
            )
                .into_response();
            // Short, so a new key is seen well within the pre-publish period.
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
            resp
        }
        Err(e) => OAuthError::from(e).into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    (v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ")).then(|| v[7..].trim().to_string())
}

/// `GET|POST /oauth2/userinfo` with a bearer access token (header, or form body on POST).
pub async fn userinfo(
    State(app): State<AppState>,
    crate::server::RequestOrigin(origin): crate::server::RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        limit_ip(&app, &origin)?;
        let token = match bearer(&headers) {
            Some(t) => t,
            None if !body.is_empty() => parse_form(&body)?
                .remove("access_token")
                .ok_or_else(|| OAuthError::invalid_token("a bearer access token is required"))?,
            None => return Err(OAuthError::invalid_token("a bearer access token is required")),
        };
        let claims = tokens::verify_access(&app, &token)
            .await
            .ok_or_else(|| OAuthError::invalid_token("the access token is invalid or expired"))?;
        if claims.gid.is_none() || !grants::access_token_live(&app, &claims).await? {
            return Err(OAuthError::invalid_token("the access token is not valid for userinfo"));
        }
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        if !scopes.contains(&"openid") {
            return Err(OAuthError::new(StatusCode::FORBIDDEN, "insufficient_scope", "the openid scope is required"));
        }
        let user_id = uuid::Uuid::parse_str(&claims.sub).map_err(|_| OAuthError::invalid_token("bad subject"))?;
        let user = crate::directory::service::get_user(&app, user_id).await?;
        Ok(Value::Object(tokens::user_claims(&app, &user, &scopes).await?))
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /oauth2/introspect` (RFC 7662): for confidential clients (resource servers).
pub async fn introspect(
    State(app): State<AppState>,
    crate::server::RequestOrigin(origin): crate::server::RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let (form, caller) = back_channel(&app, &headers, &body, &origin, "/oauth2/introspect").await?;
        if caller.is_public() {
            return Err(OAuthError::unauthorized_client("public clients may not introspect tokens"));
        }
        let token = form.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let inactive = json!({"active": false});
        if let Some(c) = tokens::verify_access(&app, token).await {
            if !grants::access_token_live(&app, &c).await? {
                return Ok(inactive);
            }
            let mut v = serde_json::to_value(&c).map_err(crate::error::Error::internal)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("active".into(), json!(true));
                o.insert("token_type".into(), json!("Bearer"));
                o.remove("gid");
            }
            return Ok(v);
        }
        // A refresh token: active while unused, unexpired, and its grant live.
        let hash = crate::crypto::token::PlainToken::from_presented(token).hash();
        let mut tx = app.db.conn().await?;
        let Some(r) = store::find_refresh(&mut tx, &hash).await? else { return Ok(inactive) };
        let Some(g) = store::find_grant(&mut tx, r.grant_id).await? else { return Ok(inactive) };
        let Some(client) = store::find_client(&mut tx, g.client_id).await? else { return Ok(inactive) };
        if r.used_at.is_some() || r.expires_at <= app.now() || g.revoked_at.is_some() {
            return Ok(inactive);
        }
        Ok(
            json!({"active": true, "token_type": "refresh_token", "client_id": client.client_id, "sub": g.user_id.to_string(),
                  "scope": g.scope, "exp": r.expires_at, "iat": g.created_at, "iss": tokens::issuer(&app), "sid": g.sid}),
        )
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /oauth2/revoke` (RFC 7009): 200 whatever the token was, once the client is authenticated.
pub async fn revoke(
    State(app): State<AppState>,
    crate::server::RequestOrigin(origin): crate::server::RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let (form, client) = back_channel(&app, &headers, &body, &origin, "/oauth2/revoke").await?;
        let token = form.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        grants::revoke_token(&app, &client, token, form.get("token_type_hint").map(String::as_str), &origin).await
    };
    match run.await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    /// Set by Lanyard's own confirmation form.
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "oidc/logout.html")]
struct LogoutPage {
    layout: Layout,
    app_name: String,
    id_token_hint: String,
    post_logout_redirect_uri: String,
    state: String,
    client_id: String,
}

async fn logout_get(
    State(app): State<AppState>,
    session: Session,
    Query(p): Query<LogoutParams>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let origin = origin_of(&app, &parts);
    logout(&app, &session, p, &origin, &crate::portal::csrf_of(&parts), false).await
}

async fn logout_post(State(app): State<AppState>, session: Session, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let origin = origin_of(&app, &parts);
    let csrf = crate::portal::csrf_of(&parts);
    match axum::Form::<LogoutParams>::from_request(Request::from_parts(parts, body), &()).await {
        // The form is CSRF-checked by the middleware, so its confirmation is the person's own.
        Ok(f) => {
            let confirmed = f.0.confirm.as_deref() == Some("yes");
            logout(&app, &session, f.0, &origin, &csrf, confirmed).await
        }
        Err(e) => {
            error_page(StatusCode::BAD_REQUEST, "The request could not be read", &e.body_text(), &origin.request_id)
        }
    }
}

/// Ends the portal session (and the grants it made that are not offline), then returns to the
/// app's registered post-logout URI. Without a valid `id_token_hint` for the signed-in person,
/// they are asked first (RP-Initiated Logout §2: a logout request could be forged).
async fn logout(
    app: &AppState,
    session: &Session,
    p: LogoutParams,
    origin: &crate::audit::Origin,
    csrf: &str,
    confirmed: bool,
) -> Response {
    let rid = &origin.request_id;
    let empty_none = |v: Option<String>| v.filter(|s| !s.is_empty());
    let p = LogoutParams {
        id_token_hint: empty_none(p.id_token_hint),
        post_logout_redirect_uri: empty_none(p.post_logout_redirect_uri),
        state: empty_none(p.state),
        client_id: empty_none(p.client_id),
        confirm: p.confirm,
    };
    let hint = match p.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => match tokens::verify_id_token_hint(app, h).await {
            Some(c) => Some(c),
            None => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "Invalid logout request",
                    "The application sent an ID token that Lanyard did not issue or cannot read.",
                    rid,
                );
            }
        },
        None => None,
    };
    let hinted_client = hint.as_ref().and_then(|c| c.get("aud")).and_then(Value::as_str).map(str::to_string);
    if let (Some(a), Some(b)) = (&hinted_client, &p.client_id)
        && a != b
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid logout request",
            "client_id does not match the ID token.",
            rid,
        );
    }
    let client = match hinted_client.or(p.client_id.clone()) {
        Some(id) => match super::clients::find_enabled(app, &id).await {
            Ok(c) => c,
            Err(e) => return crate::portal::PageError(e, rid.clone()).into_response(),
        },
        None => None,
    };
    // Only a registered URI, matched exactly, and only when we know the client.
    let target = match (&p.post_logout_redirect_uri, &client) {
        (None, _) => None,
        (Some(uri), Some(c)) if c.post_logout_redirect_uris().iter().any(|r| r == uri) => Some(uri.clone()),
        (Some(_), _) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Logout address not registered",
                "The application asked to be sent to an address after sign-out that is not registered for it.",
                rid,
            );
        }
    };
    let state: Option<AuthState> = session.get(AUTH_KEY).await.ok().flatten();
    if let Some(s) = &state {
        let hint_matches =
            hint.as_ref().and_then(|c| c.get("sub")).and_then(Value::as_str) == Some(s.user_id.to_string().as_str());
        if !hint_matches && !confirmed {
            let mut layout = Layout::new("Sign out?", None, csrf);
            layout.user = Some(crate::portal::NavUser {
                username: s.username.clone(),
                display_name: s.username.clone(),
                is_admin: false,
            });
            return render(&LogoutPage {
                layout,
                app_name: client.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
                id_token_hint: p.id_token_hint.clone().unwrap_or_default(),
                post_logout_redirect_uri: p.post_logout_redirect_uri.clone().unwrap_or_default(),
                state: p.state.clone().unwrap_or_default(),
                client_id: client.as_ref().map(|c| c.client_id.clone()).unwrap_or_default(),
            });
        }
        let sid = store::session_sid(&app.db, session).await;
        let ended = async {
            if let Some(sid) = sid {
                let mut tx = app.db.begin().await?;
                store::revoke_grants_of_session(&mut tx, &sid.to_string(), app.now()).await?;
                tx.commit().await?;
            }
            crate::authn::service::record_sign_out(app, s, origin).await
        }
        .await;
        if let Err(e) = ended {
            return crate::portal::PageError(e, rid.clone()).into_response();
        }
        let _ = session.flush().await;
    }
    match target {
        Some(uri) => {
            let Ok(mut url) = url::Url::parse(&uri) else { return see_other("/signin?notice=signed_out") };
            if let Some(st) = &p.state {
                url.query_pairs_mut().append_pair("state", st);
            }
            (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response()
        }
        None => see_other("/signin?notice=signed_out"),
    }
}

pub fn logout_routes() -> axum::Router<AppState> {
    axum::Router::new().route("/oauth2/logout", axum::routing::get(logout_get).post(logout_post))
}
