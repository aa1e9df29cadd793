//! The SQL of role credentials and SSO client registrations: the only code touching
//! `role_credentials` and `sso_registrations`.

use super::model::Stored;
use crate::db::Tx;
use crate::db_run;
use uuid::Uuid;

type R<T> = Result<T, sqlx::Error>;

const COLUMNS: &str = "access_key_id, secret_sealed, session_token_hash, user_id, provider_id, subject, account_id, \
    permission_set_id, role_name, session_name, source, parent_key, grant_id, mfa_at, issued_at, expires_at, revoked_at, ip, user_agent";

pub async fn insert(tx: &mut Tx, c: &Stored) -> R<()> {
    db_run!(tx, x => sqlx::query(
        "INSERT INTO role_credentials (access_key_id, secret_sealed, session_token_hash, user_id, account_id, \
         permission_set_id, role_name, session_name, source, parent_key, grant_id, mfa_at, issued_at, expires_at, \
         revoked_at, ip, user_agent, provider_id, subject) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)")
        .bind(&c.access_key_id).bind(&c.secret_sealed).bind(&c.session_token_hash).bind(c.user_id)
        .bind(&c.account_id).bind(c.permission_set_id).bind(&c.role_name).bind(&c.session_name).bind(&c.source)
        .bind(&c.parent_key).bind(c.grant_id).bind(c.mfa_at).bind(c.issued_at).bind(c.expires_at).bind(c.revoked_at)
        .bind(&c.ip).bind(&c.user_agent).bind(c.provider_id).bind(&c.subject)
        .execute(x).await.map(|_| ()))
}

pub async fn find(tx: &mut Tx, access_key_id: &str) -> R<Option<Stored>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM role_credentials WHERE access_key_id = $1"));
    db_run!(tx, x => sqlx::query_as(sql).bind(access_key_id).fetch_optional(x).await)
}

/// A user's credentials that are still valid, newest first.
pub async fn list_live_for_user(tx: &mut Tx, user: Uuid, now: i64, limit: i64) -> R<Vec<Stored>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM role_credentials WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY issued_at DESC LIMIT $3"
    ));
    db_run!(tx, x => sqlx::query_as(sql).bind(user).bind(now).bind(limit).fetch_all(x).await)
}

/// Revokes one set of credentials and those chained from it.
pub async fn revoke(tx: &mut Tx, access_key_id: &str, now: i64) -> R<u64> {
    db_run!(tx, x => sqlx::query(
        "UPDATE role_credentials SET revoked_at = $2 WHERE revoked_at IS NULL AND (access_key_id = $1 OR parent_key = $1)")
        .bind(access_key_id).bind(now).execute(x).await.map(|r| r.rows_affected()))
}

/// Revokes every live set of a user's credentials.
pub async fn revoke_user(tx: &mut Tx, user: Uuid, now: i64) -> R<u64> {
    db_run!(tx, x => sqlx::query(
        "UPDATE role_credentials SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2")
        .bind(user).bind(now).execute(x).await.map(|r| r.rows_affected()))
}

/// Forgets credentials that expired before `before`.
pub async fn delete_expired(tx: &mut Tx, before: i64) -> R<u64> {
    db_run!(tx, x => sqlx::query("DELETE FROM role_credentials WHERE expires_at < $1")
        .bind(before).execute(x).await.map(|r| r.rows_affected()))
}

/// A registration of an AWS SDK or CLI (SSO OIDC RegisterClient).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Registration {
    pub id: Uuid,
    pub name: String,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn insert_registration(tx: &mut Tx, r: &Registration, secret_hash: &str) -> R<()> {
    db_run!(tx, x => sqlx::query(
        "INSERT INTO sso_registrations (id, secret_hash, name, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(r.id).bind(secret_hash).bind(&r.name).bind(&r.scopes).bind(r.created_at).bind(r.expires_at)
        .execute(x).await.map(|_| ()))
}

/// The unexpired registration whose secret has this digest.
pub async fn find_registration(tx: &mut Tx, secret_hash: &str, now: i64) -> R<Option<Registration>> {
    db_run!(tx, x => sqlx::query_as(
        "SELECT id, name, scopes, created_at, expires_at FROM sso_registrations WHERE secret_hash = $1 AND expires_at > $2")
        .bind(secret_hash).bind(now).fetch_optional(x).await)
}

pub async fn delete_expired_registrations(tx: &mut Tx, now: i64) -> R<u64> {
    db_run!(tx, x => sqlx::query("DELETE FROM sso_registrations WHERE expires_at <= $1")
        .bind(now).execute(x).await.map(|r| r.rows_affected()))
}

/// A trusted external token issuer (STS AssumeRoleWithWebIdentity).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderRow {
    pub id: Uuid,
    pub issuer: String,
    /// JSON list of accepted audiences.
    pub audiences: String,
    pub created_at: i64,
}

pub async fn insert_provider(tx: &mut Tx, p: &ProviderRow) -> R<()> {
    db_run!(tx, x => sqlx::query(
        "INSERT INTO web_identity_providers (id, issuer, audiences, created_at) VALUES ($1, $2, $3, $4)")
        .bind(p.id).bind(&p.issuer).bind(&p.audiences).bind(p.created_at)
        .execute(x).await.map(|_| ()))
}

pub async fn count_providers(tx: &mut Tx) -> R<i64> {
    db_run!(tx, x => sqlx::query_scalar("SELECT COUNT(*) FROM web_identity_providers").fetch_one(x).await)
}

pub async fn list_providers(tx: &mut Tx) -> R<Vec<ProviderRow>> {
    db_run!(tx, x => sqlx::query_as(
        "SELECT id, issuer, audiences, created_at FROM web_identity_providers ORDER BY issuer LIMIT 1000")
        .fetch_all(x).await)
}

pub async fn find_provider(tx: &mut Tx, id: Uuid) -> R<Option<ProviderRow>> {
    db_run!(tx, x => sqlx::query_as(
        "SELECT id, issuer, audiences, created_at FROM web_identity_providers WHERE id = $1")
        .bind(id).fetch_optional(x).await)
}

pub async fn find_provider_by_issuer(tx: &mut Tx, issuer: &str) -> R<Option<ProviderRow>> {
    db_run!(tx, x => sqlx::query_as(
        "SELECT id, issuer, audiences, created_at FROM web_identity_providers WHERE issuer = $1")
        .bind(issuer).fetch_optional(x).await)
}

pub async fn update_provider_audiences(tx: &mut Tx, id: Uuid, audiences: &str) -> R<bool> {
    db_run!(tx, x => sqlx::query("UPDATE web_identity_providers SET audiences = $2 WHERE id = $1")
        .bind(id).bind(audiences).execute(x).await.map(|r| r.rows_affected() == 1))
}

/// Removes a provider; its workloads' credentials go with it (foreign key cascade).
pub async fn delete_provider(tx: &mut Tx, id: Uuid) -> R<bool> {
    db_run!(tx, x => sqlx::query("DELETE FROM web_identity_providers WHERE id = $1")
        .bind(id).execute(x).await.map(|r| r.rows_affected() == 1))
}

/// How many live credentials a provider's workloads hold (shown before removing it).
pub async fn count_live_for_provider(tx: &mut Tx, id: Uuid, now: i64) -> R<i64> {
    db_run!(tx, x => sqlx::query_scalar(
        "SELECT COUNT(*) FROM role_credentials WHERE provider_id = $1 AND revoked_at IS NULL AND expires_at > $2")
        .bind(id).bind(now).fetch_one(x).await)
}
