//! The home page: where later issues list the user's applications, accounts and roles.

use super::{CurrentUser, Layout, render};
use crate::app::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(show_home))
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    layout: Layout,
    display_name: String,
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

async fn show_home(
    State(app): State<AppState>,
    me: CurrentUser,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, super::PageError> {
    let groups = crate::directory::service::groups_of(&app, me.user.id).await.map_err(|e| me.fail(e))?;
    let layout = Layout::new("Home", Some(&me), &me.csrf).with_notice(q.notice.as_deref());
    Ok(render(&HomePage {
        layout,
        display_name: me.user.display_name.clone(),
        groups: groups.into_iter().map(|g| g.name).collect(),
    }))
}
