//! The provider's SQL: the only code touching the `oauth_*` tables. Every function takes the
//! caller's transaction (or one-statement connection), so services decide what commits together.

use super::model::Client;
use crate::db::Tx;
use crate::db_run;
use uuid::Uuid;

type R<T> = Result<T, sqlx::Error>;

const CLIENT_COLUMNS: &str = "id, client_id, name, name_key, description, auth_method, redirect_uris, \
    post_logout_redirect_uris, grant_types, scopes, jwks, signing_alg, access_token_ttl, id_token_ttl, \
    refresh_token_ttl, consent_required, launch_url, enabled, created_at, updated_at";

pub async fn insert_client(tx: &mut Tx, c: &Client) -> R<()> {
    db_run!(tx, x => sqlx::query(
        "INSERT INTO oauth_clients (id, client_id, name, name_key, description, auth_method, redirect_uris, \
         post_logout_redirect_uris, grant_types, scopes, jwks, signing_alg, access_token_ttl, id_token_ttl, \
         refresh_token_ttl, consent_required, launch_url, enabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)")
        .bind(c.id).bind(&c.client_id).bind(&c.name).bind(&c.name_key).bind(&c.description).bind(&c.auth_method)
        .bind(&c.redirect_uris).bind(&c.post_logout_redirect_uris).bind(&c.grant_types).bind(&c.scopes)
        .bind(&c.jwks).bind(&c.signing_alg).bind(c.access_token_ttl).bind(c.id_token_ttl).bind(c.refresh_token_ttl)
        .bind(c.consent_required).bind(&c.launch_url).bind(c.enabled).bind(c.created_at).bind(c.updated_at)
        .execute(x).await.map(|_| ()))
}

pub async fn update_client(tx: &mut Tx, c: &Client) -> R<bool> {
    db_run!(tx, x => sqlx::query(
        "UPDATE oauth_clients SET name = $2, name_key = $3, description = $4, auth_method = $5, redirect_uris = $6, \
         post_logout_redirect_uris = $7, grant_types = $8, scopes = $9, jwks = $10, signing_alg = $11, \
         access_token_ttl = $12, id_token_ttl = $13, refresh_token_ttl = $14, consent_required = $15, \
         launch_url = $16, enabled = $17, updated_at = $18 WHERE id = $1")
        .bind(c.id).bind(&c.name).bind(&c.name_key).bind(&c.description).bind(&c.auth_method)
        .bind(&c.redirect_uris).bind(&c.post_logout_redirect_uris).bind(&c.grant_types).bind(&c.scopes)
        .bind(&c.jwks).bind(&c.signing_alg).bind(c.access_token_ttl).bind(c.id_token_ttl).bind(c.refresh_token_ttl)
        .bind(c.consent_required).bind(&c.launch_url).bind(c.enabled).bind(c.updated_at)
        .execute(x).await.map(|r| r.rows_affected() > 0))
}

pub async fn delete_client(tx: &mut Tx, id: Uuid) -> R<bool> {
    db_run!(tx, x => sqlx::query("DELETE FROM oauth_clients WHERE id = $1").bind(id).execute(x).await.map(|r| r.rows_affected() > 0))
}

pub async fn find_client(tx: &mut Tx, id: Uuid) -> R<Option<Client>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1"));
    db_run!(tx, x => sqlx::query_as(sql).bind(id).fetch_optional(x).await)
}

pub async fn find_client_by_client_id(tx: &mut Tx, client_id: &str) -> R<Option<Client>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1"));
    db_run!(tx, x => sqlx::query_as(sql).bind(client_id).fetch_optional(x).await)
}

/// Clients ordered by name key, after `after`, at most `limit`.
pub async fn list_clients(tx: &mut Tx, after: Option<&str>, limit: i64) -> R<Vec<Client>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE name_key > $1 ORDER BY name_key LIMIT $2"
    ));
    db_run!(tx, x => sqlx::query_as(sql).bind(after.unwrap_or("")).bind(limit).fetch_all(x).await)
}

/// Enabled apps with a launch URL that `user` is assigned (directly or through a group).
pub async fn launchable_for(tx: &mut Tx, user: Uuid) -> R<Vec<Client>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients c WHERE c.enabled = $2 AND c.launch_url IS NOT NULL AND EXISTS ( \
           SELECT 1 FROM oauth_client_assignments a WHERE a.client_id = c.id AND (a.user_id = $1 OR a.group_id IN \
             (SELECT group_id FROM group_members WHERE user_id = $1))) ORDER BY c.name_key LIMIT 200"
    ));
    db_run!(tx, x => sqlx::query_as(sql).bind(user).bind(true).fetch_all(x).await)
}

/// A client secret's digest and lifetime.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Secret {
    pub id: Uuid,
    #[serde(skip)]
    pub secret_hash: String,
    pub hint: String,
    pub created_at: i64,
    /// When an old secret stops working after a rotation (none: until rotated).
    pub expires_at: Option<i64>,
}

pub async fn insert_secret(tx: &mut Tx, client: Uuid, hash: &str, hint: &str, now: i64) -> R<Uuid> {
    let id = Uuid::now_v7();
    db_run!(tx, x => sqlx::query("INSERT INTO oauth_client_secrets (id, client_id, secret_hash, hint, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id).bind(client).bind(hash).bind(hint).bind(now).execute(x).await.map(|_| id))
}

/// The client's secrets that still work at `now`.
pub async fn live_secrets(tx: &mut Tx, client: Uuid, now: i64) -> R<Vec<Secret>> {
    db_run!(tx, x => sqlx::query_as(
        "SELECT id, secret_hash, hint, created_at, expires_at FROM oauth_client_secrets \
         WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC LIMIT 10")
        .bind(client).bind(now).fetch_all(x).await)
}

/// Makes every current secret of `client` expire at `at` (the rotation's overlap end).
pub async fn expire_secrets(tx: &mut Tx, client: Uuid, at: i64) -> R<u64> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_client_secrets SET expires_at = $2 WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2)")
        .bind(client).bind(at).execute(x).await.map(|r| r.rows_affected()))
}

/// An assignment of an app to a user or group, with the principal's name.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub principal_name: String,
    pub created_at: i64,
}

pub async fn insert_assignment(
    tx: &mut Tx,
    client: Uuid,
    user: Option<Uuid>,
    group: Option<Uuid>,
    now: i64,
) -> R<Uuid> {
    let id = Uuid::now_v7();
    db_run!(tx, x => sqlx::query("INSERT INTO oauth_client_assignments (id, client_id, user_id, group_id, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id).bind(client).bind(user).bind(group).bind(now).execute(x).await.map(|_| id))
}

pub async fn delete_assignment(tx: &mut Tx, client: Uuid, id: Uuid) -> R<bool> {
    db_run!(tx, x => sqlx::query("DELETE FROM oauth_client_assignments WHERE id = $1 AND client_id = $2")
        .bind(id).bind(client).execute(x).await.map(|r| r.rows_affected() > 0))
}

pub async fn list_assignments(tx: &mut Tx, client: Uuid) -> R<Vec<Assignment>> {
    db_run!(tx, x => sqlx::query_as(
        "SELECT a.id, a.user_id, a.group_id, COALESCE(u.username, g.name, '') AS principal_name, a.created_at \
         FROM oauth_client_assignments a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN user_groups g ON g.id = a.group_id \
         WHERE a.client_id = $1 ORDER BY a.created_at LIMIT 1000")
        .bind(client).fetch_all(x).await)
}

/// Whether `user` is assigned the app, directly or through a group.
pub async fn is_assigned(tx: &mut Tx, client: Uuid, user: Uuid) -> R<bool> {
    let n: i64 = db_run!(tx, x => sqlx::query_scalar(
        "SELECT COUNT(*) FROM oauth_client_assignments WHERE client_id = $1 AND (user_id = $2 OR group_id IN \
         (SELECT group_id FROM group_members WHERE user_id = $2))")
        .bind(client).bind(user).fetch_one(x).await)?;
    Ok(n > 0)
}

pub async fn find_consent(tx: &mut Tx, user: Uuid, client: Uuid) -> R<Option<String>> {
    db_run!(tx, x => sqlx::query_scalar("SELECT scope FROM oauth_consents WHERE user_id = $1 AND client_id = $2")
        .bind(user).bind(client).fetch_optional(x).await)
}

pub async fn save_consent(tx: &mut Tx, user: Uuid, client: Uuid, scope: &str, now: i64) -> R<()> {
    db_run!(tx, x => sqlx::query(
        "INSERT INTO oauth_consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at")
        .bind(user).bind(client).bind(scope).bind(now).execute(x).await.map(|_| ()))
}

/// Who signed in and how: what codes, device approvals and grants carry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Authn {
    pub user_id: Uuid,
    pub sid: String,
    pub auth_time: i64,
    /// JSON array of RFC 8176 values.
    pub amr: String,
    pub acr: String,
}

/// The public id of the portal session behind `session` (the `sid` of its sign-ins).
pub async fn session_sid(db: &crate::db::Db, session: &tower_sessions::Session) -> Option<Uuid> {
    crate::authn::sessions::public_id_of(db, &session.id()?).await.ok().flatten()
}

impl Authn {
    /// Who is signed in to `session`, and how, as codes and device approvals record it.
    pub async fn of_session(
        db: &crate::db::Db,
        session: &tower_sessions::Session,
        state: &crate::authn::sessions::AuthState,
    ) -> Authn {
        Authn {
            user_id: state.user_id,
            sid: session_sid(db, session).await.map(|s| s.to_string()).unwrap_or_default(),
            auth_time: state.auth_time,
            amr: serde_json::to_string(&state.amr).unwrap_or_else(|_| "[]".into()),
            acr: super::model::acr_for(&state.amr).to_string(),
        }
    }
}

/// An authorization code as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Code {
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub sid: String,
    pub auth_time: i64,
    pub amr: String,
    pub acr: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub grant_id: Option<Uuid>,
}

#[derive(Debug)]
pub struct NewCode<'a> {
    pub hash: &'a str,
    pub client: Uuid,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub authn: &'a Authn,
    pub now: i64,
}

pub async fn insert_code(tx: &mut Tx, c: &NewCode<'_>) -> R<()> {
    db_run!(tx, x => sqlx::query(
        "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, sid, \
         auth_time, amr, acr, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
        .bind(c.hash).bind(c.client).bind(c.authn.user_id).bind(c.redirect_uri).bind(c.scope).bind(c.nonce)
        .bind(c.code_challenge).bind(&c.authn.sid).bind(c.authn.auth_time).bind(&c.authn.amr).bind(&c.authn.acr)
        .bind(c.now).bind(c.now + super::model::CODE_TTL).execute(x).await.map(|_| ()))
}

/// Marks a code used; true only for the one caller that used it first (the single-use check is
/// this conditional UPDATE, not a read followed by a write).
pub async fn use_code(tx: &mut Tx, hash: &str, now: i64) -> R<bool> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL")
        .bind(hash).bind(now).execute(x).await.map(|r| r.rows_affected() == 1))
}

pub async fn find_code(tx: &mut Tx, hash: &str) -> R<Option<Code>> {
    db_run!(tx, x => sqlx::query_as(
        "SELECT client_id, user_id, redirect_uri, scope, nonce, code_challenge, sid, auth_time, amr, acr, expires_at, \
         used_at, grant_id FROM oauth_codes WHERE code_hash = $1").bind(hash).fetch_optional(x).await)
}

pub async fn set_code_grant(tx: &mut Tx, hash: &str, grant: Uuid) -> R<()> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_codes SET grant_id = $2 WHERE code_hash = $1")
        .bind(hash).bind(grant).execute(x).await.map(|_| ()))
}

/// A grant: one sign-in of a user to an app, the family of its refresh tokens.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Grant {
    pub id: Uuid,
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub sid: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: String,
    pub acr: String,
    pub is_offline: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

const GRANT_COLUMNS: &str =
    "id, client_id, user_id, sid, scope, auth_time, amr, acr, is_offline, created_at, expires_at, revoked_at";

pub async fn insert_grant(tx: &mut Tx, g: &Grant) -> R<()> {
    db_run!(tx, x => sqlx::query(
        "INSERT INTO oauth_grants (id, client_id, user_id, sid, scope, auth_time, amr, acr, is_offline, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(g.id).bind(g.client_id).bind(g.user_id).bind(&g.sid).bind(&g.scope).bind(g.auth_time).bind(&g.amr)
        .bind(&g.acr).bind(g.is_offline).bind(g.created_at).bind(g.expires_at).execute(x).await.map(|_| ()))
}

pub async fn find_grant(tx: &mut Tx, id: Uuid) -> R<Option<Grant>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE id = $1"));
    db_run!(tx, x => sqlx::query_as(sql).bind(id).fetch_optional(x).await)
}

pub async fn revoke_grant(tx: &mut Tx, id: Uuid, now: i64) -> R<bool> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id).bind(now).execute(x).await.map(|r| r.rows_affected() > 0))
}

/// Revokes every live grant of a user (sign out everywhere, disable, factor reset).
pub async fn revoke_grants_of_user(tx: &mut Tx, user: Uuid, now: i64) -> R<u64> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_grants SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user).bind(now).execute(x).await.map(|r| r.rows_affected()))
}

/// Revokes the grants a portal session made, except offline ones (they outlive the session).
pub async fn revoke_grants_of_session(tx: &mut Tx, sid: &str, now: i64) -> R<u64> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_grants SET revoked_at = $2 WHERE sid = $1 AND revoked_at IS NULL AND is_offline = $3")
        .bind(sid).bind(now).bind(false).execute(x).await.map(|r| r.rows_affected()))
}

/// Revokes every live grant of an app (the app was disabled or its assignments changed).
pub async fn revoke_grants_of_client(tx: &mut Tx, client: Uuid, now: i64) -> R<u64> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_grants SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL")
        .bind(client).bind(now).execute(x).await.map(|r| r.rows_affected()))
}

/// A refresh token's row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Refresh {
    pub grant_id: Uuid,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn insert_refresh(tx: &mut Tx, hash: &str, grant: Uuid, now: i64, expires_at: i64) -> R<()> {
    db_run!(tx, x => sqlx::query("INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(hash).bind(grant).bind(now).bind(expires_at).execute(x).await.map(|_| ()))
}

pub async fn find_refresh(tx: &mut Tx, hash: &str) -> R<Option<Refresh>> {
    db_run!(tx, x => sqlx::query_as("SELECT grant_id, expires_at, used_at FROM oauth_refresh_tokens WHERE token_hash = $1")
        .bind(hash).fetch_optional(x).await)
}

/// Marks a refresh token used; true for the one caller that rotated it.
pub async fn use_refresh(tx: &mut Tx, hash: &str, now: i64) -> R<bool> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL")
        .bind(hash).bind(now).execute(x).await.map(|r| r.rows_affected() == 1))
}

/// A device authorization as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Device {
    pub device_hash: String,
    pub user_code: String,
    pub client_id: Uuid,
    pub scope: String,
    pub status: String,
    pub poll_interval: i64,
    pub last_polled_at: Option<i64>,
    pub user_id: Option<Uuid>,
    pub sid: Option<String>,
    pub auth_time: Option<i64>,
    pub amr: Option<String>,
    pub acr: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

const DEVICE_COLUMNS: &str = "device_hash, user_code, client_id, scope, status, poll_interval, last_polled_at, \
    user_id, sid, auth_time, amr, acr, created_at, expires_at";

pub async fn insert_device(tx: &mut Tx, hash: &str, user_code: &str, client: Uuid, scope: &str, now: i64) -> R<()> {
    db_run!(tx, x => sqlx::query(
        "INSERT INTO oauth_device_codes (device_hash, user_code, client_id, scope, status, poll_interval, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7)")
        .bind(hash).bind(user_code).bind(client).bind(scope).bind(super::model::DEVICE_INTERVAL).bind(now)
        .bind(now + super::model::DEVICE_TTL).execute(x).await.map(|_| ()))
}

pub async fn find_device(tx: &mut Tx, hash: &str) -> R<Option<Device>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {DEVICE_COLUMNS} FROM oauth_device_codes WHERE device_hash = $1"));
    db_run!(tx, x => sqlx::query_as(sql).bind(hash).fetch_optional(x).await)
}

pub async fn find_device_by_user_code(tx: &mut Tx, user_code: &str) -> R<Option<Device>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {DEVICE_COLUMNS} FROM oauth_device_codes WHERE user_code = $1"));
    db_run!(tx, x => sqlx::query_as(sql).bind(user_code).fetch_optional(x).await)
}

/// Records a poll; `interval` is the (possibly slowed-down) interval from now on.
pub async fn touch_device(tx: &mut Tx, hash: &str, now: i64, interval: i64) -> R<()> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_device_codes SET last_polled_at = $2, poll_interval = $3 WHERE device_hash = $1")
        .bind(hash).bind(now).bind(interval).execute(x).await.map(|_| ()))
}

/// The person's answer: approved (with who signed in) or denied; only while pending.
pub async fn decide_device(tx: &mut Tx, hash: &str, approved: bool, authn: Option<&Authn>) -> R<bool> {
    let status = if approved { "approved" } else { "denied" };
    db_run!(tx, x => sqlx::query(
        "UPDATE oauth_device_codes SET status = $2, user_id = $3, sid = $4, auth_time = $5, amr = $6, acr = $7 \
         WHERE device_hash = $1 AND status = 'pending'")
        .bind(hash).bind(status).bind(authn.map(|a| a.user_id)).bind(authn.map(|a| a.sid.clone()))
        .bind(authn.map(|a| a.auth_time)).bind(authn.map(|a| a.amr.clone())).bind(authn.map(|a| a.acr.clone()))
        .execute(x).await.map(|r| r.rows_affected() == 1))
}

/// Marks an approved device code consumed; true for the one poll that redeems it.
pub async fn consume_device(tx: &mut Tx, hash: &str) -> R<bool> {
    db_run!(tx, x => sqlx::query("UPDATE oauth_device_codes SET status = 'consumed' WHERE device_hash = $1 AND status = 'approved'")
        .bind(hash).execute(x).await.map(|r| r.rows_affected() == 1))
}

pub async fn insert_revoked(tx: &mut Tx, jti: &str, expires_at: i64) -> R<()> {
    db_run!(tx, x => sqlx::query("INSERT INTO oauth_revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
        .bind(jti).bind(expires_at).execute(x).await.map(|_| ()))
}

pub async fn is_revoked(tx: &mut Tx, jti: &str) -> R<bool> {
    let n: i64 = db_run!(tx, x => sqlx::query_scalar("SELECT COUNT(*) FROM oauth_revoked_tokens WHERE jti = $1")
        .bind(jti).fetch_one(x).await)?;
    Ok(n > 0)
}

/// Records a client assertion's jti; a unique violation means a replay.
pub async fn insert_used_assertion(tx: &mut Tx, jti: &str, expires_at: i64) -> R<()> {
    db_run!(tx, x => sqlx::query("INSERT INTO oauth_used_assertions (jti, expires_at) VALUES ($1, $2)")
        .bind(jti).bind(expires_at).execute(x).await.map(|_| ()))
}

/// Deletes what has expired: codes, device codes, used refresh tokens and grants past their end,
/// revoked-token and assertion markers. Returns the rows removed.
pub async fn delete_expired(tx: &mut Tx, now: i64) -> R<u64> {
    let mut n = 0;
    for sql in [
        "DELETE FROM oauth_codes WHERE expires_at <= $1",
        "DELETE FROM oauth_device_codes WHERE expires_at <= $1",
        "DELETE FROM oauth_refresh_tokens WHERE expires_at <= $1",
        "DELETE FROM oauth_grants WHERE expires_at <= $1",
        "DELETE FROM oauth_revoked_tokens WHERE expires_at <= $1",
        "DELETE FROM oauth_used_assertions WHERE expires_at <= $1",
        "DELETE FROM oauth_client_secrets WHERE expires_at IS NOT NULL AND expires_at <= $1",
    ] {
        n += db_run!(tx, x => sqlx::query(sql).bind(now).execute(x).await.map(|r| r.rows_affected()))?;
    }
    Ok(n)
}
