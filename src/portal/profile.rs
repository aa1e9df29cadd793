//! The profile: your details, your password, your sessions.

use super::home::NoticeQuery;
use super::{CurrentUser, Layout, PortalForm, render, see_other, when};
use crate::app::AppState;
use crate::authn::AuthError;
use crate::authn::sessions::{self, SessionInfo};
use crate::error::Error;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show_profile))
        .route("/profile/password", get(show_password).post(change_password))
        .route("/profile/sessions/{id}/revoke", post(revoke_session))
        .route("/profile/sessions/revoke-others", post(revoke_others))
}

pub struct SessionRow {
    pub id: Uuid,
    pub created: String,
    pub last_seen: String,
    pub ip: String,
    pub user_agent: String,
    pub is_current: bool,
}

#[derive(Template)]
#[template(path = "portal/profile.html")]
struct ProfilePage {
    layout: Layout,
    username: String,
    display_name: String,
    email: String,
    groups: Vec<String>,
    sessions: Vec<SessionRow>,
}

fn current_hash(me: &CurrentUser) -> String {
    me.session.id().map(|id| sessions::id_hash(&id)).unwrap_or_default()
}

pub fn session_rows(list: Vec<SessionInfo>, current: &str) -> Vec<SessionRow> {
    list.into_iter()
        .map(|s| SessionRow {
            id: s.id,
            created: when(&s.created_at),
            last_seen: when(&s.last_seen_at),
            ip: s.ip,
            user_agent: s.user_agent,
            is_current: s.id_hash == current,
        })
        .collect()
}

async fn show_profile(
    State(app): State<AppState>,
    me: CurrentUser,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, super::PageError> {
    let groups = crate::directory::service::groups_of(&app, me.user.id).await.map_err(|e| me.fail(e))?;
    let list = sessions::list_for_user(&app.db, me.user.id, app.now(), app.config.session.idle_timeout.secs())
        .await
        .map_err(|e| me.fail(e))?;
    let layout = Layout::new("Your profile", Some(&me), &me.csrf).with_notice(q.notice.as_deref());
    Ok(render(&ProfilePage {
        layout,
        username: me.user.username.clone(),
        display_name: me.user.display_name.clone(),
        email: me.user.email.clone(),
        groups: groups.into_iter().map(|g| g.name).collect(),
        sessions: session_rows(list, &current_hash(&me)),
    }))
}

#[derive(Template)]
#[template(path = "portal/password.html")]
struct PasswordPage {
    layout: Layout,
    forced: bool,
    min_length: usize,
}

async fn show_password(State(app): State<AppState>, me: CurrentUser) -> Response {
    let layout = Layout::new("Change your password", Some(&me), &me.csrf);
    render(&PasswordPage { layout, forced: me.user.must_change_password, min_length: app.passwords.min_length() })
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn change_password(
    State(app): State<AppState>,
    me: CurrentUser,
    PortalForm(form): PortalForm<PasswordForm>,
) -> Response {
    let result = if form.new_password != form.confirm_password {
        Err(AuthError::Other(Error::invalid("confirm_password", "does not match the new password")))
    } else {
        crate::authn::service::change_password(
            &app,
            me.user.id,
            &form.current_password,
            &form.new_password,
            &current_hash(&me),
            &me.origin,
        )
        .await
    };
    match result {
        Ok(()) => {
            if me.user.must_change_password {
                let mut state = me.state.clone();
                state.must_change_password = false;
                let _ = me.session.insert(crate::authn::sessions::AUTH_KEY, &state).await;
            }
            see_other("/profile?notice=password_changed")
        }
        Err(e) => {
            let (status, message) = match e {
                AuthError::Other(Error::Invalid(i)) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, i.to_string().replace('_', " "))
                }
                AuthError::Other(inner) => (inner.status(), inner.public_message()),
                AuthError::Throttled(s) => (StatusCode::TOO_MANY_REQUESTS, AuthError::Throttled(s).to_string()),
                other => (StatusCode::BAD_REQUEST, other.to_string()),
            };
            let layout = Layout::new("Change your password", Some(&me), &me.csrf).with_error(Some(message));
            let mut resp = render(&PasswordPage {
                layout,
                forced: me.user.must_change_password,
                min_length: app.passwords.min_length(),
            });
            *resp.status_mut() = status;
            resp
        }
    }
}

async fn revoke_session(State(app): State<AppState>, me: CurrentUser, Path(id): Path<Uuid>) -> Response {
    let actor = crate::audit::Actor::user(me.user.id, &me.user.username);
    match crate::authn::service::revoke_session(&app, &actor, &me.origin, me.user.id, id).await {
        Ok(()) => see_other("/profile?notice=session_revoked"),
        Err(e) => me.fail(e).into_response(),
    }
}

async fn revoke_others(State(app): State<AppState>, me: CurrentUser) -> Response {
    let keep = current_hash(&me);
    let actor = crate::audit::Actor::user(me.user.id, &me.user.username);
    let result = crate::authn::service::revoke_other_sessions(&app, &actor, &me.origin, me.user.id, &keep).await;
    match result {
        Ok(_) => see_other("/profile?notice=sessions_revoked"),
        Err(e) => me.fail(e).into_response(),
    }
}
