//! The provider's URLs. `/authorize` sits at the host root (the AWS CLI's PKCE login expects it
//! there); the back channel lives under `/oauth2/`; the portal adds `/device`.

use crate::app::AppState;
use axum::Router;
use axum::routing::{get, post};

/// The back-channel endpoints: called by clients, not browsers, so they take no CSRF token.
pub fn is_back_channel(path: &str) -> bool {
    matches!(
        path,
        "/oauth2/token" | "/oauth2/introspect" | "/oauth2/revoke" | "/oauth2/device_authorization" | "/oauth2/userinfo"
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(super::endpoints::get_discovery))
        .route("/.well-known/oauth-authorization-server", get(super::endpoints::get_discovery))
        .route("/oauth2/jwks", get(super::endpoints::get_jwks))
        .route("/oauth2/token", post(super::token::post_token))
        .route("/oauth2/device_authorization", post(super::device::post_device_authorization))
        .route("/oauth2/userinfo", get(super::endpoints::userinfo).post(super::endpoints::userinfo))
        .route("/oauth2/introspect", post(super::endpoints::introspect))
        .route("/oauth2/revoke", post(super::endpoints::revoke))
        .merge(super::endpoints::logout_routes())
        .merge(super::authorize::routes())
        .merge(super::device::routes())
}
