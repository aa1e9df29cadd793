//! The application: services and settings built once at start and shared by every request.

use crate::authn::password::PasswordPolicy;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::Sealer;
use crate::crypto::password::PasswordHasher;
use crate::db::Db;
use anyhow::Context;
use std::sync::Arc;

/// Everything a request handler, CLI command or job needs.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub db: Db,
    pub clock: SharedClock,
    pub sealer: Sealer,
    pub hasher: PasswordHasher,
    pub passwords: PasswordPolicy,
    /// Signs CSRF tokens; derived from the master key so every instance agrees.
    pub csrf_key: [u8; 32],
    /// The WebAuthn relying party (None when the public URL's host is an IP address).
    pub webauthn: Option<webauthn_rs::Webauthn>,
    /// Compiled role policies for decisions, checked against the role's revision on every use.
    pub roles: crate::access::decision::RoleCache,
    /// The batched audit writer for high-volume events (decisions); flushed at shutdown.
    pub audit_batch: crate::audit::batch::Batcher,
    /// Sign-in attempts in flight per username on this instance (see `authn::throttle`).
    pub attempts: crate::authn::throttle::Inflight,
    /// Sign-in requests per client IP (see `signin.rate_per_ip`).
    pub signin_rate: crate::ratelimit::RateLimiter,
    /// OAuth requests (authorize, token, device, userinfo…) per client IP.
    pub oidc_ip_rate: crate::ratelimit::RateLimiter,
    /// Token requests per OAuth client.
    pub oidc_client_rate: crate::ratelimit::RateLimiter,
    /// The provider's signing keys, unsealed, with the JWKS (see `oidc::keys`).
    pub oidc_keys: crate::oidc::keys::KeyCache,
    /// OAuth clients and secret digests for client authentication (see `oidc::clients`).
    pub oidc_clients: crate::oidc::clients::ClientCache,
    /// External web identity issuers' signing keys (see `sts::web_identity`).
    pub web_identity_keys: crate::sts::web_identity::KeyCache,
    /// The public URL without trailing slash: the OIDC issuer (computed once: without a
    /// configured URL it is derived from the listen address, a parse per call).
    pub issuer: String,
}

impl App {
    /// Connects to the database, applies migrations and opens the sealer. With
    /// `create_master_key`, a missing master key file is generated (first start).
    pub async fn open(config: Config, clock: SharedClock, create_master_key: bool) -> anyhow::Result<App> {
        if config.database.url.is_none() {
            crate::config::ensure_data_dir(&config.data_dir)?;
        }
        let db = Db::connect(&config.database_url(), config.database.max_connections).await?;
        db.migrate().await?;
        let keys = crate::crypto::master::load(&config, create_master_key)?;
        let sealer = Sealer::open(&db, &keys, clock.unix()).await.context("cannot open the secret store")?;
        let csrf_key = sealer.master().derive("lanyard csrf v1");
        let hasher = PasswordHasher::new(
            config.password.argon2_memory_kib,
            config.password.argon2_iterations,
            config.password.argon2_parallelism,
            config.signin.max_concurrent_hashes as usize,
            config.signin.max_queued_hashes as usize,
        )?;
        hasher.warm_up().await?;
        let passwords = PasswordPolicy::new(config.password.min_length as usize);
        let webauthn = crate::authn::webauthn::relying_party(&config.public_url());
        let audit_batch = crate::audit::batch::Batcher::start(db.clone());
        let signin_rate = crate::ratelimit::RateLimiter::new(config.signin.rate_per_ip, config.signin.rate_burst);
        let oidc = &config.oidc;
        let oidc_ip_rate = crate::ratelimit::RateLimiter::new(oidc.rate_per_ip, oidc.rate_burst);
        let oidc_client_rate = crate::ratelimit::RateLimiter::new(oidc.rate_per_client, oidc.rate_burst);
        if webauthn.is_none() {
            tracing::warn!(public_url = %config.public_url(), "passkeys are off: the public URL needs a host name, not an IP address");
        }
        let issuer = config.public_base();
        Ok(App {
            issuer,
            config,
            db,
            clock,
            sealer,
            hasher,
            passwords,
            csrf_key,
            webauthn,
            roles: Default::default(),
            audit_batch,
            attempts: Default::default(),
            signin_rate,
            oidc_ip_rate,
            oidc_client_rate,
            oidc_keys: Default::default(),
            oidc_clients: Default::default(),
            web_identity_keys: Default::default(),
        })
    }

    /// Now, in Unix seconds, from the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.unix()
    }
}

/// The axum state: a cheap handle to the one [`App`].
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
