//! The admin API under `/api/v1`: JSON over HTTP, one file per resource, documented as
//! OpenAPI 3.1 at `/api/v1/openapi.json`. Callers authenticate with an admin token
//! (`Authorization: Bearer lyd_at_…`) or an administrator's portal session plus `X-CSRF-Token`.

pub mod accounts;
pub mod applications;
pub mod assignments;
pub mod audit;
pub mod auth;
pub mod credentials;
pub mod decisions;
pub mod error;
pub mod groups;
pub mod mfa;
pub mod openapi;
pub mod permission_sets;
pub mod tokens;
pub mod users;
pub mod views;
pub mod web_identity_providers;

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
        .route("/users/{id}/credentials", get(credentials::list_user_credentials))
        .route("/credentials/{access_key_id}", delete(credentials::revoke_credentials))
        .route(
            "/web-identity-providers",
            get(web_identity_providers::list_providers).post(web_identity_providers::create_provider),
        )
        .route(
            "/web-identity-providers/{id}",
            get(web_identity_providers::get_provider)
                .patch(web_identity_providers::update_provider)
                .delete(web_identity_providers::delete_provider),
        )
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
        .route("/applications", get(applications::list_applications).post(applications::create_application))
        .route(
            "/applications/{id}",
            get(applications::get_application)
                .patch(applications::update_application)
                .delete(applications::delete_application),
        )
        .route("/applications/{id}/secrets", get(applications::list_secrets).post(applications::rotate_secret))
        .route(
            "/applications/{id}/assignments",
            get(applications::list_assignments).post(applications::create_assignment),
        )
        .route("/applications/{id}/assignments/{assignment_id}", delete(applications::delete_assignment))
        .route("/signing-keys/rotate", post(applications::rotate_signing_key))
        .route("/accounts", get(accounts::list_accounts).post(accounts::create_account))
        .route(
            "/accounts/{id}",
            get(accounts::get_account).patch(accounts::update_account).delete(accounts::delete_account),
        )
        .route("/org-units", get(accounts::list_ous).post(accounts::create_ou))
        .route("/org-units/{id}", get(accounts::get_ou).patch(accounts::update_ou).delete(accounts::delete_ou))
        .route("/policies", get(permission_sets::list_policies).post(permission_sets::create_policy))
        .route(
            "/policies/{id}",
            get(permission_sets::get_policy)
                .patch(permission_sets::update_policy)
                .delete(permission_sets::delete_policy),
        )
        .route("/policies/{id}/versions", get(permission_sets::list_policy_versions))
        .route(
            "/permission-sets",
            get(permission_sets::list_permission_sets).post(permission_sets::create_permission_set),
        )
        .route(
            "/permission-sets/{id}",
            get(permission_sets::get_permission_set)
                .patch(permission_sets::update_permission_set)
                .delete(permission_sets::delete_permission_set),
        )
        .route(
            "/permission-sets/{id}/policies/{policy_id}",
            put(permission_sets::attach_policy).delete(permission_sets::detach_policy),
        )
        .route("/permission-sets/{id}/provision", post(permission_sets::provision))
        .route(
            "/permission-sets/{id}/trust-policy",
            get(permission_sets::get_trust_policy).put(permission_sets::put_trust_policy),
        )
        .route("/assignments", get(assignments::list_assignments).post(assignments::create_assignment))
        .route("/assignments/{id}", get(assignments::get_assignment).delete(assignments::delete_assignment))
        .route("/users/{id}/access", get(assignments::user_access))
        .route("/authorize", post(decisions::authorize))
        .route("/simulate", post(decisions::simulate))
}
