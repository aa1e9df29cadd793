//! The admin API under `/api/v1`: JSON over HTTP, one file per resource, documented as
//! OpenAPI 3.1 at `/api/v1/openapi.json`. Callers authenticate with an admin token
//! (`Authorization: Bearer lyd_at_…`) or an administrator's portal session plus `X-CSRF-Token`.

pub mod audit;
pub mod auth;
pub mod error;
pub mod groups;
pub mod mfa;
pub mod openapi;
pub mod tokens;
pub mod users;
pub mod views;

use crate::app::AppState;
use axum::Router;
use axum::routing::{delete, get, post, put};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/users", get(users::list_users).post(users::create_user))
        .route("/users/{id}", get(users::get_user).patch(users::update_user).delete(users::delete_user))
        .route("/users/{id}/password", post(users::set_password))
        .route("/users/{id}/unlock", post(users::unlock_user))
        .route("/users/{id}/groups", get(users::list_user_groups))
        .route("/users/{id}/sessions", get(users::list_user_sessions).delete(users::revoke_user_sessions))
        .route("/users/{id}/sessions/{session_id}", delete(users::revoke_user_session))
        .route("/groups", get(groups::list_groups).post(groups::create_group))
        .route("/groups/{id}", get(groups::get_group).patch(groups::update_group).delete(groups::delete_group))
        .route("/groups/{id}/members", get(groups::list_members))
        .route("/groups/{id}/members/{user_id}", put(groups::add_member).delete(groups::remove_member))
        .route("/users/{id}/factors", get(mfa::list_factors).delete(mfa::reset_factors))
        .route("/mfa-policy", get(mfa::get_policy).put(mfa::put_policy))
        .route("/tokens", get(tokens::list_tokens).post(tokens::create_token))
        .route("/tokens/{id}", delete(tokens::revoke_token))
        .route("/audit", get(audit::list_audit))
        .route("/audit/verify", get(audit::verify_audit))
}
