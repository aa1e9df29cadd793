//! Envelope sealing of secrets at rest with AES-256-GCM.
//!
//! Secrets are sealed under a *data key*; data keys are stored wrapped (sealed) by the master
//! key. A sealed blob names its data key, so data keys and the master key can rotate while old
//! blobs stay readable. The caller passes associated data (say, the row id), which binds a blob
//! to its place: a blob copied into another row fails to unseal.
//!
//! Format: `0x01 | data key id (16) | nonce (12) | ciphertext | tag (16)`.

use super::{CryptoError, MasterKey};
use crate::db::{Db, Tx};
use crate::db_run;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 16 + NONCE_LEN;

/// Seals and unseals secrets; holds the master key and a cache of unwrapped data keys.
pub struct Sealer {
    master: MasterKey,
    active: RwLock<Option<Uuid>>,
    keys: RwLock<HashMap<Uuid, Arc<LessSafeKey>>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("master", &self.master).finish_non_exhaustive()
    }
}

fn aead_seal(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Result<([u8; NONCE_LEN], Vec<u8>), CryptoError> {
    let nonce_bytes = super::random_bytes::<NONCE_LEN>()?;
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::Unseal)?;
    Ok((nonce_bytes, buf))
}

fn aead_open(key: &LessSafeKey, aad: &[u8], nonce: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
    let mut buf = ciphertext.to_vec();
    let plain = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::Unseal)?;
    Ok(plain.to_vec())
}

fn aes_key(bytes: &[u8]) -> Result<LessSafeKey, CryptoError> {
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoError::Malformed)?))
}

fn wrap_aad(id: Uuid) -> Vec<u8> {
    let mut aad = b"lanyard data key\0".to_vec();
    aad.extend_from_slice(id.as_bytes());
    aad
}

/// Wraps a data key under a master key: `nonce | ciphertext | tag`.
fn wrap(master: &MasterKey, id: Uuid, data_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (nonce, ct) = aead_seal(&aes_key(master.bytes())?, &wrap_aad(id), data_key)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

fn unwrap_key(master: &MasterKey, id: Uuid, wrapped: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if wrapped.len() < NONCE_LEN {
        return Err(CryptoError::Malformed);
    }
    aead_open(&aes_key(master.bytes())?, &wrap_aad(id), &wrapped[..NONCE_LEN], &wrapped[NONCE_LEN..])
}

#[derive(sqlx::FromRow)]
struct DataKeyRow {
    id: Uuid,
    wrapped: Vec<u8>,
    master_key_id: String,
}

impl Sealer {
    /// Opens the sealer: checks that `keys` can unwrap this database's data keys (finishing an
    /// interrupted master-key rotation if the pending key is the one in use) and makes sure an
    /// active data key exists.
    pub async fn open(db: &Db, keys: &super::master::LoadedKeys, now: i64) -> Result<Sealer, CryptoError> {
        let mut tx = db.begin().await?;
        let rows: Vec<DataKeyRow> = db_run!(&mut tx, c => sqlx::query_as("SELECT id, wrapped, master_key_id FROM data_keys").fetch_all(c).await)?;
        let mut master = keys.current.clone();
        if let Some(found) = rows.first().map(|r| r.master_key_id.clone())
            && found != master.id()
        {
            match &keys.pending {
                Some(p) if p.id() == found => {
                    if let super::master::KeySource::File(path) = &keys.source {
                        let pending = super::master::pending_path(path);
                        std::fs::rename(&pending, path).map_err(|e| {
                            CryptoError::MasterKeyMismatch(format!(
                                "cannot finish rotation, move {} to {}: {e}",
                                pending.display(),
                                path.display()
                            ))
                        })?;
                        tracing::warn!("finished an interrupted master key rotation");
                    }
                    master = p.clone();
                }
                _ => {
                    return Err(CryptoError::MasterKeyMismatch(format!(
                        "the database's data keys are wrapped by master key {found}, but the configured key is {}; every instance must use the same LANYARD_MASTER_KEY or key file",
                        master.id()
                    )));
                }
            }
        }
        let sealer = Sealer { master, active: RwLock::new(None), keys: RwLock::new(HashMap::new()) };
        for r in &rows {
            sealer.cache(r.id, &unwrap_key(&sealer.master, r.id, &r.wrapped)?)?;
        }
        let active: Option<Uuid> = db_run!(&mut tx, c => sqlx::query_scalar("SELECT id FROM data_keys WHERE is_active ORDER BY created_at DESC LIMIT 1").fetch_optional(c).await)?;
        let active = match active {
            Some(id) => id,
            None => sealer.insert_data_key(&mut tx, now).await?,
        };
        tx.commit().await?;
        *sealer.active.write().unwrap_or_else(|p| p.into_inner()) = Some(active);
        Ok(sealer)
    }

    /// The master key in use.
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    fn cache(&self, id: Uuid, key: &[u8]) -> Result<(), CryptoError> {
        let k = Arc::new(aes_key(key)?);
        self.keys.write().unwrap_or_else(|p| p.into_inner()).insert(id, k);
        Ok(())
    }

    async fn insert_data_key(&self, tx: &mut Tx, now: i64) -> Result<Uuid, CryptoError> {
        let id = Uuid::now_v7();
        let key = super::random_bytes::<32>()?;
        let wrapped = wrap(&self.master, id, &key)?;
        db_run!(tx, c => sqlx::query("UPDATE data_keys SET is_active = $1").bind(false).execute(c).await.map(|r| r.rows_affected()))?;
        db_run!(tx, c => sqlx::query("INSERT INTO data_keys (id, wrapped, master_key_id, is_active, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id).bind(wrapped).bind(self.master.id()).bind(true).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        self.cache(id, &key)?;
        Ok(id)
    }

    /// Starts sealing new secrets under a fresh data key; old blobs stay readable.
    pub async fn rotate_data_key(&self, db: &Db, now: i64) -> Result<Uuid, CryptoError> {
        let mut tx = db.begin().await?;
        let id = self.insert_data_key(&mut tx, now).await?;
        tx.commit().await?;
        *self.active.write().unwrap_or_else(|p| p.into_inner()) = Some(id);
        Ok(id)
    }

    /// Seals `plaintext`, bound to `aad` (the context it belongs to, e.g. a row id).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let id = (*self.active.read().unwrap_or_else(|p| p.into_inner())).ok_or(CryptoError::Malformed)?;
        let key = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
            .ok_or(CryptoError::UnknownDataKey(id))?;
        let (nonce, ct) = aead_seal(&key, aad, plaintext)?;
        let mut out = Vec::with_capacity(HEADER + ct.len());
        out.push(VERSION);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Unseals a blob made by [`Sealer::seal`] with the same `aad`. A data key created by another
    /// instance after this one started is fetched from the database.
    pub async fn unseal(&self, tx: &mut Tx, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER + 16 || sealed[0] != VERSION {
            return Err(CryptoError::Malformed);
        }
        let id = Uuid::from_slice(&sealed[1..17]).map_err(|_| CryptoError::Malformed)?;
        let cached = self.keys.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned();
        let key = match cached {
            Some(k) => k,
            None => {
                let row: Option<DataKeyRow> = db_run!(tx, c => sqlx::query_as("SELECT id, wrapped, master_key_id FROM data_keys WHERE id = $1").bind(id).fetch_optional(c).await)?;
                let row = row.ok_or(CryptoError::UnknownDataKey(id))?;
                self.cache(id, &unwrap_key(&self.master, id, &row.wrapped)?)?;
                self.keys
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&id)
                    .cloned()
                    .ok_or(CryptoError::UnknownDataKey(id))?
            }
        };
        aead_open(&key, aad, &sealed[17..HEADER], &sealed[HEADER..])
    }
}

/// Re-wraps every data key from `old` to `new` in one transaction. Sealed blobs are untouched:
/// they name data keys, and those do not change.
pub async fn rewrap_all(db: &Db, old: &MasterKey, new: &MasterKey) -> Result<usize, CryptoError> {
    let mut tx = db.begin().await?;
    let rows: Vec<DataKeyRow> =
        db_run!(&mut tx, c => sqlx::query_as("SELECT id, wrapped, master_key_id FROM data_keys").fetch_all(c).await)?;
    for r in &rows {
        if r.master_key_id != old.id() {
            return Err(CryptoError::MasterKeyMismatch(format!(
                "data key {} is wrapped by master key {}, not the configured {}",
                r.id,
                r.master_key_id,
                old.id()
            )));
        }
        let plain = unwrap_key(old, r.id, &r.wrapped)?;
        let wrapped = wrap(new, r.id, &plain)?;
        db_run!(&mut tx, c => sqlx::query("UPDATE data_keys SET wrapped = $1, master_key_id = $2 WHERE id = $3")
            .bind(wrapped).bind(new.id()).bind(r.id).execute(c).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_round_trip_and_binding() {
        let m = MasterKey::generate().expect("key");
        let id = Uuid::now_v7();
        let w = wrap(&m, id, b"0123456789abcdef0123456789abcdef").expect("wrap");
        assert_eq!(unwrap_key(&m, id, &w).expect("unwrap"), b"0123456789abcdef0123456789abcdef");
        assert!(unwrap_key(&m, Uuid::now_v7(), &w).is_err(), "bound to its id");
        assert!(unwrap_key(&MasterKey::generate().expect("key"), id, &w).is_err(), "bound to its master");
    }
}
