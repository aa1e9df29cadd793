//! The signing keyring: ES256 and RSA keys for tokens and assertions (used by the OIDC and SAML
//! issues). A key is `pending` (published, not yet signing), then `active` (signs), then
//! `retired` (still published until what it signed expires). Private keys are sealed at rest.

use super::{CryptoError, Sealer};
use crate::db::{Db, Tx};
use crate::db_run;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::Serialize;
use uuid::Uuid;

/// Signature algorithms a key can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Alg {
    ES256,
    RS256,
    EdDSA,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
            Alg::EdDSA => "EdDSA",
        }
    }
}

impl std::str::FromStr for Alg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "ES256" => Ok(Alg::ES256),
            "RS256" => Ok(Alg::RS256),
            "EDDSA" => Ok(Alg::EdDSA),
            _ => Err(format!("unknown algorithm {s:?} (use ES256, RS256 or EdDSA)")),
        }
    }
}

/// A signing key's public side and lifecycle.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SigningKey {
    pub id: Uuid,
    pub alg: String,
    pub state: String,
    /// SubjectPublicKeyInfo, DER (the raw 32 bytes for Ed25519).
    #[serde(skip)]
    pub public_key: Vec<u8>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

fn aad(id: Uuid) -> Vec<u8> {
    let mut a = b"signing key\0".to_vec();
    a.extend_from_slice(id.as_bytes());
    a
}

/// Generates a key pair; returns (PKCS#8 private key, SPKI public key).
fn generate_pair(alg: Alg) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    match alg {
        Alg::ES256 => {
            let kp =
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| CryptoError::KeyGeneration)?;
            let private = kp.to_pkcs8v1().map_err(|_| CryptoError::KeyGeneration)?.as_ref().to_vec();
            let public: PublicKeyX509Der<'_> = kp.public_key().as_der().map_err(|_| CryptoError::KeyGeneration)?;
            Ok((private, public.as_ref().to_vec()))
        }
        Alg::RS256 => {
            let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| CryptoError::KeyGeneration)?;
            let private: Pkcs8V1Der<'_> = kp.as_der().map_err(|_| CryptoError::KeyGeneration)?;
            let public: PublicKeyX509Der<'_> = kp.public_key().as_der().map_err(|_| CryptoError::KeyGeneration)?;
            Ok((private.as_ref().to_vec(), public.as_ref().to_vec()))
        }
        Alg::EdDSA => {
            // PKCS#8 v1 (no embedded public key): the form jsonwebtoken expects for Ed25519.
            let kp = aws_lc_rs::signature::Ed25519KeyPair::generate().map_err(|_| CryptoError::KeyGeneration)?;
            let private = kp.to_pkcs8v1().map_err(|_| CryptoError::KeyGeneration)?;
            Ok((private.as_ref().to_vec(), kp.public_key().as_ref().to_vec()))
        }
    }
}

const COLUMNS: &str = "id, alg, state, public_key, created_at, activated_at, retired_at";

/// Generates a new `pending` key, its private half sealed.
pub async fn generate(db: &Db, sealer: &Sealer, alg: Alg, now: i64) -> Result<SigningKey, CryptoError> {
    let id = Uuid::now_v7();
    let (private, public) =
        tokio::task::spawn_blocking(move || generate_pair(alg)).await.map_err(|_| CryptoError::KeyGeneration)??;
    let sealed = sealer.seal(&private, &aad(id))?;
    let mut tx = db.begin().await?;
    db_run!(&mut tx, c => sqlx::query("INSERT INTO signing_keys (id, alg, state, public_key, private_sealed, created_at) VALUES ($1, $2, 'pending', $3, $4, $5)")
        .bind(id).bind(alg.as_str()).bind(&public).bind(sealed).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(SigningKey {
        id,
        alg: alg.as_str().into(),
        state: "pending".into(),
        public_key: public,
        created_at: now,
        activated_at: None,
        retired_at: None,
    })
}

/// Makes `id` the active key for its algorithm; the previously active one retires.
pub async fn activate(db: &Db, id: Uuid, now: i64) -> Result<bool, CryptoError> {
    let mut tx = db.begin().await?;
    let alg: Option<String> = db_run!(&mut tx, c => sqlx::query_scalar("SELECT alg FROM signing_keys WHERE id = $1 AND state = 'pending'").bind(id).fetch_optional(c).await)?;
    let Some(alg) = alg else { return Ok(false) };
    db_run!(&mut tx, c => sqlx::query("UPDATE signing_keys SET state = 'retired', retired_at = $1 WHERE alg = $2 AND state = 'active'").bind(now).bind(&alg).execute(c).await.map(|r| r.rows_affected()))?;
    db_run!(&mut tx, c => sqlx::query("UPDATE signing_keys SET state = 'active', activated_at = $1 WHERE id = $2").bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes retired keys retired before `retired_before`
/// (nothing they signed is still valid). Returns the number deleted.
pub async fn delete_retired(db: &Db, retired_before: i64) -> Result<u64, CryptoError> {
    let mut tx = db.begin().await?;
    let n = db_run!(&mut tx, c => sqlx::query("DELETE FROM signing_keys WHERE state = 'retired' AND retired_at < $1").bind(retired_before).execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(n)
}

/// Every key, newest first.
pub async fn list(db: &Db) -> Result<Vec<SigningKey>, CryptoError> {
    let mut tx = db.read().await?;
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM signing_keys ORDER BY created_at DESC, id DESC"));
    Ok(db_run!(&mut tx, c => sqlx::query_as(sql).fetch_all(c).await)?)
}

/// The PKCS#8 private key of `id`, unsealed.
pub async fn private_key(tx: &mut Tx, sealer: &Sealer, id: Uuid) -> Result<Vec<u8>, CryptoError> {
    let sealed: Option<Vec<u8>> = db_run!(tx, c => sqlx::query_scalar("SELECT private_sealed FROM signing_keys WHERE id = $1").bind(id).fetch_optional(c).await)?;
    let sealed = sealed.ok_or(CryptoError::Malformed)?;
    sealer.unseal(tx, &sealed, &aad(id)).await
}

/// Checks that a private key matches its stored public key and can sign.
pub fn check_pair(alg: &str, pkcs8: &[u8], public_spki: &[u8]) -> bool {
    match alg {
        "ES256" => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .ok()
            .and_then(|k| k.public_key().as_der().ok().map(|d: PublicKeyX509Der<'_>| d.as_ref() == public_spki))
            .unwrap_or(false),
        "RS256" => aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8)
            .ok()
            .and_then(|k| k.public_key().as_der().ok().map(|d: PublicKeyX509Der<'_>| d.as_ref() == public_spki))
            .unwrap_or(false),
        "EdDSA" => aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map(|k| k.public_key().as_ref() == public_spki)
            .unwrap_or(false),
        _ => false,
    }
}
