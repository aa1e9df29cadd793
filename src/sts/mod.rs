//! Temporary role credentials and the AWS-compatible API.
//!
//! - [`model`]: identifiers (access keys, role ids, ARNs) and the credential types.
//! - [`sigv4`]: AWS Signature Version 4 verification (pure).
//! - [`credentials`]: issuing, verifying and revoking role credentials (the service).
//! - [`web_identity`]: trusted external OIDC issuers for AssumeRoleWithWebIdentity and their
//!   keys.
//! - [`sso_oidc`], [`sso_portal`], [`sts_query`]: the SSO OIDC, SSO portal and STS APIs under
//!   `/aws` ([`routes`]), with AWS's error shapes ([`error`]).

pub mod credentials;
pub mod error;
pub mod model;
pub mod routes;
pub mod sigv4;
pub mod sso_oidc;
pub mod sso_portal;
pub mod store;
pub mod sts_query;
pub mod web_identity;
