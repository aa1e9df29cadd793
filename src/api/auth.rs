//! Who may call the admin API: a bearer admin token, or an administrator's portal session
//! (whose state-changing calls carry the CSRF header, checked in server.rs).

use super::error::json_error;
use crate::app::AppState;
use crate::audit::{Actor, Origin};
use crate::authn::sessions::{AUTH_KEY, AuthState};
use crate::directory::Ctx;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use tower_sessions::Session;

/// An authenticated administrator (person or token) and where the request came from.
#[derive(Debug, Clone)]
pub struct Admin {
    pub ctx: Ctx,
}

fn unauthenticated(msg: &str) -> Response {
    let mut r = json_error(StatusCode::UNAUTHORIZED, "unauthenticated", msg);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"lanyard\""));
    r
}

/// A caller allowed to ask for decisions: an administrator, or a token with the `authorize`
/// scope (what resource services hold).
#[derive(Debug, Clone)]
pub struct Decider {
    pub ctx: Ctx,
}

impl FromRequestParts<AppState> for Decider {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        authenticate(parts, app, true).await.map(|ctx| Decider { ctx })
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        authenticate(parts, app, false).await.map(|ctx| Admin { ctx })
    }
}

async fn authenticate(parts: &mut Parts, app: &AppState, decisions_only: bool) -> Result<Ctx, Response> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned();
    let origin: Origin = crate::server::origin(app, &parts.headers, peer.as_ref());
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| unauthenticated("use Authorization: Bearer <admin token>"))?;
        let token = crate::authn::api_tokens::authenticate(app, presented)
            .await
            .map_err(|e| super::error::ApiError(e).into_response())?
            .ok_or_else(|| {
                unauthenticated(
                    "the token is unknown, expired or revoked; create one with `lanyard admin token create`",
                )
            })?;
        if token.scope != crate::authn::api_tokens::SCOPE_ADMIN && !decisions_only {
            return Err(json_error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this token may only ask for decisions (POST /api/v1/authorize); use an admin token",
            ));
        }
        return Ok(Ctx { actor: Actor::token(token.id, &token.name), origin });
    }
    let session = parts.extensions.get::<Session>().cloned();
    let state: Option<AuthState> = match &session {
        Some(s) => s.get(AUTH_KEY).await.ok().flatten(),
        None => None,
    };
    let state = state.ok_or_else(|| unauthenticated("sign in, or send Authorization: Bearer <admin token>"))?;
    let user = crate::directory::service::get_user(app, state.user_id).await.ok().filter(|u| u.is_active());
    let Some(user) = user else {
        return Err(unauthenticated("the session's user no longer exists or is disabled"));
    };
    if user.must_change_password {
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "change your password in the portal first",
        ));
    }
    let is_admin = crate::directory::service::is_admin(app, user.id)
        .await
        .map_err(|e| super::error::ApiError(e).into_response())?;
    if !is_admin {
        return Err(json_error(StatusCode::FORBIDDEN, "forbidden", "administrators only"));
    }
    // The same second-factor rules as the admin pages: a session that must still enrol a factor,
    // or whose factor use is older than the step-up window, does not administer anything.
    if state.must_enrol_mfa {
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "mfa_enrolment_required",
            "add a second factor in the portal (/profile/mfa) first",
        ));
    }
    let policy = crate::authn::mfa::policy(app).await.map_err(|e| super::error::ApiError(e).into_response())?;
    if policy.step_up_minutes > 0
        && !state.has_recent_mfa(app.now(), policy.step_up_minutes)
        && crate::authn::mfa::has_factors(app, user.id).await.map_err(|e| super::error::ApiError(e).into_response())?
    {
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "step_up_required",
            "use your second factor again in the portal (/signin/mfa), then retry",
        ));
    }
    Ok(Ctx { actor: Actor::user(user.id, &user.username), origin })
}
