//! `/api/v1/assignments` (a user or group gets a permission set in an account) and
//! `/api/v1/users/{id}/access` (the accounts and roles a user ends up with).

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use super::groups::check_limit;
use super::views::List;
use crate::access::assignments::{self as service, AccountAccess};
use crate::access::model::{Assignment, PrincipalType, iso_duration, role_arn};
use crate::access::store::AssignmentFilter;
use crate::app::AppState;
use crate::clock::format_unix;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssignmentView {
    pub id: Uuid,
    pub account_id: String,
    pub account_name: String,
    pub permission_set_id: Uuid,
    pub permission_set_name: String,
    pub role_arn: String,
    /// `user` or `group`.
    pub principal_type: PrincipalType,
    pub principal_id: Uuid,
    /// The username or group name.
    pub principal_name: String,
    pub created_at: String,
}

impl From<&Assignment> for AssignmentView {
    fn from(a: &Assignment) -> Self {
        Self {
            id: a.id,
            account_id: a.account_id.clone(),
            account_name: a.account_name.clone(),
            permission_set_id: a.permission_set_id,
            permission_set_name: a.permission_set_name.clone(),
            role_arn: role_arn(&a.account_id, &a.permission_set_name),
            principal_type: a.principal_type(),
            principal_id: a.principal_id(),
            principal_name: a.principal_name.clone(),
            created_at: format_unix(a.created_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListAssignmentsParams {
    pub limit: Option<i64>,
    pub next: Option<String>,
    pub account_id: Option<String>,
    pub permission_set_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssignment {
    pub account_id: String,
    pub permission_set_id: Uuid,
    /// `user` or `group`.
    pub principal_type: PrincipalType,
    pub principal_id: Uuid,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleAccessView {
    pub permission_set_id: Uuid,
    pub role_name: String,
    pub role_arn: String,
    pub description: String,
    pub session_duration: String,
    pub session_duration_secs: i64,
    pub relay_state: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountAccessView {
    pub account_id: String,
    pub account_name: String,
    pub email_address: String,
    pub roles: Vec<RoleAccessView>,
}

impl From<&AccountAccess> for AccountAccessView {
    fn from(a: &AccountAccess) -> Self {
        Self {
            account_id: a.account_id.clone(),
            account_name: a.account_name.clone(),
            email_address: a.account_email.clone(),
            roles: a
                .roles
                .iter()
                .map(|r| RoleAccessView {
                    permission_set_id: r.permission_set_id,
                    role_name: r.permission_set_name.clone(),
                    role_arn: role_arn(&r.account_id, &r.permission_set_name),
                    description: r.permission_set_description.clone(),
                    session_duration: iso_duration(r.session_duration),
                    session_duration_secs: r.session_duration,
                    relay_state: r.relay_state.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessParams {
    /// Keeps accounts whose name contains this or whose id starts with it, and roles whose
    /// name contains it.
    pub q: Option<String>,
    /// Accounts per page, 1–1000 (default 100).
    pub limit: Option<i64>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessView {
    pub items: Vec<AccountAccessView>,
    /// Opaque cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Accounts in all pages.
    pub total: i64,
}

/// List assignments, filtered by account, permission set, user or group.
#[utoipa::path(get, path = "/api/v1/assignments", tag = "assignments", params(ListAssignmentsParams),
    responses((status = 200, body = List<AssignmentView>), (status = 401, body = ErrorBody)))]
pub async fn list_assignments(
    State(app): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ListAssignmentsParams>,
) -> ApiResult<Json<List<AssignmentView>>> {
    let limit = check_limit(q.limit)?;
    let f = AssignmentFilter {
        account_id: q.account_id,
        permission_set_id: q.permission_set_id,
        user_id: q.user_id,
        group_id: q.group_id,
    };
    let page = service::list_assignments(&app, &f, q.next.as_deref(), limit).await?;
    Ok(Json(List { items: page.items.iter().map(AssignmentView::from).collect(), next: page.next }))
}

/// Assign a permission set to a user or group in an account (the role is provisioned at once).
#[utoipa::path(post, path = "/api/v1/assignments", tag = "assignments", request_body = CreateAssignment,
    responses((status = 201, body = AssignmentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_assignment(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<CreateAssignment>,
) -> ApiResult<(StatusCode, Json<AssignmentView>)> {
    let a = service::create_assignment(
        &app,
        &admin.ctx,
        &body.account_id,
        body.permission_set_id,
        body.principal_type,
        body.principal_id,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(AssignmentView::from(&a))))
}

/// Get one assignment.
#[utoipa::path(get, path = "/api/v1/assignments/{id}", tag = "assignments", params(("id" = Uuid, Path)),
    responses((status = 200, body = AssignmentView), (status = 404, body = ErrorBody)))]
pub async fn get_assignment(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<AssignmentView>> {
    Ok(Json(AssignmentView::from(&service::get_assignment(&app, id).await?)))
}

/// Remove an assignment; access that depended on it ends at once.
#[utoipa::path(delete, path = "/api/v1/assignments/{id}", tag = "assignments", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_assignment(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    service::delete_assignment(&app, &admin.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The accounts and roles a user can use: direct assignments and those of their groups.
#[utoipa::path(get, path = "/api/v1/users/{id}/access", tag = "assignments", params(("id" = Uuid, Path), AccessParams),
    responses((status = 200, body = AccessView), (status = 404, body = ErrorBody)))]
pub async fn user_access(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<AccessParams>,
) -> ApiResult<Json<AccessView>> {
    let limit = check_limit(q.limit)?;
    crate::directory::service::get_user(&app, id).await?;
    let page = service::access_of(&app, id, q.q.as_deref(), q.next.as_deref(), limit).await?;
    Ok(Json(AccessView {
        items: page.accounts.iter().map(AccountAccessView::from).collect(),
        next: page.next,
        total: page.total,
    }))
}
