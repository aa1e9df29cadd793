//! The OpenAPI 3.1 document, generated from the handlers' annotations so it cannot drift.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Lanyard admin API", description = "Users, groups, sessions, tokens, the audit log, accounts, permission sets, assignments and decisions. Errors are `{\"error\": code, \"message\": text}`."),
    paths(
        super::users::list_users, super::users::create_user, super::users::get_user, super::users::update_user,
        super::users::delete_user, super::users::set_password, super::users::unlock_user, super::users::list_user_groups,
        super::users::list_user_sessions, super::users::revoke_user_sessions, super::users::revoke_user_session,
        super::groups::list_groups, super::groups::create_group, super::groups::get_group, super::groups::update_group,
        super::groups::delete_group, super::groups::list_members, super::groups::add_member, super::groups::remove_member,
        super::tokens::list_tokens, super::tokens::create_token, super::tokens::revoke_token,
        super::audit::list_audit, super::audit::verify_audit,
        super::mfa::get_policy, super::mfa::put_policy, super::mfa::list_factors, super::mfa::reset_factors,
        super::accounts::list_accounts, super::accounts::create_account, super::accounts::get_account,
        super::accounts::update_account, super::accounts::delete_account, super::accounts::list_ous,
        super::accounts::create_ou, super::accounts::get_ou, super::accounts::update_ou, super::accounts::delete_ou,
        super::permission_sets::list_policies, super::permission_sets::create_policy, super::permission_sets::get_policy,
        super::permission_sets::list_policy_versions, super::permission_sets::update_policy,
        super::permission_sets::delete_policy, super::permission_sets::list_permission_sets,
        super::permission_sets::create_permission_set, super::permission_sets::get_permission_set,
        super::permission_sets::update_permission_set, super::permission_sets::delete_permission_set,
        super::permission_sets::get_trust_policy, super::permission_sets::put_trust_policy,
        super::credentials::list_user_credentials, super::credentials::revoke_credentials,
        super::web_identity_providers::list_providers, super::web_identity_providers::create_provider,
        super::web_identity_providers::get_provider, super::web_identity_providers::update_provider,
        super::web_identity_providers::delete_provider,
        super::permission_sets::attach_policy, super::permission_sets::detach_policy, super::permission_sets::provision,
        super::assignments::list_assignments, super::assignments::create_assignment, super::assignments::get_assignment,
        super::assignments::delete_assignment, super::assignments::user_access,
        super::decisions::authorize, super::decisions::simulate,
        super::applications::list_applications, super::applications::create_application,
        super::applications::get_application, super::applications::update_application,
        super::applications::delete_application, super::applications::rotate_secret, super::applications::list_secrets,
        super::applications::list_assignments, super::applications::create_assignment,
        super::applications::delete_assignment, super::applications::rotate_signing_key,
    ),
    modifiers(&Security),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Serves the document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
