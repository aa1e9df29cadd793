//! Sign-in and sign-out pages.

use super::{Layout, PortalForm, csrf_of, is_local_path, origin_of, render, see_other};
use crate::app::AppState;
use crate::authn::AuthError;
use crate::authn::sessions::{AUTH_KEY, AuthState};
use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new().route("/signin", get(show_signin).post(submit_signin)).route("/signout", post(sign_out))
}

#[derive(Template)]
#[template(path = "portal/signin.html")]
struct SigninPage {
    layout: Layout,
    username: String,
    next: String,
}

#[derive(Debug, Deserialize)]
pub struct SigninQuery {
    next: Option<String>,
    notice: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| is_local_path(n)).unwrap_or("/").to_string()
}

async fn show_signin(
    State(app): State<AppState>,
    session: Session,
    Query(q): Query<SigninQuery>,
    req: Request,
) -> Response {
    let (mut parts, _) = req.into_parts();
    if let Ok(Some(_)) = session.get::<AuthState>(AUTH_KEY).await
        && super::CurrentUser::from_request_parts(&mut parts, &app).await.is_ok()
    {
        return see_other(&safe_next(q.next.as_deref()));
    }
    let layout = Layout::new("Sign in", None, &csrf_of(&parts)).with_notice(q.notice.as_deref());
    render(&SigninPage { layout, username: String::new(), next: safe_next(q.next.as_deref()) })
}

#[derive(Debug, Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn submit_signin(State(app): State<AppState>, session: Session, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let origin = origin_of(&app, &parts);
    let csrf = csrf_of(&parts);
    let PortalForm(form) = match PortalForm::<SigninForm>::from_request(Request::from_parts(parts, body), &()).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let next = safe_next(form.next.as_deref());
    match crate::authn::service::sign_in(&app, &form.username, &form.password, &origin).await {
        Ok(signed_in) => match finish_password(&app, &session, signed_in, next).await {
            Ok(resp) => resp,
            Err(e) => super::PageError(e, origin.request_id).into_response(),
        },
        Err(e) => {
            let status = match &e {
                AuthError::InvalidCredentials | AuthError::Disabled => StatusCode::UNAUTHORIZED,
                AuthError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                AuthError::Other(inner) => inner.status(),
            };
            let message = match &e {
                AuthError::Other(inner) => inner.public_message(),
                other => other.to_string(),
            };
            let layout = Layout::new("Sign in", None, &csrf).with_error(Some(message));
            let mut resp = render(&SigninPage { layout, username: form.username.chars().take(256).collect(), next });
            *resp.status_mut() = status;
            resp
        }
    }
}

/// After the password: ask for the second factor if the user has one; otherwise sign in, and
/// flag the session for enrolment if the MFA policy requires a factor the user lacks.
async fn finish_password(
    app: &AppState,
    session: &Session,
    signed_in: crate::authn::service::SignedIn,
    next: String,
) -> Result<Response, crate::error::Error> {
    use crate::authn::mfa;
    use crate::authn::sessions::{PENDING_KEY, PendingMfa};
    let save_err = |_| crate::error::Error::internal(anyhow::anyhow!("the session could not be saved"));
    // A fresh session at sign-in, new id and nothing carried over from before (ceremony state,
    // codes waiting to be shown), defeats session fixation.
    session.clear().await;
    session.cycle_id().await.map_err(save_err)?;
    if mfa::has_factors(app, signed_in.user.id).await? {
        let pending = PendingMfa { state: signed_in.state, expires_at: app.now() + 300, next };
        // Whoever was signed in on this browser before is signed out until the second step.
        session.remove::<AuthState>(AUTH_KEY).await.map_err(save_err)?;
        session.insert(PENDING_KEY, &pending).await.map_err(save_err)?;
        return Ok(see_other("/signin/mfa"));
    }
    // No second step: the sign-in is complete.
    if signed_in.had_failures {
        crate::authn::service::forget_failures(app, &signed_in.user.username).await?;
    }
    let mut state = signed_in.state;
    state.must_enrol_mfa = mfa::required_for(app, signed_in.user.id).await?;
    session.insert(AUTH_KEY, &state).await.map_err(save_err)?;
    Ok(if state.must_change_password {
        see_other("/profile/password")
    } else if state.must_enrol_mfa {
        see_other("/profile/mfa")
    } else {
        see_other(&next)
    })
}

async fn sign_out(State(app): State<AppState>, session: Session, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let origin = origin_of(&app, &parts);
    if let Ok(Some(state)) = session.get::<AuthState>(AUTH_KEY).await
        && let Err(e) = crate::authn::service::record_sign_out(&app, &state, &origin).await
    {
        return super::PageError(e, origin.request_id).into_response();
    }
    let _ = session.flush().await;
    see_other("/signin?notice=signed_out")
}
