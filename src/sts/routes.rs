//! Every AWS-compatible endpoint sits under `/aws`, so a user sets only
//! `AWS_ENDPOINT_URL=<public url>/aws`: the services' paths do not collide there (SSO OIDC and
//! the SSO portal by path, STS by the form's `Action` at the root).

use crate::app::AppState;
use axum::Router;
use axum::routing::{get, post};

/// The prefix of the AWS-compatible API.
pub const PREFIX: &str = "/aws";

/// Whether a path is under `/aws`: called by SDKs with their own credentials, never by a
/// browser's cookies, so CSRF does not apply.
pub fn is_aws_api(path: &str) -> bool {
    path == PREFIX || path.strip_prefix(PREFIX).is_some_and(|rest| rest.starts_with('/'))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/aws", post(super::sts_query::query).get(super::sts_query::query))
        .route("/aws/", post(super::sts_query::query).get(super::sts_query::query))
        .route("/aws/client/register", post(super::sso_oidc::register_client))
        .route("/aws/device_authorization", post(super::sso_oidc::start_device_authorization))
        .route("/aws/token", post(super::sso_oidc::create_token))
        .route("/aws/federation/credentials", get(super::sso_portal::get_role_credentials))
        .route("/aws/assignment/accounts", get(super::sso_portal::list_accounts))
        .route("/aws/assignment/roles", get(super::sso_portal::list_account_roles))
        .route("/aws/logout", post(super::sso_portal::logout))
}
