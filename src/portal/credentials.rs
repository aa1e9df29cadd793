//! "Command line access" for a role on the home page: fresh role credentials shown once, as
//! environment variables, a credentials-file section and the `credential_process` line that
//! keeps them fresh, plus the role's console link (its permission set's relay state).

use super::{CurrentUser, Layout, render};
use crate::app::AppState;
use crate::sts::credentials::{self, Issue};
use crate::sts::model::Source;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;

pub fn routes() -> Router<AppState> {
    Router::new().route("/accounts/{account}/roles/{role}/credentials", post(post_credentials))
}

#[derive(Template)]
#[template(path = "portal/credentials.html")]
struct CredentialsPage {
    layout: Layout,
    account_id: String,
    account_name: String,
    role: String,
    arn: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expires: String,
    /// The `lanyard creds` command for `credential_process`.
    process: String,
    console: Option<String>,
}

/// Issues credentials for the role (a POST with the CSRF token: issuing is an action, and the
/// page is never cached or replayed by a link).
async fn post_credentials(
    State(app): State<AppState>,
    me: CurrentUser,
    Path((account, role)): Path<(String, String)>,
) -> Result<Response, super::PageError> {
    let not_after =
        app.config.sts.bound_to_session.then(|| me.state.auth_time + app.config.session.absolute_timeout.secs());
    let issued = credentials::issue(
        &app,
        Issue {
            holder: crate::sts::model::Holder::User(me.user.id),
            account: &account,
            role: &role,
            source: Source::Portal,
            session_name: None,
            duration: None,
            not_after,
            mfa_at: me.state.mfa_time,
            parent: None,
            grant: None,
            trusted: false,
        },
        &me.origin,
    )
    .await
    .map_err(|e| me.fail(e))?;
    let c = issued.credentials;
    let caller = issued.caller;
    let roles = crate::access::assignments::roles_in_account(
        &app,
        me.user.id,
        &crate::access::model::AccountId::parse(&caller.account_id)
            .map_err(|e| me.fail(crate::error::Error::from(e)))?,
    )
    .await
    .map_err(|e| me.fail(e))?;
    let row = roles.iter().find(|r| r.permission_set_id == caller.permission_set_id);
    let base = crate::oidc::tokens::issuer(&app);
    let layout = Layout::new("Command line access", Some(&me), &me.csrf);
    Ok(render(&CredentialsPage {
        layout,
        account_name: row.map(|r| r.account_name.clone()).unwrap_or_default(),
        console: row.map(|r| r.relay_state.clone()).filter(|s| !s.is_empty()),
        process: format!(
            "lanyard creds --url {base} --account {} --role {} --format credential-process",
            caller.account_id, caller.role_name
        ),
        arn: caller.arn(),
        account_id: caller.account_id,
        role: caller.role_name,
        access_key_id: c.access_key_id,
        secret_access_key: c.secret_access_key,
        session_token: c.session_token,
        expires: super::when(&c.expiration),
    }))
}
