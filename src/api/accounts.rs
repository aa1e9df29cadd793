//! `/api/v1/accounts` and `/api/v1/org-units`: accounts (12-digit ids) and the tree of
//! organisational units they are grouped in.

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use super::groups::check_limit;
use super::views::List;
use crate::access::accounts::{self as service, AccountInput, OuInput};
use crate::access::model::{Account, OrgUnit, tags_from_json};
use crate::app::AppState;
use crate::clock::format_unix;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// 12 digits.
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner_email: String,
    /// `active` or `suspended` (a suspended account grants nothing).
    pub status: String,
    pub ou_id: Uuid,
    pub tags: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            owner_email: a.owner_email.clone(),
            status: a.status.clone(),
            ou_id: a.ou_id,
            tags: tags_from_json(&a.tags),
            created_at: format_unix(a.created_at),
            updated_at: format_unix(a.updated_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OuView {
    pub id: Uuid,
    /// Absent for the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&OrgUnit> for OuView {
    fn from(o: &OrgUnit) -> Self {
        Self {
            id: o.id,
            parent_id: o.parent_id,
            name: o.name.clone(),
            description: o.description.clone(),
            tags: tags_from_json(&o.tags),
            created_at: format_unix(o.created_at),
            updated_at: format_unix(o.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListAccountsParams {
    pub limit: Option<i64>,
    pub next: Option<String>,
    /// Only accounts whose name or id starts with this (case-insensitive).
    pub name: Option<String>,
    /// Only accounts directly in this organisational unit.
    pub ou_id: Option<Uuid>,
}

/// A new account, or the fields to change (absent fields stay as they are).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Who is responsible for the account (required on creation).
    pub owner_email: Option<String>,
    /// `active` (default) or `suspended`.
    pub status: Option<String>,
    /// The organisational unit (default: the root). Changing it moves the account.
    pub ou_id: Option<Uuid>,
    /// Replaces all tags.
    pub tags: Option<BTreeMap<String, String>>,
}

impl From<AccountBody> for AccountInput {
    fn from(b: AccountBody) -> Self {
        AccountInput {
            name: b.name,
            description: b.description,
            owner_email: b.owner_email,
            status: b.status,
            ou_id: b.ou_id,
            tags: b.tags,
        }
    }
}

/// A new organisational unit, or the fields to change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OuBody {
    pub name: Option<String>,
    /// The parent (default: the root); fixed once created.
    pub parent_id: Option<Uuid>,
    pub description: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

impl From<OuBody> for OuInput {
    fn from(b: OuBody) -> Self {
        OuInput { parent_id: b.parent_id, name: b.name, description: b.description, tags: b.tags }
    }
}

/// List accounts by name.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(ListAccountsParams),
    responses((status = 200, body = List<AccountView>), (status = 401, body = ErrorBody)))]
pub async fn list_accounts(
    State(app): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ListAccountsParams>,
) -> ApiResult<Json<List<AccountView>>> {
    let limit = check_limit(q.limit)?;
    let page = service::list_accounts(&app, q.name.as_deref(), q.ou_id, q.next.as_deref(), limit).await?;
    Ok(Json(List { items: page.items.iter().map(AccountView::from).collect(), next: page.next }))
}

/// Create an account (its 12-digit id is generated).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = AccountBody,
    responses((status = 201, body = AccountView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_account(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<AccountBody>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let a = service::create_account(&app, &admin.ctx, body.into()).await?;
    Ok((StatusCode::CREATED, Json(AccountView::from(&a))))
}

/// Get one account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody)))]
pub async fn get_account(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(AccountView::from(&service::get_account(&app, &id).await?)))
}

/// Change, suspend, move or re-tag an account.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)), request_body = AccountBody,
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_account(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AccountBody>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(AccountView::from(&service::update_account(&app, &admin.ctx, &id, body.into()).await?)))
}

/// Delete an account with its assignments.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_account(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    service::delete_account(&app, &admin.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List every organisational unit (the root has no parent).
#[utoipa::path(get, path = "/api/v1/org-units", tag = "accounts",
    responses((status = 200, body = List<OuView>), (status = 401, body = ErrorBody)))]
pub async fn list_ous(State(app): State<AppState>, _: Admin) -> ApiResult<Json<List<OuView>>> {
    let ous = service::list_ous(&app).await?;
    Ok(Json(List { items: ous.iter().map(OuView::from).collect(), next: None }))
}

/// Create an organisational unit.
#[utoipa::path(post, path = "/api/v1/org-units", tag = "accounts", request_body = OuBody,
    responses((status = 201, body = OuView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_ou(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<OuBody>,
) -> ApiResult<(StatusCode, Json<OuView>)> {
    let o = service::create_ou(&app, &admin.ctx, body.into()).await?;
    Ok((StatusCode::CREATED, Json(OuView::from(&o))))
}

/// Get one organisational unit.
#[utoipa::path(get, path = "/api/v1/org-units/{id}", tag = "accounts", params(("id" = Uuid, Path)),
    responses((status = 200, body = OuView), (status = 404, body = ErrorBody)))]
pub async fn get_ou(State(app): State<AppState>, _: Admin, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<OuView>> {
    Ok(Json(OuView::from(&service::get_ou(&app, id).await?)))
}

/// Rename, describe or re-tag an organisational unit.
#[utoipa::path(patch, path = "/api/v1/org-units/{id}", tag = "accounts", params(("id" = Uuid, Path)), request_body = OuBody,
    responses((status = 200, body = OuView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_ou(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<OuBody>,
) -> ApiResult<Json<OuView>> {
    Ok(Json(OuView::from(&service::update_ou(&app, &admin.ctx, id, body.into()).await?)))
}

/// Delete an empty organisational unit.
#[utoipa::path(delete, path = "/api/v1/org-units/{id}", tag = "accounts", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_ou(State(app): State<AppState>, admin: Admin, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    service::delete_ou(&app, &admin.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
