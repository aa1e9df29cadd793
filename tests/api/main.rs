//! Integration tests: the real server over HTTP on a random port, on SQLite by default and on
//! PostgreSQL when LANYARD_TEST_DATABASE_URL is set (the CI runs both).

mod access;
mod admin_api;
mod audit_log;
mod browser;
mod cli;
mod crypto;
mod hardening;
mod helpers;
mod instances;
mod interop;
mod mfa;
mod oidc;
mod operations;
mod robustness;
mod sessions;
mod signin;
mod sts;
mod web_identity;
mod webauthn;
