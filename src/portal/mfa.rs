//! Second-factor pages: the sign-in challenge (and step-up), and "Two-step sign-in" in the
//! profile, where people add and remove authenticator apps and renew recovery codes.

use super::{CurrentUser, Layout, PortalForm, csrf_of, is_local_path, origin_of, render, see_other};
use crate::app::AppState;
use crate::authn::AuthError;
use crate::authn::mfa::{self, Presented, TotpAuthenticator};
use crate::authn::sessions::{AUTH_KEY, AuthState, PENDING_KEY, PendingMfa};
use crate::authn::totp;
use crate::error::Error;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin/mfa", get(show_challenge).post(submit_challenge))
        .route("/profile/mfa", get(show_factors))
        .route("/profile/mfa/totp", post(add_totp))
        .route("/profile/mfa/totp/{id}", get(show_enrolment))
        .route("/profile/mfa/totp/{id}/confirm", post(confirm_totp))
        .route("/profile/mfa/totp/{id}/delete", post(delete_totp))
        .route("/profile/mfa/recovery", post(regenerate_recovery))
        .route("/profile/mfa/recovery-codes", get(show_new_recovery_codes))
        .route("/profile/webauthn/{id}/delete", post(delete_webauthn))
}

#[derive(Template)]
#[template(path = "portal/mfa_challenge.html")]
struct ChallengePage {
    layout: Layout,
    next: String,
    step_up: bool,
    has_totp: bool,
    has_webauthn: bool,
}

/// Which kinds of factor a user can answer a challenge with.
async fn kinds(app: &AppState, user: uuid::Uuid) -> (bool, bool) {
    let totp = mfa::list_totp(app, user).await.map(|l| l.iter().any(|a| a.confirmed)).unwrap_or(false);
    let webauthn = crate::authn::webauthn::list(app, user).await.map(|l| !l.is_empty()).unwrap_or(false);
    (totp, webauthn)
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Whose second factor is being asked for: a sign-in in progress, or a signed-in user stepping up.
enum Challenge {
    SignIn(PendingMfa),
    StepUp(AuthState),
}

async fn challenge_of(app: &AppState, session: &Session) -> Option<Challenge> {
    if let Ok(Some(p)) = session.get::<PendingMfa>(PENDING_KEY).await {
        if p.expires_at > app.now() {
            return Some(Challenge::SignIn(p));
        }
        let _ = session.remove::<PendingMfa>(PENDING_KEY).await;
        return None;
    }
    match session.get::<AuthState>(AUTH_KEY).await {
        Ok(Some(a)) => Some(Challenge::StepUp(a)),
        _ => None,
    }
}

fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| is_local_path(n)).unwrap_or("/").to_string()
}

async fn show_challenge(
    State(app): State<AppState>,
    session: Session,
    Query(q): Query<NextQuery>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let (next, step_up, user) = match challenge_of(&app, &session).await {
        Some(Challenge::SignIn(p)) => (p.next, false, p.state.user_id),
        Some(Challenge::StepUp(a)) => (safe_next(q.next.as_deref()), true, a.user_id),
        None => return see_other("/signin?notice=mfa_expired"),
    };
    let (has_totp, has_webauthn) = kinds(&app, user).await;
    render(&ChallengePage {
        layout: Layout::new("Two-step sign-in", None, &csrf_of(&parts)),
        next,
        step_up,
        has_totp,
        has_webauthn,
    })
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

impl CodeForm {
    fn presented(&self) -> Presented {
        // Six digits are an authenticator code; anything else typed in a code field is taken as
        // a recovery code (people with only passkeys have no authenticator codes).
        let digits: String = self.code.chars().filter(|c| !c.is_whitespace()).collect();
        let looks_totp = digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit());
        if self.method == "recovery" || !looks_totp {
            Presented::Recovery(self.code.clone())
        } else {
            Presented::Totp(self.code.clone())
        }
    }
}

fn auth_error_parts(e: AuthError) -> (StatusCode, String) {
    match e {
        AuthError::Other(Error::Invalid(i)) => (StatusCode::UNPROCESSABLE_ENTITY, i.to_string()),
        AuthError::Other(inner) => (inner.status(), inner.public_message()),
        AuthError::Throttled(s) => (StatusCode::TOO_MANY_REQUESTS, AuthError::Throttled(s).to_string()),
        other => (StatusCode::UNAUTHORIZED, other.to_string()),
    }
}

async fn submit_challenge(State(app): State<AppState>, session: Session, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let origin = origin_of(&app, &parts);
    let csrf = csrf_of(&parts);
    let PortalForm(form) = match <PortalForm<CodeForm> as axum::extract::FromRequest<()>>::from_request(
        Request::from_parts(parts, body),
        &(),
    )
    .await
    {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(challenge) = challenge_of(&app, &session).await else { return see_other("/signin?notice=mfa_expired") };
    let (mut state, next, step_up) = match challenge {
        Challenge::SignIn(p) => (p.state, p.next, false),
        Challenge::StepUp(a) => (a, safe_next(form.next.as_deref()), true),
    };
    let user = match crate::directory::service::get_user(&app, state.user_id).await {
        Ok(u) if u.is_active() => u,
        _ => {
            let _ = session.flush().await;
            return see_other("/signin?notice=expired");
        }
    };
    match mfa::verify(&app, &user, &form.presented(), &origin).await {
        Ok(ok) => {
            state.add_factor(ok.method, app.now());
            let saved = if step_up {
                session.insert(AUTH_KEY, &state).await
            } else {
                // A fresh session: a new id, nothing carried over.
                session.clear().await;
                match session.cycle_id().await {
                    Ok(()) => session.insert(AUTH_KEY, &state).await,
                    Err(e) => Err(e),
                }
            };
            if saved.is_err() {
                return super::error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The session could not be saved.",
                    &origin.request_id,
                );
            }
            match ok.recovery_remaining {
                Some(left) => see_other(&format!("/profile/mfa?recovery_left={left}")),
                None if state.must_change_password => see_other("/profile/password"),
                None => see_other(&next),
            }
        }
        Err(e) => {
            let (status, message) = auth_error_parts(e);
            let layout = Layout::new("Two-step sign-in", None, &csrf).with_error(Some(message));
            let (has_totp, has_webauthn) = kinds(&app, user.id).await;
            let mut resp = render(&ChallengePage { layout, next, step_up, has_totp, has_webauthn });
            *resp.status_mut() = status;
            resp
        }
    }
}

#[derive(Template)]
#[template(path = "portal/mfa.html")]
struct FactorsPage {
    layout: Layout,
    authenticators: Vec<TotpAuthenticator>,
    keys: Vec<crate::authn::webauthn::Credential>,
    webauthn_available: bool,
    recovery_left: i64,
    required: bool,
    must_enrol: bool,
}

#[derive(Debug, Deserialize)]
pub struct FactorsQuery {
    notice: Option<String>,
    recovery_left: Option<i64>,
}

async fn factors_page(
    app: &AppState,
    me: &CurrentUser,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, super::PageError> {
    let authenticators = mfa::list_totp(app, me.user.id).await.map_err(|e| me.fail(e))?;
    let recovery_left = mfa::recovery_remaining(app, me.user.id).await.map_err(|e| me.fail(e))?;
    let required = mfa::required_for(app, me.user.id).await.map_err(|e| me.fail(e))?;
    let keys = crate::authn::webauthn::list(app, me.user.id).await.map_err(|e| me.fail(e))?;
    let mut layout = Layout::new("Two-step sign-in", Some(me), &me.csrf).with_error(error);
    layout.notice = notice;
    Ok(render(&FactorsPage {
        layout,
        authenticators,
        keys,
        webauthn_available: app.webauthn.is_some(),
        recovery_left,
        required,
        must_enrol: me.state.must_enrol_mfa,
    }))
}

async fn show_factors(
    State(app): State<AppState>,
    me: CurrentUser,
    Query(q): Query<FactorsQuery>,
) -> Result<Response, super::PageError> {
    let notice = match q.recovery_left {
        // A count-specific notice (the number is parsed as an integer, never reflected text).
        Some(left) => Some(format!(
            "You signed in with a recovery code; it cannot be used again. {} recovery code{} left{}",
            left.max(0),
            if left == 1 { "" } else { "s" },
            if left <= 3 { ": create new ones below." } else { "." }
        )),
        None => q.notice.as_deref().and_then(super::notice_text).map(str::to_string),
    };
    factors_page(&app, &me, notice, None).await
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

async fn add_totp(
    State(app): State<AppState>,
    me: CurrentUser,
    PortalForm(form): PortalForm<NameForm>,
) -> Result<Response, super::PageError> {
    // Whoever holds a session must not be able to add a factor of their own to an account that
    // has one: that takes a recent use of an existing factor.
    if mfa::has_factors(&app, me.user.id).await.map_err(|e| me.fail(e))? && !me.state.has_recent_mfa(app.now(), 5) {
        return Ok(see_other("/signin/mfa?next=%2Fprofile%2Fmfa"));
    }
    match mfa::begin_totp(&app, &me.user, &form.name).await {
        Ok((a, _)) => Ok(see_other(&format!("/profile/mfa/totp/{}", a.id))),
        Err(e) => {
            let status = e.status();
            let mut resp = factors_page(&app, &me, None, Some(e.to_string())).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

#[derive(Template)]
#[template(path = "portal/totp_enrol.html")]
struct EnrolPage {
    layout: Layout,
    a: TotpAuthenticator,
    secret: String,
    uri: String,
    qr_svg: String,
}

async fn enrol_page(
    app: &AppState,
    me: &CurrentUser,
    id: Uuid,
    error: Option<String>,
) -> Result<Response, super::PageError> {
    let (a, secret) = mfa::pending_totp(app, me.user.id, id).await.map_err(|e| me.fail(e))?;
    let host = app.config.public_url().host_str().unwrap_or("Lanyard").to_string();
    let uri = secret.uri(&format!("Lanyard ({host})"), &me.user.username);
    let layout = Layout::new("Add an authenticator app", Some(me), &me.csrf).with_error(error);
    let grouped = secret
        .base32()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(render(&EnrolPage { layout, a, secret: grouped, qr_svg: totp::qr_svg(&uri), uri }))
}

async fn show_enrolment(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, super::PageError> {
    enrol_page(&app, &me, id, None).await
}

#[derive(Template)]
#[template(path = "portal/recovery_codes.html")]
struct RecoveryPage {
    layout: Layout,
    codes: Vec<String>,
}

async fn confirm_totp(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<CodeForm>,
) -> Result<Response, super::PageError> {
    match mfa::confirm_totp(&app, &me.user, id, &form.code, &me.origin).await {
        Ok(codes) => {
            // A first factor (recovery codes come with it) completes this sign-in's second step;
            // adding another one does not count as using a factor.
            if codes.is_some() {
                let mut state = me.state.clone();
                state.add_factor("otp", app.now());
                let _ = me.session.insert(AUTH_KEY, &state).await;
            }
            match codes {
                Some(codes) => {
                    let mut layout = Layout::new("Your recovery codes", Some(&me), &me.csrf);
                    layout.notice =
                        Some("The authenticator was added. Keep these recovery codes somewhere safe.".into());
                    Ok(render(&RecoveryPage { layout, codes }))
                }
                None => Ok(see_other("/profile/mfa?notice=mfa_added")),
            }
        }
        Err(e) => {
            let status = e.status();
            let msg = match &e {
                Error::Invalid(i) => i.to_string(),
                other => other.public_message(),
            };
            let mut resp = enrol_page(&app, &me, id, Some(msg)).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

async fn delete_totp(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<CodeForm>,
) -> Result<Response, super::PageError> {
    match mfa::remove_totp(&app, &me.user, id, &form.presented(), &me.origin).await {
        Ok(()) => Ok(see_other("/profile/mfa?notice=mfa_removed")),
        Err(e) => {
            let (status, message) = auth_error_parts(e);
            let mut resp = factors_page(&app, &me, None, Some(message)).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

async fn regenerate_recovery(
    State(app): State<AppState>,
    me: CurrentUser,
    PortalForm(form): PortalForm<CodeForm>,
) -> Result<Response, super::PageError> {
    let presented = form.presented();
    let fresh =
        if form.code.trim().is_empty() && me.state.has_recent_mfa(app.now(), 5) { None } else { Some(&presented) };
    match mfa::regenerate_recovery(&app, &me.user, fresh, &me.origin).await {
        Ok(codes) => {
            let mut layout = Layout::new("Your recovery codes", Some(&me), &me.csrf);
            layout.notice = Some("New recovery codes were created; the old ones no longer work.".into());
            Ok(render(&RecoveryPage { layout, codes }))
        }
        Err(e) => {
            let (status, message) = auth_error_parts(e);
            let mut resp = factors_page(&app, &me, None, Some(message)).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

async fn show_new_recovery_codes(me: CurrentUser) -> Response {
    match me.session.remove::<Vec<String>>(super::webauthn::SHOW_CODES_KEY).await {
        Ok(Some(codes)) => {
            let mut layout = Layout::new("Your recovery codes", Some(&me), &me.csrf);
            layout.notice =
                Some("The passkey or security key was added. Keep these recovery codes somewhere safe.".into());
            render(&RecoveryPage { layout, codes })
        }
        _ => see_other("/profile/mfa"),
    }
}

/// Removing a passkey needs a fresh second factor: one used in the last five minutes, or a code.
async fn delete_webauthn(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<Uuid>,
    PortalForm(form): PortalForm<CodeForm>,
) -> Result<Response, super::PageError> {
    let fresh = me.state.has_recent_mfa(app.now(), 5);
    let checked = if fresh {
        Ok(())
    } else if form.code.trim().is_empty() {
        Err(AuthError::Other(Error::invalid(
            "code",
            "enter a current authenticator or recovery code, or sign in again with the passkey first",
        )))
    } else {
        mfa::verify(&app, &me.user, &form.presented(), &me.origin).await.map(|_| ())
    };
    let result = match checked {
        Ok(()) => crate::authn::webauthn::remove(&app, &me.user, id, &me.origin).await.map_err(AuthError::Other),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see_other("/profile/mfa?notice=webauthn_removed")),
        Err(e) => {
            let (status, message) = auth_error_parts(e);
            let mut resp = factors_page(&app, &me, None, Some(message)).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}
