//! The OpenID Connect provider: applications sign employees in with Lanyard.
//!
//! - [`model`]: applications and the protocol's values (redirect matching, scopes, PKCE).
//! - [`store`]: the `oauth_*` tables.
//! - [`clients`]: managing applications, and client authentication at the token endpoint.
//! - [`keys`]: the signing-key cache, JWKS and rotation schedule over `crypto::keyring`.
//! - [`tokens`]: ID tokens and JWT access tokens: signing and verification.
//! - [`grants`]: code redemption, refresh rotation with reuse detection, revocation.
//! - [`authorize`], [`token`], [`device`], [`endpoints`]: the HTTP surface; [`routes`] mounts it.

pub mod authorize;
pub mod clients;
pub mod device;
pub mod endpoints;
pub mod error;
pub mod grants;
pub mod keys;
pub mod model;
pub mod routes;
pub mod store;
pub mod token;
pub mod tokens;
