//! Token signing keys for the provider, over the foundation's keyring: an in-memory cache of the
//! unsealed keys (so no request unseals anything), the JWKS document, and the rotation schedule.
//!
//! Every instance reads the same `signing_keys` rows, so they agree on the active key; a cache
//! is at most [`FRESH_FOR`] old, and a new key is published [`OidcConfig::key_prepublish`]
//! before it signs, so a relying party (or another instance) knows it before it sees it.
//!
//! [`OidcConfig::key_prepublish`]: crate::config::OidcConfig

use crate::app::App;
use crate::crypto::keyring::{self, Alg};
use crate::error::{Error, Result};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a loaded key set is used before it is read again.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// A key that signs: its id (the JWT `kid`) and the private key, parsed once. jsonwebtoken's
/// `encode` parses the PKCS#8 key again on every call (for P-256 that recomputes the public
/// point, more than the signature itself costs), so tokens are signed with the aws-lc key pair
/// kept here; jsonwebtoken still publishes the JWKS and verifies.
pub struct Signer {
    pub kid: String,
    pub alg: Algorithm,
    pair: KeyPair,
}

enum KeyPair {
    Ecdsa(aws_lc_rs::signature::EcdsaKeyPair),
    Ed25519(aws_lc_rs::signature::Ed25519KeyPair),
    Rsa(aws_lc_rs::signature::RsaKeyPair),
}

impl Signer {
    fn new(kid: String, alg: Algorithm, pkcs8: &[u8]) -> Result<Self> {
        use aws_lc_rs::signature as sig;
        let bad = |e: &dyn std::fmt::Display| Error::internal(anyhow::anyhow!("unreadable signing key {kid}: {e}"));
        let pair = match alg {
            Algorithm::ES256 => KeyPair::Ecdsa(
                sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(|e| bad(&e))?,
            ),
            Algorithm::EdDSA => KeyPair::Ed25519(sig::Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| bad(&e))?),
            _ => KeyPair::Rsa(sig::RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| bad(&e))?),
        };
        Ok(Self { kid, alg, pair })
    }

    /// The JWS signature of `message` (RFC 7518 §3: ES256 as the fixed 64-byte r‖s).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let failed = || Error::internal(anyhow::anyhow!("signing failed"));
        Ok(match &self.pair {
            KeyPair::Ecdsa(k) => k.sign(&rng, message).map_err(|_| failed())?.as_ref().to_vec(),
            KeyPair::Ed25519(k) => k.sign(message).as_ref().to_vec(),
            KeyPair::Rsa(k) => {
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, message, &mut out).map_err(|_| failed())?;
                out
            }
        })
    }
}

/// The keys as loaded at one moment.
pub struct KeySet {
    loaded: Instant,
    signers: HashMap<&'static str, Arc<Signer>>,
    verifiers: HashMap<String, (Algorithm, DecodingKey)>,
    /// The JWKS document, serialized once per load.
    pub jwks: Arc<String>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").field("kids", &self.verifiers.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl KeySet {
    /// The active signer for `alg`.
    pub fn signer(&self, alg: &str) -> Option<Arc<Signer>> {
        self.signers.get(alg).cloned()
    }
    /// The published key with id `kid`.
    pub fn verifier(&self, kid: &str) -> Option<&(Algorithm, DecodingKey)> {
        self.verifiers.get(kid)
    }
}

/// The per-process cache.
#[derive(Debug, Default)]
pub struct KeyCache {
    current: RwLock<Option<Arc<KeySet>>>,
}

impl KeyCache {
    /// Drops the cached set: the next use reads the database (after a local rotation).
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.current.write() {
            *c = None;
        }
    }
}

fn jwt_alg(alg: &str) -> Option<(Algorithm, &'static str)> {
    match alg {
        "ES256" => Some((Algorithm::ES256, "ES256")),
        "RS256" => Some((Algorithm::RS256, "RS256")),
        "EdDSA" => Some((Algorithm::EdDSA, "EdDSA")),
        _ => None,
    }
}

fn encoding_key(alg: Algorithm, pkcs8: &[u8]) -> Result<EncodingKey> {
    use base64::Engine;
    Ok(match alg {
        Algorithm::ES256 => EncodingKey::from_ec_der(pkcs8),
        Algorithm::EdDSA => EncodingKey::from_ed_der(pkcs8),
        _ => {
            // jsonwebtoken reads RSA keys as PKCS#1; its PEM reader unwraps the keyring's PKCS#8.
            let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8);
            let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
            EncodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|e| Error::internal(anyhow::anyhow!("unreadable RSA signing key: {e}")))?
        }
    })
}

async fn load(app: &App) -> Result<KeySet> {
    let now = app.now();
    let retention = app.config.oidc.key_retention.secs();
    let keys = keyring::list(&app.db).await?;
    let mut signers = HashMap::new();
    let mut verifiers = HashMap::new();
    let mut jwks = JwkSet { keys: Vec::new() };
    let mut tx = app.db.read().await?;
    for k in keys {
        if k.state == "retired" && k.retired_at.is_some_and(|r| r + retention < now) {
            continue;
        }
        let Some((alg, name)) = jwt_alg(&k.alg) else { continue };
        let pkcs8 = keyring::private_key(&mut tx, &app.sealer, k.id).await?;
        let enc = encoding_key(alg, &pkcs8)?;
        let mut jwk = Jwk::from_encoding_key(&enc, alg)
            .map_err(|e| Error::internal(anyhow::anyhow!("cannot publish signing key {}: {e}", k.id)))?;
        jwk.common.key_id = Some(k.id.to_string());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let dec = DecodingKey::from_jwk(&jwk)
            .map_err(|e| Error::internal(anyhow::anyhow!("cannot read back signing key {}: {e}", k.id)))?;
        verifiers.insert(k.id.to_string(), (alg, dec));
        jwks.keys.push(jwk);
        if k.state == "active" {
            signers.insert(name, Arc::new(Signer::new(k.id.to_string(), alg, &pkcs8)?));
        }
    }
    drop(tx);
    let jwks = serde_json::to_string(&jwks).map_err(Error::internal)?;
    Ok(KeySet { loaded: Instant::now(), signers, verifiers, jwks: Arc::new(jwks) })
}

/// The current key set, read from the database when the cached one is stale.
pub async fn current(app: &App) -> Result<Arc<KeySet>> {
    if let Ok(c) = app.oidc_keys.current.read()
        && let Some(set) = c.as_ref()
        && set.loaded.elapsed() < FRESH_FOR
    {
        return Ok(set.clone());
    }
    let set = Arc::new(load(app).await?);
    if let Ok(mut c) = app.oidc_keys.current.write() {
        *c = Some(set.clone());
    }
    Ok(set)
}

/// The active signer for `alg`, creating the first key of that algorithm if there is none.
pub async fn signer(app: &App, alg: &str) -> Result<Arc<Signer>> {
    if let Some(s) = current(app).await?.signer(alg) {
        return Ok(s);
    }
    ensure_active(app, alg).await?;
    current(app).await?.signer(alg).ok_or_else(|| Error::internal(anyhow::anyhow!("no active {alg} signing key")))
}

/// Makes sure `alg` has an active key (first start, or the first app that asks for RS256 or
/// EdDSA). Two instances racing here are settled by the one-active-key index.
pub async fn ensure_active(app: &App, alg: &str) -> Result<()> {
    let parsed: Alg = alg.parse().map_err(Error::BadRequest)?;
    let keys = keyring::list(&app.db).await?;
    if keys.iter().any(|k| k.alg == alg && k.state == "active") {
        return Ok(());
    }
    let now = app.now();
    let key = keyring::generate(&app.db, &app.sealer, parsed, now).await?;
    if let Err(e) = keyring::activate(&app.db, key.id, now).await {
        tracing::info!(error = %e, "another instance activated a signing key first");
    }
    app.oidc_keys.invalidate();
    Ok(())
}

/// What a rotation did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Rotation {
    pub alg: String,
    /// The new key's id (its `kid`).
    pub key_id: String,
    /// When it starts signing (Unix seconds); until then it is only published.
    pub activates_at: i64,
}

/// Starts a rotation: a new pending key, published now, signing after the pre-publish period
/// (`immediately`: now, for a compromised key — relying parties that cached the JWKS refetch it
/// when they meet the unknown `kid`).
pub async fn rotate(app: &App, alg: &str, immediately: bool) -> Result<Rotation> {
    let parsed: Alg = alg.parse().map_err(Error::BadRequest)?;
    let now = app.now();
    let key = keyring::generate(&app.db, &app.sealer, parsed, now).await?;
    let activates_at = if immediately {
        keyring::activate(&app.db, key.id, now).await?;
        now
    } else {
        now + app.config.oidc.key_prepublish.secs()
    };
    app.oidc_keys.invalidate();
    Ok(Rotation { alg: parsed.as_str().into(), key_id: key.id.to_string(), activates_at })
}

/// One step of the schedule (run by the jobs on every instance; each step is idempotent):
/// activate pending keys whose pre-publish period is over, start a rotation for active keys
/// older than the rotation period, delete retired keys nothing valid was signed with.
pub async fn run_schedule(app: &App) -> Result<u32> {
    let now = app.now();
    let cfg = &app.config.oidc;
    let keys = keyring::list(&app.db).await?;
    let mut changed = 0;
    for k in keys.iter().filter(|k| k.state == "pending") {
        if k.created_at + cfg.key_prepublish.secs() <= now && keyring::activate(&app.db, k.id, now).await? {
            tracing::info!(key.id = %k.id, alg = %k.alg, "signing key activated");
            changed += 1;
        }
    }
    if cfg.key_rotation.secs() > 0 {
        for k in keys.iter().filter(|k| k.state == "active") {
            let due = k.activated_at.unwrap_or(k.created_at) + cfg.key_rotation.secs() <= now;
            let has_pending = keys.iter().any(|p| p.state == "pending" && p.alg == k.alg);
            if due && !has_pending {
                rotate(app, &k.alg, false).await?;
                tracing::info!(alg = %k.alg, "signing key rotation started");
                changed += 1;
            }
        }
    }
    changed += keyring::delete_retired(&app.db, now - cfg.key_retention.secs()).await? as u32;
    if changed > 0 {
        app.oidc_keys.invalidate();
    }
    Ok(changed)
}
