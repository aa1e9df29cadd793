//! `/api/v1/users`: create, read, update, delete users; their groups, sessions, password, lockout.

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use super::views::{GroupView, List, SessionView, UserView};
use crate::app::AppState;
use crate::directory::model::ListQuery;
use crate::directory::service::{self, NewUser, UserPatch};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersParams {
    /// Page size, 1–1000 (default 100).
    pub limit: Option<i64>,
    /// The `next` cursor from the previous page.
    pub next: Option<String>,
    /// Only usernames starting with this (case-insensitive).
    pub username: Option<String>,
    /// Only emails starting with this (case-insensitive).
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    /// An initial password (policy applies). Without one the user cannot sign in until one is set.
    pub password: Option<String>,
    /// Require a new password at first sign-in (default: true when a password is given).
    pub must_change_password: Option<bool>,
    /// `active` (default) or `disabled`.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// `active` or `disabled`; disabling ends the user's sessions.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    pub password: String,
    /// Require a change at next sign-in (default true).
    pub must_change_password: Option<bool>,
}

/// List users, by username, with prefix filters and pagination.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListUsersParams),
    responses((status = 200, body = List<UserView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(app): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ListUsersParams>,
) -> ApiResult<Json<List<UserView>>> {
    if let Some(l) = q.limit
        && !(1..=1000).contains(&l)
    {
        return Err(crate::error::Error::invalid("limit", "must be between 1 and 1000").into());
    }
    let page = service::list_users(
        &app,
        &ListQuery { username_prefix: q.username, email_prefix: q.email, after: q.next, limit: q.limit.unwrap_or(100) },
    )
    .await?;
    Ok(Json(List { items: page.items.iter().map(UserView::from).collect(), next: page.next }))
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let disabled = match body.status.as_deref() {
        None | Some("active") => false,
        Some("disabled") => true,
        Some(_) => return Err(crate::error::Error::invalid("status", "must be active or disabled").into()),
    };
    let must_change = body.must_change_password.unwrap_or(body.password.is_some());
    let user = service::create_user(
        &app,
        &admin.ctx,
        NewUser {
            username: body.username,
            display_name: body.display_name,
            email: body.email,
            password: body.password,
            must_change_password: must_change,
            disabled,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

/// Get one user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn get_user(State(app): State<AppState>, _: Admin, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<UserView>> {
    Ok(Json(UserView::from(&service::get_user(&app, id).await?)))
}

/// Update a user (only the fields given).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UpdateUser,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<UserView>> {
    let user = service::update_user(
        &app,
        &admin.ctx,
        id,
        UserPatch { username: body.username, display_name: body.display_name, email: body.email, status: body.status },
    )
    .await?;
    Ok(Json(UserView::from(&user)))
}

/// Delete a user, with their memberships and sessions.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_user(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    service::delete_user(&app, &admin.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a user's password; their sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", params(("id" = Uuid, Path)), request_body = SetPassword,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_password(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SetPassword>,
) -> ApiResult<StatusCode> {
    service::set_password(&app, &admin.ctx, id, &body.password, body.must_change_password.unwrap_or(true)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a sign-in lockout.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn unlock_user(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    crate::authn::service::unlock(&app, &admin.ctx.actor, &admin.ctx.origin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The groups a user belongs to.
#[utoipa::path(get, path = "/api/v1/users/{id}/groups", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = List<GroupView>), (status = 404, body = ErrorBody)))]
pub async fn list_user_groups(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<List<GroupView>>> {
    let groups = service::groups_of(&app, id).await?;
    Ok(Json(List { items: groups.iter().map(GroupView::from).collect(), next: None }))
}

/// A user's live sessions.
#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = List<SessionView>), (status = 404, body = ErrorBody)))]
pub async fn list_user_sessions(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<List<SessionView>>> {
    service::get_user(&app, id).await?;
    let sessions =
        crate::authn::sessions::list_for_user(&app.db, id, app.now(), app.config.session.idle_timeout.secs())
            .await
            .map_err(crate::error::Error::from)?;
    Ok(Json(List { items: sessions.iter().map(SessionView::from).collect(), next: None }))
}

/// End every session of a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_user_sessions(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    crate::authn::service::revoke_all_sessions(&app, &admin.ctx.actor, &admin.ctx.origin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End one session of a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions/{session_id}", tag = "sessions",
    params(("id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_user_session(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath((id, sid)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    crate::authn::service::revoke_session(&app, &admin.ctx.actor, &admin.ctx.origin, id, sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
