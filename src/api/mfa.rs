//! `/api/v1/mfa-policy` and `/api/v1/users/{id}/factors`: the MFA policy, and a user's second
//! factors (listed without secrets; reset by an administrator, which ends the user's sessions).

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::app::AppState;
use crate::authn::mfa::{self, Factors, MfaPolicy};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

/// The MFA policy.
#[utoipa::path(get, path = "/api/v1/mfa-policy", tag = "mfa", responses((status = 200, body = MfaPolicy), (status = 401, body = ErrorBody)))]
pub async fn get_policy(State(app): State<AppState>, _: Admin) -> ApiResult<Json<MfaPolicy>> {
    Ok(Json(mfa::policy(&app).await?))
}

/// Replace the MFA policy.
#[utoipa::path(put, path = "/api/v1/mfa-policy", tag = "mfa", request_body = MfaPolicy,
    responses((status = 200, body = MfaPolicy), (status = 422, body = ErrorBody)))]
pub async fn put_policy(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<MfaPolicy>,
) -> ApiResult<Json<MfaPolicy>> {
    Ok(Json(mfa::set_policy(&app, &admin.ctx.actor, &admin.ctx.origin, body).await?))
}

/// A user's second factors (no secrets) and recovery codes left.
#[utoipa::path(get, path = "/api/v1/users/{id}/factors", tag = "mfa", params(("id" = Uuid, Path)),
    responses((status = 200, body = Factors), (status = 404, body = ErrorBody)))]
pub async fn list_factors(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Factors>> {
    Ok(Json(mfa::factors(&app, id).await?))
}

/// Remove every second factor of a user and end their sessions.
#[utoipa::path(delete, path = "/api/v1/users/{id}/factors", tag = "mfa", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn reset_factors(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    mfa::reset(&app, &admin.ctx.actor, &admin.ctx.origin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
