//! `/api/v1/users/{id}/credentials` and `/api/v1/credentials/{access_key_id}`: the role
//! credentials a user holds (never their secrets) and revoking one set (with those chained
//! from it).

use super::auth::Admin;
use super::error::{ApiPath, ApiResult, ErrorBody};
use super::views::List;
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use uuid::Uuid;

/// Live role credentials, as an administrator sees them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    pub access_key_id: String,
    /// `arn:lanyard:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: String,
    pub account_id: String,
    pub role: String,
    /// portal, sso, assume_role or web_identity.
    pub source: String,
    /// The credentials this session was chained from (AssumeRole).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub ip: String,
    pub user_agent: String,
}

/// A user's live role credentials, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/users/{id}/credentials", tag = "credentials", params(("id" = Uuid, Path)),
    responses((status = 200, body = List<CredentialView>), (status = 404, body = ErrorBody)))]
pub async fn list_user_credentials(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<List<CredentialView>>> {
    crate::directory::service::get_user(&app, id).await?;
    let rows = crate::sts::credentials::live_for_user(&app, id).await?;
    let items = rows
        .into_iter()
        .map(|r| CredentialView {
            arn: crate::sts::model::assumed_role_arn(&r.account_id, &r.role_name, &r.session_name),
            access_key_id: r.access_key_id,
            account_id: r.account_id,
            role: r.role_name,
            source: r.source,
            parent: r.parent_key,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            ip: r.ip,
            user_agent: r.user_agent,
        })
        .collect();
    Ok(Json(List { items, next: None }))
}

/// Revoke one set of role credentials, and any chained from it, at once on every instance.
#[utoipa::path(delete, path = "/api/v1/credentials/{access_key_id}", tag = "credentials",
    params(("access_key_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_credentials(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if !crate::sts::model::is_access_key_id(&key) {
        return Err(crate::error::Error::NotFound("credentials").into());
    }
    crate::sts::credentials::revoke(&app, &admin.ctx.actor, &admin.ctx.origin, &key, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
