//! The home page: the accounts a person can use and, under each, their roles (permission sets)
//! with the session duration; searchable and paged for people with hundreds of accounts.

use super::{CurrentUser, Layout, render};
use crate::access::assignments::{AccountAccess, access_of};
use crate::app::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

/// Accounts per page.
const PAGE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(show_home))
}

/// A role as the page shows it.
pub struct RoleRow {
    pub name: String,
    pub description: String,
    pub duration: String,
    pub arn: String,
    /// The console link (the permission set's relay state), or empty.
    pub console: String,
}

pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<RoleRow>,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    layout: Layout,
    display_name: String,
    /// The apps on the launcher: (name, launch URL, description).
    apps: Vec<(String, String, String)>,
    groups: Vec<String>,
    accounts: Vec<AccountRow>,
    total: i64,
    q: String,
    /// Whether this is a later page (offer a link back to the first).
    later: bool,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    pub notice: Option<String>,
    pub q: Option<String>,
    /// Cursor of the page to show.
    pub after: Option<String>,
}

/// "1 hour", "8 hours", "1 h 30 min".
pub fn duration_label(secs: i64) -> String {
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match (h, m) {
        (1, 0) => "1 hour".into(),
        (h, 0) => format!("{h} hours"),
        (0, m) => format!("{m} minutes"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn rows(access: Vec<AccountAccess>) -> Vec<AccountRow> {
    access
        .into_iter()
        .map(|a| AccountRow {
            roles: a
                .roles
                .iter()
                .map(|r| RoleRow {
                    name: r.permission_set_name.clone(),
                    description: r.permission_set_description.clone(),
                    duration: duration_label(r.session_duration),
                    arn: crate::access::model::role_arn(&r.account_id, &r.permission_set_name),
                    console: r.relay_state.clone(),
                })
                .collect(),
            id: a.account_id,
            name: a.account_name,
            email: a.account_email,
        })
        .collect()
}

async fn show_home(
    State(app): State<AppState>,
    me: CurrentUser,
    Query(q): Query<HomeQuery>,
) -> Result<Response, super::PageError> {
    let groups = crate::directory::service::groups_of(&app, me.user.id).await.map_err(|e| me.fail(e))?;
    let search = q.q.unwrap_or_default().chars().take(100).collect::<String>();
    let page = access_of(&app, me.user.id, Some(&search), q.after.as_deref(), PAGE).await.map_err(|e| me.fail(e))?;
    let accounts = rows(page.accounts);
    let apps = crate::oidc::clients::launchable(&app, me.user.id).await.map_err(|e| me.fail(e))?;
    let apps = apps.into_iter().filter_map(|a| a.launch_url.map(|u| (a.name, u, a.description))).collect();
    let layout = Layout::new("Home", Some(&me), &me.csrf).with_notice(q.notice.as_deref());
    Ok(render(&HomePage {
        layout,
        display_name: me.user.display_name.clone(),
        apps,
        groups: groups.into_iter().map(|g| g.name).collect(),
        accounts,
        total: page.total,
        q: search,
        later: q.after.is_some(),
        next: page.next,
    }))
}
