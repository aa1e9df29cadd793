//! `/api/v1/applications`: OAuth/OIDC clients, their secrets and assignments; and
//! `/api/v1/signing-keys/rotate` for the provider's keys.

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use super::groups::check_limit;
use super::views::List;
use crate::app::AppState;
use crate::oidc::clients::{self as service, ClientInput};
use crate::oidc::keys::Rotation;
use crate::oidc::model::ClientView;
use crate::oidc::store::{Assignment, Secret};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub limit: Option<i64>,
    pub next: Option<String>,
}

/// A created application, with its first client secret (shown only here).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApplication {
    #[serde(flatten)]
    pub application: ClientView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// List applications by name.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ListParams),
    responses((status = 200, body = List<ClientView>), (status = 401, body = ErrorBody)))]
pub async fn list_applications(
    State(app): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<List<ClientView>>> {
    let limit = check_limit(q.limit)?;
    let page = service::list(&app, q.next.as_deref(), limit).await?;
    Ok(Json(List { items: page.items, next: page.next }))
}

/// Register an application. Confidential clients get a secret, returned once.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = ClientInput,
    responses((status = 201, body = CreatedApplication), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_application(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<ClientInput>,
) -> ApiResult<(StatusCode, Json<CreatedApplication>)> {
    let (application, client_secret) = service::create(&app, &admin.ctx, body).await?;
    Ok((StatusCode::CREATED, Json(CreatedApplication { application, client_secret })))
}

/// Get one application.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = Uuid, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn get_application(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ClientView>> {
    Ok(Json(ClientView::from(&service::get(&app, id).await?)))
}

/// Change an application (absent fields stay). Disabling it revokes its grants.
#[utoipa::path(patch, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = Uuid, Path)), request_body = ClientInput,
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_application(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ClientInput>,
) -> ApiResult<Json<ClientView>> {
    Ok(Json(service::update(&app, &admin.ctx, id, body).await?))
}

/// Delete an application with its secrets, assignments and grants.
#[utoipa::path(delete, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_application(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    service::delete(&app, &admin.ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the old secrets keep working (default 0: they stop now; at most 30 days).
    pub overlap_seconds: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    /// The new secret, shown only here.
    pub client_secret: String,
    /// Every secret that works now (the old ones until their overlap ends).
    pub secrets: Vec<Secret>,
}

/// Issue a new client secret.
#[utoipa::path(post, path = "/api/v1/applications/{id}/secrets", tag = "applications", params(("id" = Uuid, Path)), request_body = RotateBody,
    responses((status = 201, body = RotatedSecret), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rotate_secret(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RotateBody>,
) -> ApiResult<(StatusCode, Json<RotatedSecret>)> {
    let (client_secret, secrets) =
        service::rotate_secret(&app, &admin.ctx, id, body.overlap_seconds.unwrap_or(0)).await?;
    Ok((StatusCode::CREATED, Json(RotatedSecret { client_secret, secrets })))
}

/// The secrets that work now (hints only).
#[utoipa::path(get, path = "/api/v1/applications/{id}/secrets", tag = "applications", params(("id" = Uuid, Path)),
    responses((status = 200, body = List<Secret>), (status = 404, body = ErrorBody)))]
pub async fn list_secrets(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<List<Secret>>> {
    Ok(Json(List { items: service::secrets(&app, id).await?, next: None }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssignedView {
    pub id: Uuid,
}

/// Who may use the application.
#[utoipa::path(get, path = "/api/v1/applications/{id}/assignments", tag = "applications", params(("id" = Uuid, Path)),
    responses((status = 200, body = List<Assignment>), (status = 404, body = ErrorBody)))]
pub async fn list_assignments(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<List<Assignment>>> {
    Ok(Json(List { items: service::assignments(&app, id).await?, next: None }))
}

/// Assign the application to a user or a group.
#[utoipa::path(post, path = "/api/v1/applications/{id}/assignments", tag = "applications", params(("id" = Uuid, Path)), request_body = AssignBody,
    responses((status = 201, body = AssignedView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_assignment(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AssignBody>,
) -> ApiResult<(StatusCode, Json<AssignedView>)> {
    let aid = service::assign(&app, &admin.ctx, id, body.user_id, body.group_id).await?;
    Ok((StatusCode::CREATED, Json(AssignedView { id: aid })))
}

/// Remove an assignment.
#[utoipa::path(delete, path = "/api/v1/applications/{id}/assignments/{assignment_id}", tag = "applications",
    params(("id" = Uuid, Path), ("assignment_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_assignment(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath((id, aid)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    service::unassign(&app, &admin.ctx, id, aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRotateBody {
    /// ES256 (default), RS256 or EdDSA.
    pub alg: Option<String>,
    /// Sign with the new key at once instead of after the pre-publish period (key compromise).
    pub immediately: Option<bool>,
}

/// Start a signing-key rotation: the new key is published now and signs after
/// `oidc.key_prepublish`; the old one stays published until its tokens have expired.
#[utoipa::path(post, path = "/api/v1/signing-keys/rotate", tag = "applications", request_body = KeyRotateBody,
    responses((status = 201, body = Rotation), (status = 400, body = ErrorBody)))]
pub async fn rotate_signing_key(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<KeyRotateBody>,
) -> ApiResult<(StatusCode, Json<Rotation>)> {
    let r = crate::oidc::keys::rotate(&app, body.alg.as_deref().unwrap_or("ES256"), body.immediately.unwrap_or(false))
        .await?;
    let mut tx = app.db.begin().await?;
    crate::audit::record(
        &mut tx,
        app.now(),
        &admin.ctx.origin,
        crate::audit::Event::new(&admin.ctx.actor, "keys.rotate", "key", &r.key_id)
            .details(serde_json::json!({"alg": r.alg, "activates_at": r.activates_at})),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(r)))
}
