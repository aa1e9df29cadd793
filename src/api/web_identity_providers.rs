//! `/api/v1/web-identity-providers`: the external OIDC issuers (CI systems, Kubernetes clusters)
//! whose tokens STS AssumeRoleWithWebIdentity accepts for roles that trust them.

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use super::views::List;
use crate::app::AppState;
use crate::sts::web_identity::{self, Provider};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderView {
    pub id: Uuid,
    /// The tokens' `iss`, e.g. `https://token.actions.githubusercontent.com`.
    pub issuer: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// The prefix of its claims' condition keys in trust policies (`<prefix>:sub`, `<prefix>:aud`).
    pub condition_prefix: String,
    pub created_at: i64,
}

impl From<Provider> for ProviderView {
    fn from(p: Provider) -> Self {
        Self {
            condition_prefix: p.host().to_string(),
            id: p.id,
            issuer: p.issuer,
            audiences: p.audiences,
            created_at: p.created_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProvider {
    /// https URL, exactly as the tokens' `iss` (http only on a loopback address).
    pub issuer: String,
    /// 1–100 accepted `aud` values.
    pub audiences: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProvider {
    pub audiences: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeletedProvider {
    /// Live credentials of the provider's workloads that ended with it.
    pub credentials_ended: i64,
}

/// List the trusted web identity providers.
#[utoipa::path(get, path = "/api/v1/web-identity-providers", tag = "web-identity-providers",
    responses((status = 200, body = List<ProviderView>), (status = 401, body = ErrorBody)))]
pub async fn list_providers(State(app): State<AppState>, _: Admin) -> ApiResult<Json<List<ProviderView>>> {
    let items = web_identity::list(&app).await?.into_iter().map(ProviderView::from).collect();
    Ok(Json(List { items, next: None }))
}

/// Trust an external issuer's tokens (roles still need a trust policy naming it).
#[utoipa::path(post, path = "/api/v1/web-identity-providers", tag = "web-identity-providers",
    request_body = CreateProvider,
    responses((status = 201, body = ProviderView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_provider(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<CreateProvider>,
) -> ApiResult<(StatusCode, Json<ProviderView>)> {
    let p = web_identity::create(&app, &admin.ctx, &body.issuer, &body.audiences).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

#[utoipa::path(get, path = "/api/v1/web-identity-providers/{id}", tag = "web-identity-providers",
    params(("id" = Uuid, Path)), responses((status = 200, body = ProviderView), (status = 404, body = ErrorBody)))]
pub async fn get_provider(
    State(app): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ProviderView>> {
    Ok(Json(web_identity::get(&app, id).await?.into()))
}

/// Replace the accepted audiences.
#[utoipa::path(patch, path = "/api/v1/web-identity-providers/{id}", tag = "web-identity-providers",
    params(("id" = Uuid, Path)), request_body = UpdateProvider,
    responses((status = 200, body = ProviderView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_provider(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateProvider>,
) -> ApiResult<Json<ProviderView>> {
    Ok(Json(web_identity::set_audiences(&app, &admin.ctx, id, &body.audiences).await?.into()))
}

/// Stop trusting an issuer; the credentials its workloads hold end at once.
#[utoipa::path(delete, path = "/api/v1/web-identity-providers/{id}", tag = "web-identity-providers",
    params(("id" = Uuid, Path)), responses((status = 200, body = DeletedProvider), (status = 404, body = ErrorBody)))]
pub async fn delete_provider(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DeletedProvider>> {
    let credentials_ended = web_identity::delete(&app, &admin.ctx, id).await?;
    Ok(Json(DeletedProvider { credentials_ended }))
}
