//! Second factors: TOTP authenticators, recovery codes, the MFA policy, and the checks the
//! sign-in flow, step-up and self-service pages share. (WebAuthn credentials join these.)
//!
//! TOTP seeds are sealed at rest; a code is accepted at most once (the accepted time step is
//! recorded with a conditional update, so two instances cannot both accept it); recovery codes
//! are stored as SHA-256 digests (80 random bits each) and consumed with a conditional update.

use super::service::AuthError;
use super::throttle;
use super::totp::TotpSecret;
use crate::app::App;
use crate::audit::{self, Actor, Origin};
use crate::db::Tx;
use crate::db_run;
use crate::directory::User;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// How many recovery codes a user holds.
pub const RECOVERY_CODES: usize = 10;
const POLICY_KEY: &str = "mfa_policy";

/// A TOTP authenticator (never its secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TotpAuthenticator {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub confirmed: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl TotpAuthenticator {
    pub fn last_used_label(&self) -> String {
        self.last_used_at.map_or_else(|| "never".into(), |t| crate::portal::when(&t))
    }
    pub fn created_label(&self) -> String {
        crate::portal::when(&self.created_at)
    }
}

/// Who must use a second factor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaPolicy {
    /// `optional`, `required` (every user) or `groups` (members of `groups`).
    pub mode: String,
    /// Group ids whose members must use MFA when `mode` is `groups`.
    #[serde(default)]
    pub groups: Vec<Uuid>,
    /// Admin pages (and, later, credential issuance) demand a second factor within this many
    /// minutes from users who have one; 0 turns step-up off.
    #[serde(default)]
    pub step_up_minutes: u32,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self { mode: "optional".into(), groups: Vec::new(), step_up_minutes: 0 }
    }
}

/// The current MFA policy.
pub async fn policy(app: &App) -> Result<MfaPolicy> {
    let mut tx = app.db.conn().await?;
    let raw: Option<String> = db_run!(&mut tx, c => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(POLICY_KEY).fetch_optional(c).await)?;
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default())
}

/// Replaces the MFA policy (validated; audited with before and after).
pub async fn set_policy(app: &App, actor: &Actor, origin: &Origin, new: MfaPolicy) -> Result<MfaPolicy> {
    if !matches!(new.mode.as_str(), "optional" | "required" | "groups") {
        return Err(Error::invalid("mode", "must be optional, required or groups"));
    }
    if new.mode == "groups" && new.groups.is_empty() {
        return Err(Error::invalid("groups", "name at least one group when mode is groups"));
    }
    if new.step_up_minutes > 24 * 60 {
        return Err(Error::invalid("step_up_minutes", "must be at most 1440"));
    }
    for g in &new.groups {
        crate::directory::service::get_group(app, *g)
            .await
            .map_err(|_| Error::invalid("groups", format!("no group {g}")))?;
    }
    let before = policy(app).await?;
    let now = app.now();
    let value = serde_json::to_string(&new).map_err(Error::internal)?;
    let mut tx = app.db.begin().await?;
    db_run!(&mut tx, c => sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
        .bind(POLICY_KEY).bind(&value).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(actor, "mfa.policy_update", "settings", POLICY_KEY)
            .details(json!({"before": before, "after": new})),
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// Whether the policy requires `user` to use a second factor.
pub async fn required_for(app: &App, user: Uuid) -> Result<bool> {
    let p = policy(app).await?;
    Ok(match p.mode.as_str() {
        "required" => true,
        "groups" => {
            let groups = crate::directory::service::groups_of(app, user).await?;
            groups.iter().any(|g| p.groups.contains(&g.id))
        }
        _ => false,
    })
}

async fn confirmed_totp(tx: &mut Tx, user: Uuid) -> Result<Vec<(Uuid, Vec<u8>)>, sqlx::Error> {
    db_run!(tx, c => sqlx::query_as("SELECT id, secret_sealed FROM totp_authenticators WHERE user_id = $1 AND confirmed ORDER BY created_at")
        .bind(user).fetch_all(c).await)
}

/// The user's TOTP authenticators, confirmed or pending.
pub async fn list_totp(app: &App, user: Uuid) -> Result<Vec<TotpAuthenticator>> {
    let mut tx = app.db.conn().await?;
    Ok(
        db_run!(&mut tx, c => sqlx::query_as("SELECT id, user_id, name, confirmed, created_at, last_used_at FROM totp_authenticators WHERE user_id = $1 ORDER BY created_at")
        .bind(user).fetch_all(c).await)?,
    )
}

/// Unused recovery codes left.
pub async fn recovery_remaining(app: &App, user: Uuid) -> Result<i64> {
    let mut tx = app.db.conn().await?;
    Ok(
        db_run!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(user).fetch_one(c).await)?,
    )
}

/// Whether the user has any confirmed second factor (authenticator app, passkey or security key).
pub async fn has_factors(app: &App, user: Uuid) -> Result<bool> {
    let mut tx = app.db.conn().await?;
    let n: i64 = db_run!(&mut tx, c => sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM totp_authenticators WHERE user_id = $1 AND confirmed) + (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = $1)")
        .bind(user).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Issues recovery codes on a user's first second factor (none held yet); returns them to show once.
pub async fn issue_first_recovery_codes(tx: &mut Tx, user: Uuid, now: i64) -> Result<Option<Vec<String>>> {
    let existing: i64 = db_run!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1").bind(user).fetch_one(c).await)?;
    if existing > 0 {
        return Ok(None);
    }
    Ok(Some(replace_recovery_codes(tx, user, now).await?))
}

fn totp_aad(id: Uuid) -> Vec<u8> {
    let mut a = b"totp seed\0".to_vec();
    a.extend_from_slice(id.as_bytes());
    a
}

fn parse_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be 1–64 printable characters, e.g. \"Phone\""));
    }
    Ok(n.to_string())
}

/// Starts enrolling an authenticator app: a pending authenticator with a fresh sealed seed.
pub async fn begin_totp(app: &App, user: &User, name: &str) -> Result<(TotpAuthenticator, TotpSecret)> {
    let name = parse_name(name)?;
    let secret = TotpSecret::generate()?;
    let id = Uuid::now_v7();
    let sealed = app.sealer.seal(secret.bytes(), &totp_aad(id))?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    // Abandoned enrolments older than a day are dropped; at most 5 pending at once.
    db_run!(&mut tx, c => sqlx::query("DELETE FROM totp_authenticators WHERE user_id = $1 AND NOT confirmed AND created_at < $2")
        .bind(user.id).bind(now - 86400).execute(c).await.map(|r| r.rows_affected()))?;
    let pending: i64 = db_run!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM totp_authenticators WHERE user_id = $1 AND NOT confirmed").bind(user.id).fetch_one(c).await)?;
    if pending >= 5 {
        return Err(Error::Conflict("finish or remove the authenticators you started adding first".into()));
    }
    db_run!(&mut tx, c => sqlx::query("INSERT INTO totp_authenticators (id, user_id, name, secret_sealed, confirmed, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id).bind(user.id).bind(&name).bind(sealed).bind(false).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok((
        TotpAuthenticator { id, user_id: user.id, name, confirmed: false, created_at: now, last_used_at: None },
        secret,
    ))
}

/// A pending authenticator of `user` and its seed, to show the QR code again.
pub async fn pending_totp(app: &App, user: Uuid, id: Uuid) -> Result<(TotpAuthenticator, TotpSecret)> {
    let mut tx = app.db.conn().await?;
    let row: Option<(String, Vec<u8>, i64)> = db_run!(&mut tx, c => sqlx::query_as(
        "SELECT name, secret_sealed, created_at FROM totp_authenticators WHERE id = $1 AND user_id = $2 AND NOT confirmed")
        .bind(id).bind(user).fetch_optional(c).await)?;
    let (name, sealed, created_at) = row.ok_or(Error::NotFound("pending authenticator"))?;
    let secret = TotpSecret::from_bytes(app.sealer.unseal(&mut tx, &sealed, &totp_aad(id)).await?);
    Ok((TotpAuthenticator { id, user_id: user, name, confirmed: false, created_at, last_used_at: None }, secret))
}

/// Accepts `code` for authenticator `id` at most once: records its time step if later than
/// the last accepted one.
async fn accept_step(tx: &mut Tx, id: Uuid, step: i64, now: i64) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE totp_authenticators SET last_step = $1, last_used_at = $2 WHERE id = $3 AND last_step < $1")
        .bind(step).bind(now).bind(id).execute(c).await.map(|r| r.rows_affected() == 1))
}

fn recovery_hash(code: &str) -> String {
    let normal: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    crate::crypto::sha256_hex(normal.as_bytes())
}

/// New recovery codes, replacing any old ones; returns them for showing once.
async fn replace_recovery_codes(tx: &mut Tx, user: Uuid, now: i64) -> Result<Vec<String>> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789"; // no 0/o, 1/l/i
    db_run!(tx, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let bytes = crate::crypto::random_bytes::<16>()?;
        let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
        let code = format!("{}-{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12], &chars[12..16]);
        db_run!(tx, c => sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
            .bind(user).bind(recovery_hash(&code)).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        codes.push(code);
    }
    Ok(codes)
}

/// Confirms a pending authenticator with its first code. On the user's first factor, returns
/// the recovery codes to show once.
pub async fn confirm_totp(
    app: &App,
    user: &User,
    id: Uuid,
    code: &str,
    origin: &Origin,
) -> Result<Option<Vec<String>>> {
    let (auth, secret) = pending_totp(app, user.id, id).await?;
    let now = app.now();
    let Some(step) = secret.matching_step(code, now) else {
        return Err(Error::invalid(
            "code",
            "is not the current code of this authenticator; check the phone's clock and try again",
        ));
    };
    let had_factors = has_factors(app, user.id).await?;
    let mut tx = app.db.begin().await?;
    db_run!(&mut tx, c => sqlx::query("UPDATE totp_authenticators SET confirmed = $1, last_step = $2, last_used_at = $3 WHERE id = $4")
        .bind(true).bind(step).bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    let existing: i64 = db_run!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1").bind(user.id).fetch_one(c).await)?;
    let codes =
        if !had_factors && existing == 0 { Some(replace_recovery_codes(&mut tx, user.id, now).await?) } else { None };
    let actor = Actor::user(user.id, &user.username);
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(&actor, "mfa.totp_add", "user", user.id)
            .details(json!({"authenticator": id, "name": auth.name, "recovery_codes_issued": codes.is_some()})),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// A presented second factor.
#[derive(Debug, Clone)]
pub enum Presented {
    Totp(String),
    Recovery(String),
}

/// A second factor that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorOk {
    /// The RFC 8176 method: `otp` for TOTP and recovery codes alike.
    pub method: &'static str,
    /// Recovery codes left, when one was used.
    pub recovery_remaining: Option<i64>,
}

/// Checks a second factor for `user`, with the sign-in throttle, and audits the outcome.
pub async fn verify(app: &App, user: &User, presented: &Presented, origin: &Origin) -> Result<FactorOk, AuthError> {
    let user_key = throttle::user_key(&user.username);
    let ip_key = throttle::ip_key(&origin.ip);
    let now = app.now();
    let attempt = app.attempts.enter(&user_key);
    let throttled = {
        let mut tx = app.db.conn().await?;
        throttle::state(&mut tx, &user_key, &ip_key, now, app.config.signin.failure_window.secs()).await?
    };
    if let Some(wait) = throttled.wait {
        return Err(AuthError::Throttled(wait.max(1)));
    }
    // Parallel guesses of a code cannot all pass the check above before their failures land.
    if !attempt.within_budget(&app.config.signin, throttled.user_failures) {
        return Err(AuthError::Throttled(1));
    }
    let actor = Actor::user(user.id, &user.username);
    let mut tx = app.db.begin().await?;
    let (ok, method, detail) = match presented {
        Presented::Totp(code) => {
            let mut accepted = None;
            let mut replayed = false;
            for (id, sealed) in confirmed_totp(&mut tx, user.id).await? {
                let secret = TotpSecret::from_bytes(
                    app.sealer.unseal(&mut tx, &sealed, &totp_aad(id)).await.map_err(Error::from)?,
                );
                if let Some(step) = secret.matching_step(code, now) {
                    if accept_step(&mut tx, id, step, now).await? {
                        accepted = Some(id);
                        break;
                    }
                    replayed = true;
                }
            }
            let reason = if accepted.is_some() {
                "ok"
            } else if replayed {
                "replayed_code"
            } else {
                "wrong_code"
            };
            (accepted.is_some(), "totp", json!({"reason": reason, "authenticator": accepted}))
        }
        Presented::Recovery(code) => {
            let used = db_run!(&mut tx, c => sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
                .bind(now).bind(user.id).bind(recovery_hash(code)).execute(c).await.map(|r| r.rows_affected() == 1))?;
            (used, "recovery_code", json!({"reason": if used { "ok" } else { "wrong_or_used_code" }}))
        }
    };
    if !ok {
        throttle::record_failure(&mut tx, &app.config.signin, &user_key, &ip_key, now).await?;
        audit::record(
            &mut tx,
            now,
            origin,
            audit::Event::new(&actor, "mfa.verify", "user", user.id)
                .details(json!({"method": method, "detail": detail}))
                .failed(),
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("lanyard_mfa_total", "method" => method, "outcome" => "failure").increment(1);
        return Err(AuthError::Other(Error::invalid("code", "is not valid (codes work once; wait for the next one)")));
    }
    let remaining = match presented {
        Presented::Recovery(_) => Some(
            db_run!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(user.id).fetch_one(c).await)?,
        ),
        Presented::Totp(_) => None,
    };
    // A right second factor completes a sign-in (or a step-up): earlier failures are forgotten.
    if throttled.user_failures > 0 {
        throttle::record_success(&mut tx, &user_key).await?;
    }
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(&actor, "mfa.verify", "user", user.id)
            .details(json!({"method": method, "detail": detail, "recovery_codes_remaining": remaining})),
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("lanyard_mfa_total", "method" => method, "outcome" => "success").increment(1);
    Ok(FactorOk { method: "otp", recovery_remaining: remaining })
}

/// Removes an authenticator; the caller must present a fresh second factor.
pub async fn remove_totp(
    app: &App,
    user: &User,
    id: Uuid,
    fresh: &Presented,
    origin: &Origin,
) -> Result<(), AuthError> {
    let list = list_totp(app, user.id).await?;
    let target = list.iter().find(|a| a.id == id).ok_or(Error::NotFound("authenticator"))?;
    if target.confirmed {
        verify(app, user, fresh, origin).await?;
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    db_run!(&mut tx, c => sqlx::query("DELETE FROM totp_authenticators WHERE id = $1 AND user_id = $2").bind(id).bind(user.id).execute(c).await.map(|r| r.rows_affected()))?;
    let actor = Actor::user(user.id, &user.username);
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(&actor, "mfa.totp_remove", "user", user.id)
            .details(json!({"authenticator": id, "name": target.name})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the user's recovery codes after a fresh second factor; returns the new ones.
pub async fn regenerate_recovery(
    app: &App,
    user: &User,
    fresh: Option<&Presented>,
    origin: &Origin,
) -> Result<Vec<String>, AuthError> {
    if !has_factors(app, user.id).await? {
        return Err(AuthError::Other(Error::Conflict("add an authenticator first".into())));
    }
    // None: the caller saw a second factor used in this session within minutes.
    if let Some(fresh) = fresh {
        verify(app, user, fresh, origin).await?;
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let codes = replace_recovery_codes(&mut tx, user.id, now).await?;
    let actor = Actor::user(user.id, &user.username);
    audit::record(&mut tx, now, origin, audit::Event::new(&actor, "mfa.recovery_regenerate", "user", user.id)).await?;
    tx.commit().await?;
    Ok(codes)
}

/// A factor as listed for administrators (no secrets).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FactorView {
    /// `totp`, `passkey` or `security_key`.
    pub kind: String,
    pub id: Uuid,
    pub name: String,
    pub confirmed: bool,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// A user's factors and recovery-code count, for the admin API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Factors {
    pub factors: Vec<FactorView>,
    pub recovery_codes_remaining: i64,
    /// Whether the MFA policy requires this user to use a second factor.
    pub mfa_required: bool,
}

pub async fn factors(app: &App, user: Uuid) -> Result<Factors> {
    crate::directory::service::get_user(app, user).await?;
    let mut factors: Vec<FactorView> = list_totp(app, user)
        .await?
        .into_iter()
        .map(|a| FactorView {
            kind: "totp".into(),
            id: a.id,
            name: a.name,
            confirmed: a.confirmed,
            created_at: crate::clock::format_unix(a.created_at),
            last_used_at: a.last_used_at.map(crate::clock::format_unix),
        })
        .collect();
    factors.extend(super::webauthn::list(app, user).await?.into_iter().map(|c| FactorView {
        kind: c.kind,
        id: c.id,
        name: c.name,
        confirmed: true,
        created_at: crate::clock::format_unix(c.created_at),
        last_used_at: c.last_used_at.map(crate::clock::format_unix),
    }));
    Ok(Factors {
        factors,
        recovery_codes_remaining: recovery_remaining(app, user).await?,
        mfa_required: required_for(app, user).await?,
    })
}

/// Removes every second factor of a user (an administrator's action) and ends their sessions.
pub async fn reset(app: &App, actor: &Actor, origin: &Origin, user: Uuid) -> Result<()> {
    crate::directory::service::get_user(app, user).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let totp = db_run!(&mut tx, c => sqlx::query("DELETE FROM totp_authenticators WHERE user_id = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    let codes = db_run!(&mut tx, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    let webauthn = db_run!(&mut tx, c => sqlx::query("DELETE FROM webauthn_credentials WHERE user_id = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    let sessions = super::sessions::revoke_all_in(&mut tx, user).await?;
    crate::oidc::grants::revoke_user_in(&mut tx, user, now).await?;
    crate::sts::credentials::revoke_user_in(&mut tx, user, now).await?;
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(actor, "mfa.reset", "user", user)
            .details(json!({"totp_removed": totp, "webauthn_removed": webauthn, "recovery_codes_removed": codes, "sessions_revoked": sessions})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
