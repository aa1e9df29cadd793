//! `/api/v1/tokens`: admin API tokens (the secret is shown once, at creation).

use super::auth::Admin;
use super::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use super::views::{CreatedToken, List, TokenView};
use crate::app::AppState;
use crate::authn::api_tokens;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// Lifetime in seconds; without it the token lives until revoked.
    pub expires_in: Option<i64>,
    /// `admin` (default: the whole admin API) or `authorize` (only `POST /api/v1/authorize`,
    /// for resource services).
    pub scope: Option<String>,
}

/// List tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = List<TokenView>), (status = 401, body = ErrorBody)))]
pub async fn list_tokens(State(app): State<AppState>, _: Admin) -> ApiResult<Json<List<TokenView>>> {
    let tokens = api_tokens::list(&app).await?;
    Ok(Json(List { items: tokens.iter().map(TokenView::from).collect(), next: None }))
}

/// Create a token; the response holds the secret, shown only this once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(app): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (token, secret) = api_tokens::create_scoped(
        &app,
        &admin.ctx.actor,
        &admin.ctx.origin,
        &body.name,
        body.expires_in,
        body.scope.as_deref().unwrap_or(api_tokens::SCOPE_ADMIN),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken { token: TokenView::from(&token), secret: secret.expose().to_string() }),
    ))
}

/// Revoke a token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(app): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    api_tokens::revoke(&app, &admin.ctx.actor, &admin.ctx.origin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
