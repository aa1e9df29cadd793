//! The portal: people's pages (sign-in, home, profile) and the admin pages, server-rendered with
//! askama and usable without JavaScript. Every form carries the CSRF token (checked in
//! server.rs); every page gets the security headers set there.

pub mod accounts;
pub mod admin;
pub mod applications;
pub mod assets;
pub mod credentials;
pub mod home;
pub mod mfa;
pub mod permission_sets;
pub mod profile;
pub mod signin;
pub mod webauthn;

use crate::app::AppState;
use crate::audit::Origin;
use crate::authn::sessions::{AUTH_KEY, AuthState};
use crate::directory::User;
use crate::error::Error;
use crate::server::CsrfToken;
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::routes())
        .merge(mfa::routes())
        .merge(webauthn::routes())
        .merge(home::routes())
        .merge(credentials::routes())
        .merge(profile::routes())
        .merge(admin::routes())
        .merge(applications::routes())
        .merge(accounts::routes())
        .merge(permission_sets::routes())
}

/// The signed-in user as shown in the navigation.
#[derive(Debug, Clone)]
pub struct NavUser {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
}

/// What every page's frame needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Layout {
    pub fn new(title: impl Into<String>, user: Option<&CurrentUser>, csrf: &str) -> Self {
        Self {
            title: title.into(),
            user: user.map(|u| NavUser {
                username: u.user.username.clone(),
                display_name: u.user.display_name.clone(),
                is_admin: u.is_admin,
            }),
            csrf: csrf.to_string(),
            notice: None,
            error: None,
        }
    }

    pub fn with_notice(mut self, code: Option<&str>) -> Self {
        self.notice = code.and_then(notice_text).map(str::to_string);
        self
    }

    pub fn with_error(mut self, e: Option<String>) -> Self {
        self.error = e;
        self
    }
}

/// Messages shown after a redirect (`?notice=code`); fixed texts, so nothing is reflected.
pub(crate) fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "signed_out" => "You have signed out.",
        "password_changed" => "Your password has been changed. Your other sessions have ended.",
        "session_revoked" => "The session has ended.",
        "sessions_revoked" => "All other sessions have ended.",
        "user_created" => "The user was created.",
        "user_updated" => "The user was updated.",
        "user_deleted" => "The user was deleted.",
        "password_set" => "The password was set; the user's sessions have ended.",
        "user_unlocked" => "Sign-in lockout lifted.",
        "group_created" => "The group was created.",
        "group_updated" => "The group was updated.",
        "group_deleted" => "The group was deleted.",
        "member_added" => "Member added.",
        "member_removed" => "Member removed.",
        "token_revoked" => "The token was revoked.",
        "expired" => "Your session has ended. Please sign in again.",
        "reauth" => "The application asks you to sign in again.",
        "device_approved" => "Done. You can return to your device.",
        "device_denied" => "The request was denied; the device gets no access.",
        "application_created" => "The application was created.",
        "application_updated" => "The application was saved.",
        "application_deleted" => "The application was deleted.",
        "application_assigned" => "Assigned. They can now sign in to the application.",
        "application_unassigned" => "The assignment was removed.",
        "mfa_added" => "The authenticator was added. From now on, sign-in asks for its code.",
        "mfa_removed" => "The authenticator was removed.",
        "webauthn_added" => "The passkey or security key was added.",
        "webauthn_removed" => "The passkey or security key was removed.",
        "mfa_reset" => "The user's second factors were removed and their sessions ended.",
        "policy_saved" => "The MFA policy was saved.",
        "mfa_expired" => "That took too long. Please sign in again.",
        "account_created" => "The account was created.",
        "account_updated" => "The account was updated.",
        "account_deleted" => "The account and its assignments were deleted.",
        "assignment_created" => "Assigned. The role is provisioned in the account.",
        "assignment_deleted" => "The assignment was removed; access that depended on it has ended.",
        "ou_created" => "The organisational unit was created.",
        "ou_deleted" => "The organisational unit was deleted.",
        "policy_created" => "The policy was created.",
        "policy_updated" => "The policy was saved; permission sets using it were provisioned again.",
        "policy_deleted" => "The policy was deleted.",
        "permission_set_created" => "The permission set was created. Assign it from an account's page.",
        "trust_policy_updated" => "The trust policy was saved.",
        "permission_set_updated" => "The permission set was saved and provisioned again where it is assigned.",
        "permission_set_deleted" => "The permission set was deleted.",
        "policy_attached" => "The policy was attached; the permission set was provisioned again.",
        "policy_detached" => "The policy was detached; the permission set was provisioned again.",
        "provisioned" => "The permission set was provisioned again.",
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
    request_id: &'a str,
}

/// An error page with the request id, so a person can quote it to an administrator.
pub fn error_page(status: StatusCode, heading: &str, message: &str, request_id: &str) -> Response {
    let page = ErrorPage { layout: Layout::new(heading, None, ""), heading, message, request_id };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_string()).into_response(),
    }
}

/// Renders a template as a 200 page.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A service error rendered as a portal page.
pub struct PageError(pub Error, pub String);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (heading, msg) = match &self.0 {
            Error::NotFound(_) => ("Not found", self.0.public_message()),
            Error::Forbidden(_) => ("Not allowed", self.0.public_message()),
            Error::Internal(_) => ("Something went wrong", self.0.public_message()),
            _ => ("That did not work", self.0.public_message()),
        };
        error_page(self.0.status(), heading, &msg, &self.1)
    }
}

/// The signed-in person behind a portal request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub state: AuthState,
    pub is_admin: bool,
    pub session: Session,
    pub csrf: String,
    pub origin: Origin,
}

impl CurrentUser {
    /// Maps a service error to a page, keeping the request id.
    pub fn fail(&self, e: impl Into<Error>) -> PageError {
        PageError(e.into(), self.origin.request_id.clone())
    }
}

/// The CSRF token of the current request.
pub fn csrf_of(parts: &Parts) -> String {
    parts.extensions.get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default()
}

/// The audit origin of the current request.
pub fn origin_of(app: &AppState, parts: &Parts) -> Origin {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned();
    crate::server::origin(app, &parts.headers, peer.as_ref())
}

fn to_signin(parts: &Parts, notice: Option<&str>) -> Response {
    let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut url = format!("/signin?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
    if let Some(n) = notice {
        url.push_str("&notice=");
        url.push_str(n);
    }
    Redirect::to(&url).into_response()
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let origin = origin_of(app, parts);
        let Some(session) = parts.extensions.get::<Session>().cloned() else {
            return Err(error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "No session layer.",
                &origin.request_id,
            ));
        };
        let state: Option<AuthState> = session.get(AUTH_KEY).await.ok().flatten();
        let Some(state) = state else { return Err(to_signin(parts, None)) };
        let user = match crate::directory::service::get_user(app, state.user_id).await {
            Ok(u) if u.is_active() => u,
            Ok(_) | Err(Error::NotFound(_)) => {
                let _ = session.flush().await;
                return Err(to_signin(parts, Some("expired")));
            }
            Err(e) => return Err(PageError(e, origin.request_id).into_response()),
        };
        let path = parts.uri.path();
        if user.must_change_password && path != "/profile/password" && path != "/signout" {
            return Err(Redirect::to("/profile/password").into_response());
        }
        if state.must_enrol_mfa
            && !path.starts_with("/profile/mfa")
            && !path.starts_with("/profile/webauthn")
            && path != "/signout"
            && path != "/profile/password"
        {
            return Err(Redirect::to("/profile/mfa").into_response());
        }
        let is_admin = crate::directory::service::is_admin(app, user.id)
            .await
            .map_err(|e| PageError(e, origin.request_id.clone()).into_response())?;
        Ok(CurrentUser { user, state, is_admin, session, csrf: csrf_of(parts), origin })
    }
}

/// A signed-in administrator.
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let u = CurrentUser::from_request_parts(parts, app).await?;
        if !u.is_admin {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "Administrators only",
                "This page is for Lanyard administrators.",
                &u.origin.request_id,
            ));
        }
        // Step-up: administrators who have a second factor must have used it recently.
        let policy = crate::authn::mfa::policy(app).await.map_err(|e| u.fail(e).into_response())?;
        if policy.step_up_minutes > 0
            && !u.state.has_recent_mfa(app.now(), policy.step_up_minutes)
            && crate::authn::mfa::has_factors(app, u.user.id).await.map_err(|e| u.fail(e).into_response())?
        {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/admin/users");
            let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
            return Err(Redirect::to(&format!("/signin/mfa?{q}")).into_response());
        }
        Ok(AdminUser(u))
    }
}

/// A urlencoded form whose rejection is a readable page rather than a bare 4xx.
pub struct PortalForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PortalForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let rid = crate::server::request_id(req.headers());
        match axum::Form::<T>::from_request(req, state).await {
            Ok(f) => Ok(PortalForm(f.0)),
            Err(e) => Err(error_page(e.status(), "The form could not be read", &e.body_text(), &rid)),
        }
    }
}

/// Whether a post-sign-in redirect target is a path on this site (never another origin).
pub fn is_local_path(next: &str) -> bool {
    // Browsers drop tabs and newlines from URLs and read `\` as `/`, so `/\t/evil.example` is
    // `//evil.example` to them: refuse every control character and backslash.
    next.starts_with('/') && !next.starts_with("//") && !next.chars().any(|c| c.is_control() || c == '\\')
}

/// A `303 See Other` to a local path (the answer to every successful form post).
pub fn see_other(path: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, path.to_string())]).into_response()
}

/// Formats Unix seconds for pages.
pub fn when(ts: &i64) -> String {
    crate::clock::format_unix(*ts).replace('T', " ").replace('Z', " UTC")
}

impl CurrentUser {
    /// The directory context (actor + origin) for changes made by this person.
    pub fn ctx(&self) -> crate::directory::Ctx {
        crate::directory::Ctx {
            actor: crate::audit::Actor::user(self.user.id, &self.user.username),
            origin: self.origin.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_paths_only() {
        assert!(super::is_local_path("/profile"));
        assert!(!super::is_local_path("//evil.example"));
        assert!(!super::is_local_path("/\\evil.example"));
        assert!(!super::is_local_path("https://evil.example"));
        assert!(!super::is_local_path("/x\r\nSet-Cookie: a=b"));
        assert!(!super::is_local_path("/\t/evil.example"));
        assert!(!super::is_local_path("/a\\b"));
        assert!(super::is_local_path("/profile?next=%2F"));
    }
}
