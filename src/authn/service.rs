//! The sign-in flow and self-service credential changes.
//!
//! Sign-in answers the same way, after the same work, for an unknown username and a wrong
//! password (a dummy hash is verified), so responses reveal nothing about who has an account.

use super::sessions::{self, AuthState};
use super::throttle;
use crate::app::App;
use crate::audit::{self, Actor, Origin};
use crate::directory::{self, User};
use crate::error::Error;
use serde_json::json;
use uuid::Uuid;

/// Why a sign-in was refused. `InvalidCredentials` covers unknown users and wrong passwords alike.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("The username or password is incorrect.")]
    InvalidCredentials,
    #[error("Too many failed attempts. Try again in {0} seconds.")]
    Throttled(i64),
    #[error("This account is disabled. Contact your administrator.")]
    Disabled,
    #[error(transparent)]
    Other(#[from] Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Other(e.into())
    }
}

/// A successful password check.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub state: AuthState,
    /// Failures were on record before this attempt: clear them with [`forget_failures`] once
    /// the sign-in completes.
    pub had_failures: bool,
}

/// Forgets a username's failed attempts: its sign-in has completed (password and, where one is
/// needed, the second factor).
pub async fn forget_failures(app: &App, username: &str) -> Result<(), Error> {
    let mut tx = app.db.begin_relaxed().await?;
    throttle::record_success(&mut tx, &throttle::user_key(username)).await?;
    tx.commit().await?;
    Ok(())
}

/// Checks a username and password, with throttling, and audits the outcome.
pub async fn sign_in(app: &App, username: &str, password: &str, origin: &Origin) -> Result<SignedIn, AuthError> {
    let claimed: String = username.trim().chars().take(256).collect();
    let user_key = throttle::user_key(&claimed);
    let ip_key = throttle::ip_key(&origin.ip);
    let now = app.now();
    // The throttle check and the user lookup are independent reads: run them side by side.
    let attempt = app.attempts.enter(&user_key);
    let throttled = async {
        let mut tx = app.db.conn().await?;
        throttle::state(&mut tx, &user_key, &ip_key, now, app.config.signin.failure_window.secs()).await
    };
    let lookup = async {
        if claimed.is_empty() { Ok(None) } else { directory::service::find_user_by_username(app, &claimed).await }
    };
    let (throttled, user) = tokio::join!(throttled, lookup);
    let throttled = throttled?;
    if throttled.wait.is_none() && !attempt.within_budget(&app.config.signin, throttled.user_failures) {
        metrics::counter!("lanyard_signins_total", "outcome" => "throttled").increment(1);
        return Err(AuthError::Throttled(1));
    }
    if let Some(wait) = throttled.wait {
        metrics::counter!("lanyard_signins_total", "outcome" => "throttled").increment(1);
        return Err(AuthError::Throttled(wait.max(1)));
    }
    let user = user?;
    let password: String = password.chars().take(super::password::MAX_LENGTH + 1).collect();
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = app.hasher.verify(password.clone(), stored.clone()).await.map_err(Error::from)?;
    let now = app.now();
    let actor = match &user {
        Some(u) => Actor::user(u.id, &u.username),
        None => Actor::anonymous(&claimed),
    };
    let failure_reason = match &user {
        None => Some("unknown_user"),
        Some(_) if stored.is_none() => Some("no_password"),
        Some(_) if !verified.matches => Some("wrong_password"),
        Some(u) if !u.is_active() => Some("disabled"),
        Some(_) => None,
    };
    let mut tx = app.db.begin().await?;
    if let Some(reason) = failure_reason {
        let outcome = throttle::record_failure(&mut tx, &app.config.signin, &user_key, &ip_key, now).await?;
        audit::record(
            &mut tx,
            now,
            origin,
            audit::Event::new(
                &actor,
                "signin.failure",
                "user",
                user.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
            )
            .details(json!({"reason": reason, "username": claimed, "failures": outcome.failures}))
            .failed(),
        )
        .await?;
        if outcome.locked {
            audit::record(
                &mut tx,
                now,
                origin,
                audit::Event::new(
                    &actor,
                    "signin.lockout",
                    "user",
                    user.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
                )
                .details(json!({"username": claimed, "lockout_seconds": app.config.signin.lockout.secs()}))
                .failed(),
            )
            .await?;
        }
        tx.commit().await?;
        metrics::counter!("lanyard_signins_total", "outcome" => reason).increment(1);
        return Err(if reason == "disabled" { AuthError::Disabled } else { AuthError::InvalidCredentials });
    }
    let Some(user) = user else { return Err(AuthError::InvalidCredentials) };
    // Failures (a second factor's included) are forgotten only when the whole sign-in completes
    // (`forget_failures`), so re-entering a known password does not reset the count of wrong
    // codes.
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(&actor, "signin.success", "user", user.id.to_string())
            .details(json!({"amr": ["pwd"], "user_agent": origin.user_agent})),
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("lanyard_signins_total", "outcome" => "success").increment(1);
    if verified.needs_rehash
        && let (Some(old), Ok(new)) = (stored, app.hasher.hash(password).await)
    {
        let mut tx = app.db.begin().await?;
        directory::store::upgrade_password_hash(&mut tx, user.id, &old, &new).await?;
        tx.commit().await?;
        tracing::info!(user.id = %user.id, "upgraded password hash parameters");
    }
    let state = AuthState {
        user_id: user.id,
        username: user.username.clone(),
        auth_time: now,
        amr: vec!["pwd".into()],
        must_change_password: user.must_change_password,
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.chars().take(512).collect(),
        mfa_time: None,
        must_enrol_mfa: false,
    };
    drop(attempt);
    Ok(SignedIn { user, state, had_failures: throttled.user_failures > 0 })
}

/// Changes the signed-in user's own password after checking the current one. Other sessions of
/// the user end; `keep_session` (the current one) stays.
pub async fn change_password(
    app: &App,
    user_id: Uuid,
    current: &str,
    new: &str,
    keep_session: &str,
    origin: &Origin,
) -> Result<(), AuthError> {
    let user = directory::service::get_user(app, user_id).await?;
    let user_key = throttle::user_key(&user.username);
    let ip_key = throttle::ip_key(&origin.ip);
    let attempt = app.attempts.enter(&user_key);
    let throttled = {
        let mut tx = app.db.conn().await?;
        throttle::state(&mut tx, &user_key, &ip_key, app.now(), app.config.signin.failure_window.secs()).await?
    };
    if let Some(wait) = throttled.wait {
        return Err(AuthError::Throttled(wait.max(1)));
    }
    if !attempt.within_budget(&app.config.signin, throttled.user_failures) {
        return Err(AuthError::Throttled(1));
    }
    let verified = app
        .hasher
        .verify(current.chars().take(257).collect(), user.password_hash.clone())
        .await
        .map_err(Error::from)?;
    let actor = Actor::user(user.id, &user.username);
    if !verified.matches {
        let now = app.now();
        let mut tx = app.db.begin().await?;
        throttle::record_failure(&mut tx, &app.config.signin, &user_key, &ip_key, now).await?;
        audit::record(
            &mut tx,
            now,
            origin,
            audit::Event::new(&actor, "password.change", "user", user.id.to_string())
                .details(json!({"reason": "wrong_current_password"}))
                .failed(),
        )
        .await?;
        tx.commit().await?;
        return Err(AuthError::Other(Error::invalid("current_password", "is incorrect")));
    }
    if current == new {
        return Err(AuthError::Other(Error::invalid("new_password", "must differ from the current password")));
    }
    app.passwords.check(new, &user.username)?;
    let hash = app.hasher.hash(new.to_string()).await.map_err(Error::from)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    directory::store::set_password_hash(&mut tx, user.id, &hash, false, now).await?;
    let ended = sessions::revoke_others_in(&mut tx, user.id, keep_session).await?;
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(&actor, "password.change", "user", user.id.to_string())
            .details(json!({"other_sessions_ended": ended})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Audits a sign-out (the session row itself is deleted by the session layer).
pub async fn record_sign_out(app: &App, state: &AuthState, origin: &Origin) -> Result<(), Error> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(&Actor::user(state.user_id, &state.username), "signout", "user", state.user_id.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends one session of `user`, as that user or an administrator.
pub async fn revoke_session(app: &App, actor: &Actor, origin: &Origin, user: Uuid, session: Uuid) -> Result<(), Error> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if !sessions::revoke_in(&mut tx, user, session).await? {
        return Err(Error::NotFound("session"));
    }
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(actor, "session.revoke", "user", user.to_string()).details(json!({"session": session})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of `user` (an administrator's action, or "sign out everywhere").
pub async fn revoke_all_sessions(app: &App, actor: &Actor, origin: &Origin, user: Uuid) -> Result<u64, Error> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    directory::store::find_user(&mut tx, user).await?.ok_or(Error::NotFound("user"))?;
    let n = sessions::revoke_all_in(&mut tx, user).await?;
    crate::oidc::grants::revoke_user_in(&mut tx, user, now).await?;
    crate::sts::credentials::revoke_user_in(&mut tx, user, now).await?;
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(actor, "session.revoke_all", "user", user.to_string())
            .details(json!({"sessions_revoked": n})),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Ends every session of `user` except the one whose stored key is `keep_hash` (the caller's).
pub async fn revoke_other_sessions(
    app: &App,
    actor: &Actor,
    origin: &Origin,
    user: Uuid,
    keep_hash: &str,
) -> Result<u64, Error> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let n = sessions::revoke_others_in(&mut tx, user, keep_hash).await?;
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(actor, "session.revoke_others", "user", user.to_string())
            .details(json!({"sessions_revoked": n})),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Lifts a sign-in lockout on a user (administrator's action).
pub async fn unlock(app: &App, actor: &Actor, origin: &Origin, user: Uuid) -> Result<bool, Error> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let u = directory::store::find_user(&mut tx, user).await?.ok_or(Error::NotFound("user"))?;
    let cleared = throttle::clear(&mut tx, &throttle::user_key(&u.username)).await?;
    audit::record(
        &mut tx,
        now,
        origin,
        audit::Event::new(actor, "user.unlock", "user", user.to_string()).details(json!({"was_throttled": cleared})),
    )
    .await?;
    tx.commit().await?;
    Ok(cleared)
}
