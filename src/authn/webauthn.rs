//! WebAuthn through webauthn-rs: passkeys (discoverable credentials, for signing in without a
//! password) and security keys (second step after the password).
//!
//! Ceremony state (challenge and options) stays on the server, in the session, and is removed
//! when used, so a challenge answers once; it also expires after five minutes. The relying-party
//! id and origin come from the public URL. Sign counters and backup flags are stored and
//! checked: a counter that does not move forward is refused by webauthn-rs as a possibly cloned
//! authenticator.

use super::service::AuthError;
use super::throttle;
use crate::app::App;
use crate::audit::{self, Actor, Origin};
use crate::db_run;
use crate::directory::User;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Webauthn, WebauthnBuilder,
};

/// How long a ceremony may take, in seconds.
pub const CEREMONY_SECS: i64 = 300;
/// Session key of a registration in progress.
pub const REG_KEY: &str = "webauthn_reg";
/// Session key of an authentication in progress.
pub const AUTH_KEY: &str = "webauthn_auth";

/// Builds the relying party from the public URL; `None` when the URL's host cannot be a
/// WebAuthn relying-party id (browsers refuse IP addresses: use a name such as `localhost`).
pub fn relying_party(url: &url::Url) -> Option<Webauthn> {
    let host = url.domain()?;
    WebauthnBuilder::new(host, url).ok()?.rp_name("Lanyard").build().ok()
}

fn rp(app: &App) -> Result<&Webauthn> {
    app.webauthn.as_ref().ok_or_else(|| {
        Error::Conflict(
            "passkeys need a public URL with a host name (e.g. http://localhost:8080), not an IP address".into(),
        )
    })
}

/// A stored credential (public data only).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Credential {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub kind: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl Credential {
    pub fn kind_label(&self) -> &'static str {
        if self.kind == "passkey" { "Passkey" } else { "Security key" }
    }
    pub fn created_label(&self) -> String {
        crate::portal::when(&self.created_at)
    }
    pub fn last_used_label(&self) -> String {
        self.last_used_at.map_or_else(|| "never".into(), |t| crate::portal::when(&t))
    }
}

const COLS: &str = "id, user_id, name, kind, sign_count, backup_eligible, backup_state, created_at, last_used_at";

pub async fn list(app: &App, user: Uuid) -> Result<Vec<Credential>> {
    let mut tx = app.db.conn().await?;
    let sql =
        sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at"));
    Ok(db_run!(&mut tx, c => sqlx::query_as(sql).bind(user).fetch_all(c).await)?)
}

async fn passkeys_of(app: &App, user: Uuid) -> Result<Vec<(Uuid, Passkey)>> {
    let mut tx = app.db.conn().await?;
    let rows: Vec<(Uuid, String)> = db_run!(&mut tx, c => sqlx::query_as("SELECT id, passkey FROM webauthn_credentials WHERE user_id = $1").bind(user).fetch_all(c).await)?;
    rows.into_iter().map(|(id, json)| Ok((id, serde_json::from_str(&json).map_err(Error::internal)?))).collect()
}

/// A registration in progress, kept in the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    state: PasskeyRegistration,
    user_id: Uuid,
    name: String,
    kind: String,
    expires_at: i64,
}

fn parse_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be 1–64 printable characters, e.g. \"Laptop\""));
    }
    Ok(n.to_string())
}

/// Starts registering a credential of `kind` (`passkey` or `security_key`) for `user`.
pub async fn start_registration(
    app: &App,
    user: &User,
    name: &str,
    kind: &str,
) -> Result<(serde_json::Value, Registration)> {
    let name = parse_name(name)?;
    if !matches!(kind, "passkey" | "security_key") {
        return Err(Error::invalid("kind", "must be passkey or security_key"));
    }
    let existing: Vec<_> = passkeys_of(app, user.id).await?.into_iter().map(|(_, p)| p.cred_id().clone()).collect();
    let display = if user.display_name.is_empty() { &user.username } else { &user.display_name };
    let (ccr, state): (CreationChallengeResponse, PasskeyRegistration) = rp(app)?
        .start_passkey_registration(user.id, &user.username, display, Some(existing))
        .map_err(|e| Error::BadRequest(format!("cannot start registration: {e}")))?;
    let mut options = serde_json::to_value(&ccr).map_err(Error::internal)?;
    // A passkey must be discoverable (it is found without a username); a security key need not be.
    if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection").and_then(|v| v.as_object_mut()) {
        let required = kind == "passkey";
        sel.insert("residentKey".into(), json!(if required { "required" } else { "discouraged" }));
        sel.insert("requireResidentKey".into(), json!(required));
    }
    Ok((
        options,
        Registration { state, user_id: user.id, name, kind: kind.to_string(), expires_at: app.now() + CEREMONY_SECS },
    ))
}

fn flags(passkey: &Passkey) -> (i64, bool, bool) {
    let v = serde_json::to_value(passkey).unwrap_or_default();
    let cred = v.get("cred").cloned().unwrap_or_default();
    (
        cred.get("counter").and_then(serde_json::Value::as_i64).unwrap_or(0),
        cred.get("backup_eligible").and_then(serde_json::Value::as_bool).unwrap_or(false),
        cred.get("backup_state").and_then(serde_json::Value::as_bool).unwrap_or(false),
    )
}

/// Finishes a registration. On the user's first second factor, returns recovery codes.
pub async fn finish_registration(
    app: &App,
    user: &User,
    reg: Registration,
    response: &RegisterPublicKeyCredential,
    origin: &Origin,
) -> Result<(Credential, Option<Vec<String>>)> {
    if reg.user_id != user.id || reg.expires_at < app.now() {
        return Err(Error::BadRequest("the registration expired; start again".into()));
    }
    let passkey = rp(app)?
        .finish_passkey_registration(response, &reg.state)
        .map_err(|e| Error::BadRequest(format!("the authenticator's response was refused: {e}")))?;
    let (count, be, bs) = flags(&passkey);
    let had_factors = super::mfa::has_factors(app, user.id).await?;
    let now = app.now();
    let id = Uuid::now_v7();
    let json = serde_json::to_string(&passkey).map_err(Error::internal)?;
    let mut tx = app.db.begin().await?;
    let inserted = db_run!(&mut tx, c => sqlx::query(
        "INSERT INTO webauthn_credentials (id, user_id, credential_id, name, kind, passkey, sign_count, backup_eligible, backup_state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(id).bind(user.id).bind(AsRef::<[u8]>::as_ref(passkey.cred_id()).to_vec()).bind(&reg.name).bind(&reg.kind).bind(&json)
        .bind(count).bind(be).bind(bs).bind(now).execute(c).await.map(|r| r.rows_affected()));
    match inserted {
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(Error::Conflict("this authenticator is already registered".into()));
        }
        r => r?,
    };
    let codes = if had_factors { None } else { super::mfa::issue_first_recovery_codes(&mut tx, user.id, now).await? };
    let actor = Actor::user(user.id, &user.username);
    audit::record(&mut tx, now, origin, audit::Event::new(&actor, "mfa.webauthn_add", "user", user.id).details(json!({
        "credential": id, "name": reg.name, "kind": reg.kind, "backup_eligible": be, "recovery_codes_issued": codes.is_some()
    })))
    .await?;
    tx.commit().await?;
    let cred = Credential {
        id,
        user_id: user.id,
        name: reg.name,
        kind: reg.kind,
        sign_count: count,
        backup_eligible: be,
        backup_state: bs,
        created_at: now,
        last_used_at: None,
    };
    Ok((cred, codes))
}

/// An authentication in progress, kept in the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Authentication {
    /// Second step after the password: the user's own credentials are allowed.
    SecondFactor { state: PasskeyAuthentication, user_id: Uuid, expires_at: i64 },
    /// Passwordless: any discoverable credential; the user is whoever it belongs to.
    Discoverable { state: DiscoverableAuthentication, expires_at: i64 },
}

/// Starts an authentication: for `user` as a second factor, or (None) passwordless.
pub async fn start_authentication(app: &App, user: Option<Uuid>) -> Result<(RequestChallengeResponse, Authentication)> {
    let expires_at = app.now() + CEREMONY_SECS;
    match user {
        Some(uid) => {
            let keys: Vec<Passkey> = passkeys_of(app, uid).await?.into_iter().map(|(_, p)| p).collect();
            if keys.is_empty() {
                return Err(Error::Conflict("no passkey or security key is registered for this account".into()));
            }
            let (rcr, state) =
                rp(app)?.start_passkey_authentication(&keys).map_err(|e| Error::BadRequest(e.to_string()))?;
            Ok((rcr, Authentication::SecondFactor { state, user_id: uid, expires_at }))
        }
        None => {
            let (rcr, state) =
                rp(app)?.start_discoverable_authentication().map_err(|e| Error::BadRequest(e.to_string()))?;
            Ok((rcr, Authentication::Discoverable { state, expires_at }))
        }
    }
}

/// A successful WebAuthn authentication.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    /// RFC 8176: `hwk` for a device-bound key, `swk` for a synced (backed-up) passkey.
    pub method: &'static str,
    /// The authenticator verified the person (PIN or biometric).
    pub user_verified: bool,
}

/// Finishes an authentication, with the sign-in throttle, and audits the outcome.
pub async fn finish_authentication(
    app: &App,
    auth: Authentication,
    response: &PublicKeyCredential,
    origin: &Origin,
) -> Result<Authenticated, AuthError> {
    let now = app.now();
    let webauthn = rp(app)?;
    // Who does this claim to be?
    let (user_id, expires_at) = match &auth {
        Authentication::SecondFactor { user_id, expires_at, .. } => (*user_id, *expires_at),
        Authentication::Discoverable { expires_at, .. } => {
            let (uid, _) = webauthn
                .identify_discoverable_authentication(response)
                .map_err(|_| Error::BadRequest("the passkey did not say whose it is".into()))?;
            (uid, *expires_at)
        }
    };
    if expires_at < now {
        return Err(Error::BadRequest("the sign-in took too long; try again".into()).into());
    }
    let user = crate::directory::service::get_user(app, user_id).await.map_err(|_| AuthError::InvalidCredentials)?;
    let user_key = throttle::user_key(&user.username);
    let ip_key = throttle::ip_key(&origin.ip);
    let attempt = app.attempts.enter(&user_key);
    let throttled = {
        let mut tx = app.db.conn().await?;
        throttle::state(&mut tx, &user_key, &ip_key, now, app.config.signin.failure_window.secs()).await?
    };
    if let Some(wait) = throttled.wait {
        return Err(AuthError::Throttled(wait.max(1)));
    }
    if !attempt.within_budget(&app.config.signin, throttled.user_failures) {
        return Err(AuthError::Throttled(1));
    }
    let keys = passkeys_of(app, user.id).await?;
    let cred_id = response.get_credential_id().to_vec();
    let found = keys.iter().find(|(_, p)| AsRef::<[u8]>::as_ref(p.cred_id()) == cred_id.as_slice());
    let result = match (&auth, found) {
        (_, None) => Err("unknown_credential".to_string()),
        (Authentication::SecondFactor { state, .. }, Some(_)) => {
            webauthn.finish_passkey_authentication(response, state).map_err(|e| e.to_string())
        }
        (Authentication::Discoverable { state, .. }, Some((_, pk))) => {
            webauthn.finish_discoverable_authentication_v2(response, state.clone(), pk).map_err(|e| e.to_string())
        }
    };
    let actor = Actor::user(user.id, &user.username);
    let mut tx = app.db.begin().await?;
    let (result, (row_id, mut passkey)) = match (result, found) {
        (Ok(r), Some((id, pk))) => (r, (*id, pk.clone())),
        (outcome, _) => {
            let reason = outcome.err().unwrap_or_else(|| "unknown_credential".into());
            throttle::record_failure(&mut tx, &app.config.signin, &user_key, &ip_key, now).await?;
            audit::record(
                &mut tx,
                now,
                origin,
                audit::Event::new(&actor, "mfa.verify", "user", user.id)
                    .details(json!({"method": "webauthn", "reason": reason}))
                    .failed(),
            )
            .await?;
            tx.commit().await?;
            metrics::counter!("lanyard_mfa_total", "method" => "webauthn", "outcome" => "failure").increment(1);
            return Err(AuthError::Other(Error::invalid("credential", "the passkey or security key was not accepted")));
        }
    };
    if !user.is_active() {
        return Err(AuthError::Disabled);
    }
    let (_, old_be, _) = flags(&passkey);
    passkey.update_credential(&result);
    let (count, be, bs) = flags(&passkey);
    let json = serde_json::to_string(&passkey).map_err(Error::internal)?;
    db_run!(&mut tx, c => sqlx::query("UPDATE webauthn_credentials SET passkey = $1, sign_count = $2, backup_eligible = $3, backup_state = $4, last_used_at = $5 WHERE id = $6")
        .bind(&json).bind(count).bind(be).bind(bs).bind(now).bind(row_id).execute(c).await.map(|r| r.rows_affected()))?;
    if result.needs_update() || old_be != be {
        tracing::info!(credential = %row_id, counter = count, backup_eligible = be, backup_state = bs, "webauthn credential state updated");
    }
    let method = if bs || be { "swk" } else { "hwk" };
    audit::record(&mut tx, now, origin, audit::Event::new(&actor, "mfa.verify", "user", user.id).details(json!({
        "method": "webauthn", "credential": row_id, "amr": method, "user_verified": result.user_verified(), "counter": count,
        "passwordless": matches!(auth, Authentication::Discoverable { .. }),
    })))
    .await?;
    if matches!(auth, Authentication::Discoverable { .. }) {
        audit::record(
            &mut tx,
            now,
            origin,
            audit::Event::new(&actor, "signin.success", "user", user.id).details(json!({
                "amr": [method], "passwordless": true, "user_agent": origin.user_agent,
            })),
        )
        .await?;
        metrics::counter!("lanyard_signins_total", "outcome" => "success").increment(1);
    }
    // A right passkey completes a sign-in (or a step-up): earlier failures are forgotten.
    if throttled.user_failures > 0 {
        throttle::record_success(&mut tx, &user_key).await?;
    }
    tx.commit().await?;
    metrics::counter!("lanyard_mfa_total", "method" => "webauthn", "outcome" => "success").increment(1);
    Ok(Authenticated { user, method, user_verified: result.user_verified() })
}

/// Removes a credential of `user`.
pub async fn remove(app: &App, user: &User, id: Uuid, origin: &Origin) -> Result<()> {
    let list = list(app, user.id).await?;
    let target = list.iter().find(|c| c.id == id).ok_or(Error::NotFound("credential"))?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    db_run!(&mut tx, c => sqlx::query("DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2").bind(id).bind(user.id).execute(c).await.map(|r| r.rows_affected()))?;
    let actor = Actor::user(user.id, &user.username);
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(&actor, "mfa.webauthn_remove", "user", user.id)
            .details(json!({"credential": id, "name": target.name})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
