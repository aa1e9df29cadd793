//! Admin pages for applications (OAuth/OIDC clients): list, register, edit, rotate the secret,
//! assign users and groups. They call the same service as the admin API.

use super::admin::{PageResult, error_text, with_status};
use super::{AdminUser, Layout, PortalForm, render, see_other};
use crate::app::AppState;
use crate::error::Error;
use crate::oidc::clients::{self as service, ClientInput};
use crate::oidc::model::{self, ClientView};
use crate::oidc::store::{Assignment, Secret};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/applications", get(list).post(create))
        .route("/admin/applications/{id}", get(show).post(update))
        .route("/admin/applications/{id}/delete", post(delete))
        .route("/admin/applications/{id}/secret", post(rotate))
        .route("/admin/applications/{id}/assignments", post(assign))
        .route("/admin/applications/{id}/assignments/{aid}/delete", post(unassign))
}

#[derive(Template)]
#[template(path = "admin/applications.html")]
struct ListPage {
    layout: Layout,
    apps: Vec<ClientView>,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    next: Option<String>,
    notice: Option<String>,
}

async fn list_page(
    app: &AppState,
    me: &AdminUser,
    next: Option<&str>,
    notice: Option<&str>,
    error: Option<String>,
) -> PageResult {
    let page = service::list(app, next, 50).await.map_err(|e| me.0.fail(e))?;
    let layout = Layout::new("Applications", Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&ListPage { layout, apps: page.items, next: page.next }))
}

async fn list(State(app): State<AppState>, me: AdminUser, Query(q): Query<PageQuery>) -> PageResult {
    list_page(&app, &me, q.next.as_deref(), q.notice.as_deref(), None).await
}

/// The form's fields; lists are one per line.
#[derive(Debug, Default, Deserialize)]
pub struct AppForm {
    name: Option<String>,
    description: Option<String>,
    kind: Option<String>,
    redirect_uris: Option<String>,
    post_logout_redirect_uris: Option<String>,
    scopes: Option<String>,
    launch_url: Option<String>,
    signing_alg: Option<String>,
    access_token_ttl: Option<String>,
    refresh_token_ttl: Option<String>,
    #[serde(default)]
    grant_code: Option<String>,
    #[serde(default)]
    grant_refresh: Option<String>,
    #[serde(default)]
    grant_client_credentials: Option<String>,
    #[serde(default)]
    grant_device: Option<String>,
    #[serde(default)]
    consent_required: Option<String>,
    #[serde(default)]
    enabled: Option<String>,
}

fn lines(s: &Option<String>) -> Option<Vec<String>> {
    s.as_ref().map(|v| v.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
}

fn number(field: &'static str, s: &Option<String>) -> Result<Option<i64>, Error> {
    match s.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| Error::invalid(field, "must be a number of seconds")),
    }
}

impl AppForm {
    fn input(&self, creating: bool) -> Result<ClientInput, Error> {
        let mut grants = Vec::new();
        for (on, g) in [
            (&self.grant_code, model::GRANT_CODE),
            (&self.grant_refresh, model::GRANT_REFRESH),
            (&self.grant_client_credentials, model::GRANT_CLIENT_CREDENTIALS),
            (&self.grant_device, model::GRANT_DEVICE),
        ] {
            if on.is_some() {
                grants.push(g.to_string());
            }
        }
        Ok(ClientInput {
            name: self.name.clone(),
            description: self.description.clone(),
            token_endpoint_auth_method: self.kind.clone().filter(|_| creating),
            redirect_uris: lines(&self.redirect_uris),
            post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
            grant_types: Some(grants),
            scopes: self.scopes.as_ref().map(|s| s.split_whitespace().map(str::to_string).collect()),
            id_token_signed_response_alg: self.signing_alg.clone(),
            access_token_ttl: number("access_token_ttl", &self.access_token_ttl)?,
            refresh_token_ttl: number("refresh_token_ttl", &self.refresh_token_ttl)?,
            consent_required: Some(self.consent_required.is_some()),
            launch_url: self.launch_url.clone(),
            enabled: if creating { None } else { Some(self.enabled.is_some()) },
            ..Default::default()
        })
    }
}

#[derive(Template)]
#[template(path = "admin/application.html")]
struct ShowPage {
    layout: Layout,
    a: ClientView,
    secrets: Vec<Secret>,
    assignments: Vec<Assignment>,
    /// A secret shown once, right after it was made.
    new_secret: Option<String>,
    issuer: String,
}

async fn show_page(
    app: &AppState,
    me: &AdminUser,
    id: Uuid,
    notice: Option<&str>,
    error: Option<String>,
    new_secret: Option<String>,
) -> PageResult {
    let c = service::get(app, id).await.map_err(|e| me.0.fail(e))?;
    let secrets = service::secrets(app, id).await.map_err(|e| me.0.fail(e))?;
    let assignments = service::assignments(app, id).await.map_err(|e| me.0.fail(e))?;
    let layout = Layout::new(c.name.clone(), Some(&me.0), &me.0.csrf).with_notice(notice).with_error(error);
    Ok(render(&ShowPage {
        layout,
        a: ClientView::from(&c),
        secrets,
        assignments,
        new_secret,
        issuer: crate::oidc::tokens::issuer(app),
    }))
}

async fn show(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    show_page(&app, &me, id, q.notice.as_deref(), None, None).await
}

async fn create(State(app): State<AppState>, me: AdminUser, PortalForm(f): PortalForm<AppForm>) -> PageResult {
    let result = match f.input(true) {
        Ok(input) => service::create(&app, &me.0.ctx(), input).await,
        Err(e) => Err(e),
    };
    match result {
        // The secret is shown on this response only, never stored in a URL.
        Ok((c, secret)) => show_page(&app, &me, c.id, Some("application_created"), None, secret).await,
        Err(e) => Ok(with_status(e.status(), list_page(&app, &me, None, None, Some(error_text(&e))).await?)),
    }
}

async fn update(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(f): PortalForm<AppForm>,
) -> PageResult {
    let result = match f.input(false) {
        Ok(input) => service::update(&app, &me.0.ctx(), id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/admin/applications/{id}?notice=application_updated"))),
        Err(e) => Ok(with_status(e.status(), show_page(&app, &me, id, None, Some(error_text(&e)), None).await?)),
    }
}

async fn delete(State(app): State<AppState>, me: AdminUser, Path(id): Path<Uuid>) -> PageResult {
    service::delete(&app, &me.0.ctx(), id).await.map_err(|e| me.0.fail(e))?;
    Ok(see_other("/admin/applications?notice=application_deleted"))
}

#[derive(Debug, Deserialize)]
pub struct RotateForm {
    overlap_hours: Option<String>,
}

async fn rotate(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(f): PortalForm<RotateForm>,
) -> PageResult {
    let hours: i64 =
        f.overlap_hours.as_deref().map(str::trim).filter(|s| !s.is_empty()).and_then(|s| s.parse().ok()).unwrap_or(0);
    match service::rotate_secret(&app, &me.0.ctx(), id, hours.saturating_mul(3600)).await {
        Ok((secret, _)) => show_page(&app, &me, id, None, None, Some(secret)).await,
        Err(e) => Ok(with_status(e.status(), show_page(&app, &me, id, None, Some(error_text(&e)), None).await?)),
    }
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    principal: String,
    kind: Option<String>,
}

async fn assign(
    State(app): State<AppState>,
    me: AdminUser,
    Path(id): Path<Uuid>,
    PortalForm(f): PortalForm<AssignForm>,
) -> PageResult {
    let name = f.principal.trim();
    let result = async {
        if f.kind.as_deref() == Some("group") {
            let page = crate::directory::service::list_groups(&app, Some(name), None, 50).await?;
            let g =
                page.items.into_iter().find(|g| g.name.eq_ignore_ascii_case(name)).ok_or(Error::NotFound("group"))?;
            service::assign(&app, &me.0.ctx(), id, None, Some(g.id)).await
        } else {
            let u =
                crate::directory::service::find_user_by_username(&app, name).await?.ok_or(Error::NotFound("user"))?;
            service::assign(&app, &me.0.ctx(), id, Some(u.id), None).await
        }
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/admin/applications/{id}?notice=application_assigned"))),
        Err(e) => Ok(with_status(e.status(), show_page(&app, &me, id, None, Some(error_text(&e)), None).await?)),
    }
}

async fn unassign(State(app): State<AppState>, me: AdminUser, Path((id, aid)): Path<(Uuid, Uuid)>) -> PageResult {
    service::unassign(&app, &me.0.ctx(), id, aid).await.map_err(|e| me.0.fail(e))?;
    Ok(see_other(&format!("/admin/applications/{id}?notice=application_unassigned")))
}
