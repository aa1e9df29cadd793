//! Sign-in throttling, recorded in the database so every instance sees the same counters.
//!
//! Failures are counted per username (whether or not it exists, so lockout reveals nothing) and
//! per client IP. After `delay_after` failures on a username each further attempt must wait a
//! doubling delay (1 s, 2 s, 4 s … up to `max_delay`); at `max_failures` the username is locked
//! for `lockout`. An IP with `ip_max_failures` failures is blocked for the failure window.
//!
//! An attempt is [`reserve`]d before its password or code is checked: it is counted as a failure
//! up front, in one atomic upsert per key, so a burst of parallel attempts cannot all pass the
//! same check; a success then [`release`]s its reservation.

use crate::config::SigninConfig;
use crate::db::{Db, Tx};
use crate::db_run;

/// The throttle key of a username.
pub fn user_key(username: &str) -> String {
    let u: String = username.trim().to_lowercase().chars().take(256).collect();
    format!("user:{u}")
}

/// The throttle key of a client IP.
pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Counts a failure on `key`; returns the failures in the window and the key's block.
async fn bump(tx: &mut Tx, key: &str, now: i64, window: i64) -> Result<(i64, i64), sqlx::Error> {
    db_run!(tx, c => sqlx::query_as(
        "INSERT INTO signin_throttle (key, failures, window_start, blocked_until) VALUES ($1, 1, $2, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN signin_throttle.window_start <= $3 THEN 1 ELSE signin_throttle.failures + 1 END, \
           window_start = CASE WHEN signin_throttle.window_start <= $3 THEN $2 ELSE signin_throttle.window_start END \
         RETURNING failures, blocked_until")
        .bind(key).bind(now).bind(now - window).fetch_one(c).await)
}

/// Takes back one counted attempt; with `unblock`, also lifts the key's block.
async fn unbump(tx: &mut Tx, key: &str, unblock: bool) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query(
        "UPDATE signin_throttle SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, \
         blocked_until = CASE WHEN $2 THEN 0 ELSE blocked_until END WHERE key = $1")
        .bind(key).bind(unblock).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A reserved attempt: refused (`wait`), or counted and allowed to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// Seconds to wait: the attempt is refused unheard and not counted.
    pub wait: Option<i64>,
    /// Failures on the username in the window, this attempt included.
    pub failures: i64,
    /// This attempt, should it fail, is the one that locks the username or the IP.
    pub locked: bool,
}

/// Reserves an attempt for a username and an IP (its own short transaction, committed before
/// the caller checks the credential so that parallel attempts see each other).
pub async fn reserve(db: &Db, cfg: &SigninConfig, user: &str, ip: &str, now: i64) -> Result<Reservation, sqlx::Error> {
    let window = cfg.failure_window.secs();
    let mut tx = db.begin_relaxed().await?;
    let (failures, user_blocked) = bump(&mut tx, user, now, window).await?;
    let (ip_failures, ip_blocked) = bump(&mut tx, ip, now, window).await?;
    let blocked = user_blocked.max(ip_blocked);
    if blocked > now {
        unbump(&mut tx, user, false).await?;
        unbump(&mut tx, ip, false).await?;
        tx.commit().await?;
        return Ok(Reservation { wait: Some(blocked - now), failures: failures - 1, locked: false });
    }
    let mut locked = false;
    if failures >= i64::from(cfg.max_failures) {
        block(&mut tx, user, now + cfg.lockout.secs()).await?;
        locked = failures == i64::from(cfg.max_failures);
    } else if failures >= i64::from(cfg.delay_after) {
        let step = u32::try_from(failures - i64::from(cfg.delay_after)).unwrap_or(u32::MAX).min(30);
        let delay = (1i64 << step).min(cfg.max_delay.secs());
        block(&mut tx, user, now + delay).await?;
    }
    if ip_failures >= i64::from(cfg.ip_max_failures) {
        block(&mut tx, ip, now + window).await?;
        locked |= ip_failures == i64::from(cfg.ip_max_failures);
    }
    tx.commit().await?;
    Ok(Reservation { wait: None, failures, locked })
}

/// Releases a reservation whose credential was right: the attempt no longer counts and the
/// block it set is lifted. With `clear_user` (a sign-in completed), the username's earlier
/// failures are forgotten too.
pub async fn release(tx: &mut Tx, user: &str, ip: &str, clear_user: bool) -> Result<(), sqlx::Error> {
    if clear_user {
        record_success(tx, user).await?;
    } else {
        unbump(tx, user, true).await?;
    }
    unbump(tx, ip, true).await
}

async fn block(tx: &mut Tx, key: &str, until: i64) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE signin_throttle SET blocked_until = $1 WHERE key = $2").bind(until).bind(key).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Clears a username's failures after a successful sign-in.
pub async fn record_success(tx: &mut Tx, user: &str) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM signin_throttle WHERE key = $1").bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Lifts a lockout on a username (an administrator's action).
pub async fn clear(tx: &mut Tx, user: &str) -> Result<bool, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM signin_throttle WHERE key = $1").bind(user).execute(c).await.map(|r| r.rows_affected() > 0))
}

/// Forgets counters whose window and block have both passed.
pub async fn delete_expired(tx: &mut Tx, now: i64, window: i64) -> Result<u64, sqlx::Error> {
    db_run!(tx, c => sqlx::query("DELETE FROM signin_throttle WHERE window_start < $1 AND blocked_until < $2")
        .bind(now - window).bind(now).execute(c).await.map(|r| r.rows_affected()))
}
