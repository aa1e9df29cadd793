//! Lanyard: a self-hosted workforce identity center.
//!
//! Map of the crate (one module per capability; surfaces adapt, services decide):
//! - [`config`]: settings from defaults, `lanyard.toml` and `LANYARD_*`.
//! - [`server`], [`app`]: the HTTP server, middleware, and the shared application state.
//! - [`db`]: SQLite and PostgreSQL behind one API; the only backend-aware code.
//! - [`crypto`]: master key, sealing, tokens, password hashing, signing keys.
//! - [`audit`]: the hash-chained audit log.
//! - [`directory`]: users, groups, memberships.
//! - [`authn`]: passwords, throttling, sessions, sign-in, CSRF, admin API tokens.
//! - [`api`]: the admin API under `/api/v1` and its OpenAPI document.
//! - [`portal`]: people's pages and admin pages.
//! - [`oidc`]: the OpenID Connect provider: applications, authorize, token, device flow, keys.
//! - [`sts`]: role credentials, SigV4, and the AWS-compatible SSO / SSO OIDC / STS API under `/aws`.
//! - [`jobs`]: periodic clean-up, provisioning repair, signing-key rotation.
//! - [`ratelimit`]: per-key token buckets (sign-in requests per client IP).
//! - [`cli`]: the `lanyard` command.

pub mod access;
pub mod api;
pub mod app;
pub mod audit;
pub mod authn;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod directory;
pub mod error;
pub mod jobs;
pub mod oidc;
pub mod portal;
pub mod ratelimit;
pub mod server;
pub mod sts;
