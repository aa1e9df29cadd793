//! Password hashing: argon2id (OWASP parameters by default) in PHC strings, computed on tokio's
//! blocking pool behind a semaphore. Each hash takes ~19 MiB, so at most `max_concurrent`
//! run at once and at most `max_queued` wait; beyond that callers get [`HashError::Busy`]
//! instead of the server running out of memory under a flood of sign-ins.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{OnceCell, Semaphore};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash uses weaker parameters than today's; re-hash on success.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Debug)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_queued: usize,
    dummy: OnceCell<String>,
}

impl PasswordHasher {
    /// `max_concurrent` of 0 means one per CPU core.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        max_concurrent: usize,
        max_queued: usize,
    ) -> Result<Self, HashError> {
        let params =
            Params::new(memory_kib, iterations, parallelism, None).map_err(|e| HashError::Internal(e.to_string()))?;
        let n = if max_concurrent == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            max_concurrent
        };
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(n)),
            waiting: AtomicUsize::new(0),
            max_queued,
            dummy: OnceCell::new(),
        })
    }

    fn argon(params: &Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = if queued >= self.max_queued { None } else { Some(self.permits.clone().acquire_owned().await) };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = match permit {
            Some(Ok(p)) => p,
            _ => {
                metrics::counter!("lanyard_password_hash_rejected_total").increment(1);
                return Err(HashError::Busy);
            }
        };
        let out = tokio::task::spawn_blocking(move || {
            let r = job();
            drop(permit);
            r
        })
        .await
        .map_err(|e| HashError::Internal(e.to_string()))?;
        Ok(out)
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let params = self.params.clone();
        self.run(move || {
            let salt =
                SaltString::encode_b64(&super::random_bytes::<16>().map_err(|e| HashError::Internal(e.to_string()))?)
                    .map_err(|e| HashError::Internal(e.to_string()))?;
            Self::argon(&params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashError::Internal(e.to_string()))
        })
        .await?
    }

    /// Verifies `password` against `stored`. With `stored = None` (unknown user, or no password
    /// set) it verifies against a dummy hash, so the response takes as long as a real check.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verified, HashError> {
        let (phc, real) = match stored {
            Some(s) => (s, true),
            None => (self.dummy_hash().await?, false),
        };
        let params = self.params.clone();
        self.run(move || {
            let Ok(parsed) = PasswordHash::new(&phc) else {
                return Verified { matches: false, needs_rehash: false };
            };
            let argon = Self::argon(&params);
            let matches = argon.verify_password(password.as_bytes(), &parsed).is_ok() && real;
            let needs_rehash = matches && !Self::is_current(&parsed, &params);
            Verified { matches, needs_rehash }
        })
        .await
    }

    fn is_current(h: &PasswordHash<'_>, params: &Params) -> bool {
        if h.algorithm != Algorithm::Argon2id.ident() || h.version != Some(Version::V0x13 as u32) {
            return false;
        }
        match Params::try_from(h) {
            Ok(p) => p.m_cost() >= params.m_cost() && p.t_cost() >= params.t_cost() && p.p_cost() >= params.p_cost(),
            Err(_) => false,
        }
    }

    /// Computes the dummy hash now, so the first unknown-user sign-in is not slower than others.
    pub async fn warm_up(&self) -> Result<(), HashError> {
        self.dummy_hash().await.map(|_| ())
    }

    async fn dummy_hash(&self) -> Result<String, HashError> {
        self.dummy
            .get_or_try_init(|| async {
                let pw = super::random_token::<16>().map_err(|e| HashError::Internal(e.to_string()))?;
                self.hash(pw).await
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(19456, 2, 1, 2, 8).expect("params")
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hasher();
        let phc = h.hash("correct horse battery staple".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let ok = h.verify("correct horse battery staple".into(), Some(phc.clone())).await.expect("verify");
        assert_eq!(ok, Verified { matches: true, needs_rehash: false });
        let bad = h.verify("wrong".into(), Some(phc)).await.expect("verify");
        assert!(!bad.matches);
        let unknown = h.verify("anything".into(), None).await.expect("verify");
        assert!(!unknown.matches);
    }

    #[tokio::test]
    async fn weaker_hash_needs_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).expect("p"));
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let phc = weak.hash_password(b"old password here", &salt).expect("hash").to_string();
        let v = hasher().verify("old password here".into(), Some(phc)).await.expect("verify");
        assert_eq!(v, Verified { matches: true, needs_rehash: true });
    }

    #[tokio::test]
    async fn garbage_hash_never_matches() {
        let v = hasher().verify("x".into(), Some("not a phc string".into())).await.expect("verify");
        assert!(!v.matches);
    }
}
