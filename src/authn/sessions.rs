//! Portal sessions: a tower-sessions store in Lanyard's own database, so any instance can serve
//! any request and a revocation takes effect everywhere at once.
//!
//! Rows are keyed by the SHA-256 of the session id (a database dump holds no usable cookie);
//! `public_id` names a session on pages and in the API. The store itself enforces the idle and
//! absolute timeouts against the injected clock, and refreshes `last_seen_at` at most once a
//! minute per session to keep reads cheap.

use crate::clock::SharedClock;
use crate::db::{Db, Tx, is_unique_violation};
use crate::db_run;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use uuid::Uuid;

/// The session key holding [`AuthState`].
pub const AUTH_KEY: &str = "auth";

/// What a signed-in session knows about its user. Later issues add to `amr` (otp, hwk, mfa).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthState {
    pub user_id: Uuid,
    pub username: String,
    /// Unix seconds of the sign-in.
    pub auth_time: i64,
    /// Authentication methods used (RFC 8176 values: `pwd`, `otp`, `hwk`, `mfa`…).
    pub amr: Vec<String>,
    /// The user must choose a new password before anything else.
    pub must_change_password: bool,
    pub ip: String,
    pub user_agent: String,
    /// When a second factor was last verified in this session (sign-in or step-up).
    #[serde(default)]
    pub mfa_time: Option<i64>,
    /// The MFA policy requires a second factor and the user has none yet: enrol before anything else.
    #[serde(default)]
    pub must_enrol_mfa: bool,
}

impl AuthState {
    /// Records a verified second factor (RFC 8176 `amr` values).
    pub fn add_factor(&mut self, method: &str, now: i64) {
        for m in [method, "mfa"] {
            if !self.amr.iter().any(|a| a == m) {
                self.amr.push(m.to_string());
            }
        }
        self.mfa_time = Some(now);
        self.must_enrol_mfa = false;
    }

    /// Whether a second factor was verified within the last `minutes`.
    pub fn has_recent_mfa(&self, now: i64, minutes: u32) -> bool {
        self.mfa_time.is_some_and(|t| now - t <= i64::from(minutes) * 60)
    }
}

/// The session key holding [`PendingMfa`] between the password and the second factor.
pub const PENDING_KEY: &str = "pending_mfa";

/// A sign-in whose password checked out and whose second factor is still due.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingMfa {
    pub state: AuthState,
    /// Unix seconds after which the password must be entered again.
    pub expires_at: i64,
    pub next: String,
}

/// How often `last_seen_at` is written, in seconds.
const TOUCH_EVERY: i64 = 60;

/// The database-backed session store.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
    clock: SharedClock,
    idle: i64,
    absolute: i64,
}

impl DbSessionStore {
    pub fn new(db: Db, clock: SharedClock, idle_secs: i64, absolute_secs: i64) -> Self {
        Self { db, clock, idle: idle_secs, absolute: absolute_secs }
    }
}

/// The stored key of a session id.
pub fn id_hash(id: &Id) -> String {
    crate::crypto::sha256_hex(id.to_string().as_bytes())
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

struct Columns {
    user_id: Option<Uuid>,
    ip: String,
    user_agent: String,
    data: String,
}

fn columns(record: &Record) -> Result<Columns, session_store::Error> {
    let auth: Option<AuthState> = record.data.get(AUTH_KEY).and_then(|v| serde_json::from_value(v.clone()).ok());
    let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok(Columns {
        user_id: auth.as_ref().map(|a| a.user_id),
        ip: auth.as_ref().map(|a| a.ip.clone()).unwrap_or_default(),
        user_agent: auth.map(|a| a.user_agent).unwrap_or_default(),
        data,
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let now = self.clock.unix();
        let cols = columns(record)?;
        loop {
            let mut tx = self.db.begin_relaxed().await.map_err(backend)?;
            let res = db_run!(&mut tx, c => sqlx::query(
                "INSERT INTO sessions (id_hash, public_id, user_id, data, created_at, last_seen_at, expires_at, ip, user_agent) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)")
                .bind(id_hash(&record.id)).bind(Uuid::now_v7()).bind(cols.user_id).bind(&cols.data)
                .bind(now).bind(now + self.absolute).bind(&cols.ip).bind(&cols.user_agent).execute(c).await.map(|r| r.rows_affected()));
            match res {
                Err(e) if is_unique_violation(&e) => record.id = Id::default(),
                Err(e) => return Err(backend(e)),
                Ok(_) => return tx.commit().await.map_err(backend),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let now = self.clock.unix();
        let cols = columns(record)?;
        let mut tx = self.db.begin_relaxed().await.map_err(backend)?;
        // An update only, never an insert: a session revoked while one of its requests was
        // running (sign out everywhere, password change, admin reset) must stay gone. New
        // sessions and new ids go through `create`.
        db_run!(&mut tx, c => sqlx::query(
            "UPDATE sessions SET user_id = $2, data = $3, last_seen_at = $4, ip = $5, user_agent = $6 WHERE id_hash = $1")
            .bind(id_hash(&record.id)).bind(cols.user_id).bind(&cols.data)
            .bind(now).bind(&cols.ip).bind(&cols.user_agent).execute(c).await.map(|r| r.rows_affected()))
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = self.clock.unix();
        let key = id_hash(id);
        let mut tx = self.db.conn().await.map_err(backend)?;
        let row: Option<(String, i64, i64)> = db_run!(&mut tx, c => sqlx::query_as(
            "SELECT data, last_seen_at, expires_at FROM sessions WHERE id_hash = $1").bind(&key).fetch_optional(c).await)
        .map_err(backend)?;
        drop(tx);
        let Some((data, last_seen, expires_at)) = row else { return Ok(None) };
        if now >= expires_at || now - last_seen >= self.idle {
            self.delete(id).await?;
            return Ok(None);
        }
        if now - last_seen >= TOUCH_EVERY {
            let mut tx = self.db.conn().await.map_err(backend)?;
            db_run!(&mut tx, c => sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2").bind(now).bind(&key).execute(c).await.map(|r| r.rows_affected()))
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
        }
        let data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at).map_err(backend)?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut tx = self.db.conn().await.map_err(backend)?;
        db_run!(&mut tx, c => sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash(id)).execute(c).await.map(|r| r.rows_affected())).map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}

/// A live session as listed on "your sessions" and in the admin API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionInfo {
    pub id: Uuid,
    #[serde(skip)]
    pub id_hash: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: String,
    pub user_agent: String,
}

/// The live sessions of a user, newest first.
pub async fn list_for_user(db: &Db, user: Uuid, now: i64, idle: i64) -> Result<Vec<SessionInfo>, sqlx::Error> {
    let mut tx = db.read().await?;
    db_run!(&mut tx, c => sqlx::query_as(
        "SELECT public_id AS id, id_hash, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3 ORDER BY created_at DESC")
        .bind(user).bind(now).bind(now - idle).fetch_all(c).await)
}

/// Ends one session of a user; false if there is no such session.
pub async fn revoke_in(tx: &mut Tx, user: Uuid, public_id: Uuid) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM sessions WHERE public_id = $1 AND user_id = $2")
        .bind(public_id).bind(user).execute(c).await.map(|r| r.rows_affected() > 0))
}

/// Ends every session of a user (sign out everywhere, disable, password reset).
pub async fn revoke_all_in(tx: &mut Tx, user: Uuid) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))
}

/// Ends every session of a user except the one with `keep_hash`.
pub async fn revoke_others_in(tx: &mut Tx, user: Uuid, keep_hash: &str) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user).bind(keep_hash).execute(c).await.map(|r| r.rows_affected()))
}

/// Deletes sessions past their timeouts.
pub async fn delete_expired(tx: &mut Tx, now: i64, idle: i64) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now).bind(now - idle).execute(c).await.map(|r| r.rows_affected()))
}

/// The public id of the stored session behind `id` (the OIDC `sid` of its sign-ins).
pub async fn public_id_of(db: &Db, id: &Id) -> Result<Option<Uuid>, sqlx::Error> {
    let mut tx = db.conn().await?;
    db_run!(&mut tx, c => sqlx::query_scalar("SELECT public_id FROM sessions WHERE id_hash = $1").bind(id_hash(id)).fetch_optional(c).await)
}

/// Whether the session with public id `sid` (an OIDC grant's `sid`) is still alive.
pub async fn is_alive_in(tx: &mut Tx, sid: &str, now: i64) -> Result<bool, sqlx::Error> {
    let Ok(id) = Uuid::parse_str(sid) else { return Ok(false) };
    let n: i64 = db_run!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE public_id = $1 AND expires_at > $2")
        .bind(id).bind(now).fetch_one(c).await)?;
    Ok(n > 0)
}
