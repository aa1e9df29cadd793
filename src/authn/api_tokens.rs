//! Admin API tokens: bearer credentials for automation. Minted with 256 bits of randomness,
//! shown once, stored as a SHA-256 digest, looked up by digest, revocable, optionally expiring.

use crate::app::App;
use crate::audit::{self, Actor, Origin};
use crate::crypto::token::PlainToken;
use crate::db_run;
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// The prefix that marks a Lanyard admin token.
pub const PREFIX: &str = "lyd_at";

/// A token's metadata (never the secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    /// The first characters, to recognise a token.
    pub hint: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// What the token may do: `admin` (the whole admin API) or `authorize` (only ask for
    /// decisions, for resource services).
    pub scope: String,
}

impl ApiToken {
    /// When the token was last used, for pages.
    pub fn last_used_label(&self) -> String {
        self.last_used_at.map_or_else(
            || "never".to_string(),
            |t| crate::clock::format_unix(t).replace('T', " ").replace('Z', " UTC"),
        )
    }
}

const COLS: &str = "id, name, hint, created_by, created_at, expires_at, last_used_at, revoked_at, scope";

/// Token scopes.
pub const SCOPE_ADMIN: &str = "admin";
pub const SCOPE_AUTHORIZE: &str = "authorize";

fn parse_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be 1–100 printable characters"));
    }
    Ok(n.to_string())
}

/// Creates a token; returns its metadata and the secret, which is never shown again.
pub async fn create(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    name: &str,
    ttl_secs: Option<i64>,
) -> Result<(ApiToken, PlainToken)> {
    create_scoped(app, actor, origin, name, ttl_secs, SCOPE_ADMIN).await
}

/// Creates a token limited to `scope` (`admin` or `authorize`).
pub async fn create_scoped(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    name: &str,
    ttl_secs: Option<i64>,
    scope: &str,
) -> Result<(ApiToken, PlainToken)> {
    let name = parse_name(name)?;
    if scope != SCOPE_ADMIN && scope != SCOPE_AUTHORIZE {
        return Err(Error::invalid("scope", "must be admin or authorize"));
    }
    if let Some(t) = ttl_secs
        && (t <= 0 || t > 10 * 365 * 86400)
    {
        return Err(Error::invalid("expires_in", "must be between 1 second and 10 years"));
    }
    let plain = PlainToken::generate(PREFIX)?;
    let now = app.now();
    let id = Uuid::now_v7();
    let token = ApiToken {
        id,
        name,
        hint: plain.hint(),
        created_by: actor.name.clone(),
        created_at: now,
        expires_at: ttl_secs.map(|t| now + t),
        last_used_at: None,
        revoked_at: None,
        scope: scope.to_string(),
    };
    let mut tx = app.db.begin().await?;
    // A token made by a person is theirs: it works only while they are an active administrator.
    // One made with a person's token belongs to that person too.
    let actor_id = Uuid::parse_str(&actor.id).ok();
    let creator: Option<Uuid> = match (actor.kind, actor_id) {
        ("user", Some(id)) => Some(id),
        ("token", Some(id)) => {
            db_run!(&mut tx, c => sqlx::query_scalar("SELECT created_by_id FROM api_tokens WHERE id = $1")
            .bind(id).fetch_optional(c).await)?
            .flatten()
        }
        _ => None,
    };
    db_run!(&mut tx, c => sqlx::query("INSERT INTO api_tokens (id, name, token_hash, hint, created_by, created_at, expires_at, scope, created_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(id).bind(&token.name).bind(plain.hash()).bind(&token.hint).bind(&token.created_by).bind(now).bind(token.expires_at).bind(scope).bind(creator).execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(actor, "token.create", "api_token", id.to_string())
            .details(json!({"name": token.name, "expires_at": token.expires_at, "scope": scope})),
    )
    .await?;
    tx.commit().await?;
    Ok((token, plain))
}

/// Every token, newest first.
pub async fn list(app: &App) -> Result<Vec<ApiToken>> {
    let mut tx = app.db.read().await?;
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM api_tokens ORDER BY created_at DESC, id DESC"));
    Ok(db_run!(&mut tx, c => sqlx::query_as(sql).fetch_all(c).await)?)
}

/// Revokes a token at once.
pub async fn revoke(app: &App, actor: &Actor, origin: &Origin, id: Uuid) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let n = db_run!(&mut tx, c => sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::NotFound("token"));
    }
    audit::record(&mut tx, now, origin, audit::Event::new(actor, "token.revoke", "api_token", id.to_string())).await?;
    tx.commit().await?;
    Ok(())
}

/// Resolves a presented bearer token to a live token, recording its use (at most once a minute).
pub async fn authenticate(app: &App, presented: &str) -> Result<Option<ApiToken>> {
    if !presented.starts_with(PREFIX) || presented.len() > 200 {
        return Ok(None);
    }
    let hash = PlainToken::from_presented(presented).hash();
    let now = app.now();
    let mut tx = app.db.conn().await?;
    // A person's token lives only as long as its creator is an active administrator.
    let cols = COLS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {cols} FROM api_tokens t WHERE t.token_hash = $1 AND (t.created_by_id IS NULL OR EXISTS \
         (SELECT 1 FROM users u JOIN group_members m ON m.user_id = u.id \
          WHERE u.id = t.created_by_id AND u.status = 'active' AND m.group_id = $2))"
    ));
    let token: Option<ApiToken> = db_run!(&mut tx, c => sqlx::query_as(sql).bind(&hash).bind(crate::directory::ADMIN_GROUP_ID).fetch_optional(c).await)?;
    drop(tx);
    let Some(token) = token else { return Ok(None) };
    if token.revoked_at.is_some() || token.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    if token.last_used_at.is_none_or(|t| now - t >= 60) {
        let mut tx = app.db.conn().await?;
        db_run!(&mut tx, c => sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now).bind(token.id).execute(c).await.map(|r| r.rows_affected()))?;
        tx.commit().await?;
    }
    Ok(Some(token))
}
