//! The OpenAPI 3.1 document, generated from the handlers' annotations so it cannot drift.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Lanyard admin API", description = "Users, groups, sessions, tokens and the audit log. Errors are `{\"error\": code, \"message\": text}`."),
    paths(
        super::users::list_users, super::users::create_user, super::users::get_user, super::users::update_user,
        super::users::delete_user, super::users::set_password, super::users::unlock_user, super::users::list_user_groups,
        super::users::list_user_sessions, super::users::revoke_user_sessions, super::users::revoke_user_session,
        super::groups::list_groups, super::groups::create_group, super::groups::get_group, super::groups::update_group,
        super::groups::delete_group, super::groups::list_members, super::groups::add_member, super::groups::remove_member,
        super::tokens::list_tokens, super::tokens::create_token, super::tokens::revoke_token,
        super::audit::list_audit, super::audit::verify_audit,
        super::mfa::get_policy, super::mfa::put_policy, super::mfa::list_factors, super::mfa::reset_factors,
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
