//! The JSON endpoints behind static/webauthn.js: registering passkeys and security keys, and
//! signing in with them (passwordless, as a second step, or for step-up). Ceremony state lives
//! in the session and is taken out (so it works once) when the ceremony finishes.

use super::{CurrentUser, is_local_path, origin_of};
use crate::app::AppState;
use crate::authn::AuthError;
use crate::authn::sessions::{AUTH_KEY, AuthState, PENDING_KEY, PendingMfa};
use crate::authn::webauthn::{self, Authentication, Registration};
use crate::error::Error;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

/// Session key of recovery codes waiting to be shown once.
pub const SHOW_CODES_KEY: &str = "show_recovery_codes";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile/webauthn/register/start", post(start_registration))
        .route("/profile/webauthn/register/finish", post(finish_registration))
        .route("/signin/webauthn/start", post(start_authentication))
        .route("/signin/webauthn/finish", post(finish_authentication))
}

fn json_error(e: Error) -> Response {
    crate::api::error::ApiError(e).into_response()
}

fn auth_json_error(e: AuthError) -> Response {
    match e {
        AuthError::Other(inner) => json_error(inner),
        AuthError::Throttled(s) => json_error(Error::TooManyRequests(s)),
        AuthError::InvalidCredentials => {
            json_error(Error::invalid("credential", "the passkey or security key was not accepted"))
        }
        AuthError::Disabled => json_error(Error::Forbidden(AuthError::Disabled.to_string())),
    }
}

fn session_error() -> Response {
    json_error(Error::internal(anyhow::anyhow!("the session could not be saved")))
}

#[derive(Debug, Deserialize)]
pub struct StartRegistration {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

async fn start_registration(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<StartRegistration>,
) -> Response {
    // As for authenticator apps: adding a factor next to existing ones takes a recent use of one.
    match crate::authn::mfa::has_factors(&app, me.user.id).await {
        Ok(true) if !me.state.has_recent_mfa(app.now(), 5) => {
            return json_error(Error::Forbidden(
                "use one of your existing second factors first (sign in again with it), then add this one".into(),
            ));
        }
        Ok(_) => {}
        Err(e) => return json_error(e),
    }
    match webauthn::start_registration(&app, &me.user, &body.name, &body.kind).await {
        Ok((options, reg)) => {
            if me.session.insert(webauthn::REG_KEY, &reg).await.is_err() {
                return session_error();
            }
            Json(options).into_response()
        }
        Err(e) => json_error(e),
    }
}

async fn finish_registration(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<RegisterPublicKeyCredential>,
) -> Response {
    let Ok(Some(reg)) = me.session.remove::<Registration>(webauthn::REG_KEY).await else {
        return json_error(Error::BadRequest("no registration in progress; start again".into()));
    };
    match webauthn::finish_registration(&app, &me.user, reg, &body, &me.origin).await {
        Ok((cred, codes)) => {
            // Only a first factor completes this sign-in's second step (see confirm_totp).
            if codes.is_some() {
                let mut state = me.state.clone();
                state.add_factor(if cred.backup_eligible { "swk" } else { "hwk" }, app.now());
                if me.session.insert(AUTH_KEY, &state).await.is_err() {
                    return session_error();
                }
            }
            let redirect = match codes {
                Some(codes) => {
                    if me.session.insert(SHOW_CODES_KEY, &codes).await.is_err() {
                        return session_error();
                    }
                    "/profile/mfa/recovery-codes".to_string()
                }
                None => "/profile/mfa?notice=webauthn_added".to_string(),
            };
            Json(json!({"redirect": redirect, "id": cred.id})).into_response()
        }
        Err(e) => json_error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StartAuthentication {
    /// Passwordless sign-in through the browser's autofill (conditional mediation).
    #[serde(default)]
    conditional: bool,
}

/// Whose credential is being asked for: the sign-in in progress, the signed-in user (step-up),
/// or anyone (passwordless).
async fn expected_user(app: &AppState, session: &Session) -> Option<uuid::Uuid> {
    if let Ok(Some(p)) = session.get::<PendingMfa>(PENDING_KEY).await
        && p.expires_at > app.now()
    {
        return Some(p.state.user_id);
    }
    match session.get::<AuthState>(AUTH_KEY).await {
        Ok(Some(a)) => Some(a.user_id),
        _ => None,
    }
}

async fn start_authentication(
    State(app): State<AppState>,
    session: Session,
    body: Option<Json<StartAuthentication>>,
) -> Response {
    let conditional = body.is_some_and(|b| b.0.conditional);
    let user = expected_user(&app, &session).await;
    match webauthn::start_authentication(&app, user).await {
        Ok((rcr, auth)) => {
            if session.insert(webauthn::AUTH_KEY, &auth).await.is_err() {
                return session_error();
            }
            let mut options = serde_json::to_value(&rcr).unwrap_or_default();
            if let Some(obj) = options.as_object_mut() {
                if conditional && user.is_none() {
                    obj.insert("mediation".into(), json!("conditional"));
                } else {
                    obj.remove("mediation");
                }
            }
            Json(options).into_response()
        }
        Err(e) => json_error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

async fn finish_authentication(
    State(app): State<AppState>,
    session: Session,
    Query(q): Query<NextQuery>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let origin = origin_of(&app, &parts);
    let Json(credential) = match <Json<PublicKeyCredential> as axum::extract::FromRequest<()>>::from_request(
        Request::from_parts(parts, body),
        &(),
    )
    .await
    {
        Ok(j) => j,
        Err(e) => return json_error(Error::BadRequest(e.body_text())),
    };
    let Ok(Some(auth)) = session.remove::<Authentication>(webauthn::AUTH_KEY).await else {
        return json_error(Error::BadRequest("no sign-in in progress; start again".into()));
    };
    let passwordless = matches!(auth, Authentication::Discoverable { .. });
    let ok = match webauthn::finish_authentication(&app, auth, &credential, &origin).await {
        Ok(ok) => ok,
        Err(e) => return auth_json_error(e),
    };
    let now = app.now();
    let pending = session.get::<PendingMfa>(PENDING_KEY).await.ok().flatten().filter(|p| p.state.user_id == ok.user.id);
    let current = session.get::<AuthState>(AUTH_KEY).await.ok().flatten().filter(|a| a.user_id == ok.user.id);
    let next = q.next.filter(|n| is_local_path(n));
    let (mut state, redirect, rotate) = match (passwordless, pending, current) {
        (false, Some(p), _) => (p.state, next.unwrap_or(p.next), true),
        (false, None, Some(a)) => (a, next.unwrap_or_else(|| "/".into()), false),
        (false, None, None) => return json_error(Error::BadRequest("the sign-in expired; start again".into())),
        (true, _, _) => {
            let state = AuthState {
                user_id: ok.user.id,
                username: ok.user.username.clone(),
                auth_time: now,
                amr: vec![ok.method.to_string()],
                must_change_password: false,
                ip: origin.ip.clone(),
                user_agent: origin.user_agent.clone(),
                mfa_time: None,
                must_enrol_mfa: false,
            };
            (state, next.unwrap_or_else(|| "/".into()), true)
        }
    };
    if !passwordless || ok.user_verified {
        // A passkey with user verification is two factors in one (possession + PIN/biometric).
        state.add_factor(ok.method, now);
    }
    if rotate {
        // A fresh session: a new id, nothing carried over.
        session.clear().await;
        if session.cycle_id().await.is_err() {
            return session_error();
        }
    }
    if session.insert(AUTH_KEY, &state).await.is_err() {
        return session_error();
    }
    let redirect = if ok.user.must_change_password { "/profile/password".to_string() } else { redirect };
    (StatusCode::OK, Json(json!({"redirect": redirect}))).into_response()
}
