//! `/api/v1/groups`: create, read, update, delete groups and manage their members.

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use super::views::{GroupView, List, UserView};
use crate::app::AppState;
use crate::directory::service;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListGroupsParams {
    /// Page size, 1–1000 (default 100).
    pub limit: Option<i64>,
    pub next: Option<String>,
    /// Only names starting with this (case-insensitive).
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub limit: Option<i64>,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    pub name: Option<String>,
    pub description: Option<String>,
}

pub fn check_limit(limit: Option<i64>) -> ApiResult<i64> {
    match limit {
        Some(l) if !(1..=1000).contains(&l) => {
            Err(crate::error::Error::invalid("limit", "must be between 1 and 1000").into())
        }
        l => Ok(l.unwrap_or(100)),
    }
}

/// List groups by name.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", params(ListGroupsParams),
    responses((status = 200, body = List<GroupView>), (status = 401, body = ErrorBody)))]
pub async fn list_groups(
    State(app): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ListGroupsParams>,
) -> ApiResult<Json<List<GroupView>>> {
    let limit = check_limit(q.limit)?;
    let page = service::list_groups(&app, q.name.as_deref(), q.next.as_deref(), limit).await?;
    Ok(Json(List { items: page.items.iter().map(GroupView::from).collect(), next: page.next }))
}

/// Create a group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = CreateGroup,
    responses((status = 201, body = GroupView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_group(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let g = service::create_group(&app, &admin.ctx, &body.name, &body.description).await?;
    Ok((StatusCode::CREATED, Json(GroupView::from(&g))))
}

/// Get one group.
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = Uuid, Path)),
    responses((status = 200, body = GroupView), (status = 404, body = ErrorBody)))]
pub async fn get_group(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(GroupView::from(&service::get_group(&app, id).await?)))
}

/// Rename or describe a group.
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = Uuid, Path)), request_body = UpdateGroup,
    responses((status = 200, body = GroupView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_group(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateGroup>,
) -> ApiResult<Json<GroupView>> {
    let g = service::update_group(&app, &admin.ctx, id, body.name.as_deref(), body.description.as_deref()).await?;
    Ok(Json(GroupView::from(&g)))
}

/// Delete a group (its members stay users).
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_group(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    service::delete_group(&app, &admin.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a group's members.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "groups", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = List<UserView>), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<List<UserView>>> {
    let limit = check_limit(q.limit)?;
    let page = service::list_members(&app, id, q.next.as_deref(), limit).await?;
    Ok(Json(List { items: page.items.iter().map(UserView::from).collect(), next: page.next }))
}

/// Add a user to a group (idempotent).
#[utoipa::path(put, path = "/api/v1/groups/{id}/members/{user_id}", tag = "groups", params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn add_member(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath((id, user)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    service::add_member(&app, &admin.ctx, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a user from a group.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", tag = "groups", params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_member(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath((id, user)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    service::remove_member(&app, &admin.ctx, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}
