//! The master key: the root of envelope encryption. It never encrypts data directly; it wraps
//! the data keys stored in the database, so rotating it re-wraps a handful of rows.

use super::CryptoError;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::path::{Path, PathBuf};

/// A 256-bit master key.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

impl MasterKey {
    /// A new random master key.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(super::random_bytes::<32>()?))
    }

    /// Parses the base64 form (as in `LANYARD_MASTER_KEY` or the key file).
    pub fn from_base64(s: &str) -> Result<Self, String> {
        let bytes = STANDARD.decode(s.trim()).map_err(|_| "not valid base64".to_string())?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| "must be exactly 32 bytes".to_string())?;
        Ok(Self(arr))
    }

    /// The base64 form.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// A public fingerprint, stored beside wrapped data keys so a wrong key is named, not guessed.
    pub fn id(&self) -> String {
        let mut msg = b"lanyard master key id\0".to_vec();
        msg.extend_from_slice(&self.0);
        super::sha256_hex(&msg)[..16].to_string()
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key derived for one purpose (HMAC of a label), e.g. signing CSRF tokens, so that every
    /// instance sharing the master key derives the same secret without storing another one.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        super::hmac_sha256(&self.0, purpose.as_bytes())
    }
}

/// Where a master key came from, which decides how rotation hands over the new one.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `LANYARD_MASTER_KEY`: the operator stores it; rotation prints the new key.
    Env,
    /// A key file: rotation writes the new key beside it, then moves it into place.
    File(PathBuf),
}

/// The candidate master keys found at start-up: the configured one and, after an interrupted
/// rotation, the not-yet-installed new one (`<file>.new`).
#[derive(Debug)]
pub struct LoadedKeys {
    pub source: KeySource,
    pub current: MasterKey,
    pub pending: Option<MasterKey>,
}

/// Loads the master key from the configuration, or from its file; creates the file (mode 0600)
/// when `create` is set and none exists yet.
pub fn load(config: &crate::config::Config, create: bool) -> anyhow::Result<LoadedKeys> {
    if let Some(k) = &config.master_key {
        let current = MasterKey::from_base64(k.expose())
            .map_err(|e| anyhow::anyhow!("invalid setting `master_key` (LANYARD_MASTER_KEY): {e}"))?;
        return Ok(LoadedKeys { source: KeySource::Env, current, pending: None });
    }
    let path = config.master_key_path();
    if !path.exists() {
        if !create {
            anyhow::bail!(
                "no master key: {} does not exist and LANYARD_MASTER_KEY is not set (run `lanyard serve` once, or set it)",
                path.display()
            );
        }
        if let Some(dir) = path.parent() {
            crate::config::ensure_data_dir(dir)?;
        }
        let key = MasterKey::generate()?;
        write_key_file(&path, &key)?;
        tracing::warn!(path = %path.display(), "generated a new master key file: back it up, losing it loses every sealed secret");
    }
    let current = read_key_file(&path)?;
    let pending_path = pending_path(&path);
    let pending = if pending_path.exists() { Some(read_key_file(&pending_path)?) } else { None };
    Ok(LoadedKeys { source: KeySource::File(path), current, pending })
}

/// The path a rotation writes the new key to before moving it into place.
pub fn pending_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

fn read_key_file(path: &Path) -> anyhow::Result<MasterKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read master key file {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "master key file is readable by group or others: chmod 600 it");
        }
    }
    MasterKey::from_base64(&text).map_err(|e| anyhow::anyhow!("master key file {}: {e}", path.display()))
}

/// Writes a key file with mode 0600, never leaving a partly written file in place.
pub fn write_key_file(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = {
        let mut p = path.as_os_str().to_owned();
        p.push(".tmp");
        PathBuf::from(p)
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(format!("{}\n", key.to_base64()).as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move key file into {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_id_is_stable() {
        let k = MasterKey::generate().expect("key");
        let k2 = MasterKey::from_base64(&k.to_base64()).expect("parses");
        assert_eq!(k.id(), k2.id());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(!format!("{k:?}").contains(&k.to_base64()));
    }

    #[test]
    fn key_file_is_private() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("master.key");
        write_key_file(&p, &MasterKey::generate().expect("key")).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777, 0o600);
        }
    }
}
