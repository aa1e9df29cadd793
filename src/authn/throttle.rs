//! Sign-in throttling, recorded in the database so every instance sees the same counters.
//!
//! Failures are counted per username (whether or not it exists, so lockout reveals nothing) and
//! per client IP. After `delay_after` failures on a username each further attempt must wait a
//! doubling delay (1 s, 2 s, 4 s … up to `max_delay`); at `max_failures` the username is locked
//! for `lockout`. An IP with `ip_max_failures` failures is blocked for the failure window.
//!
//! Counters are written after a credential is checked, so parallel attempts could all pass one
//! check before any failure lands. [`Inflight`] closes that gap: each instance lets a username
//! have no more attempts in flight than failures it may still make before the next delay (at
//! least one), so a burst of parallel guesses gets what sequential guessing would.

use crate::config::SigninConfig;
use crate::db::Tx;
use crate::db_run;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The throttle key of a username.
pub fn user_key(username: &str) -> String {
    let u: String = username.trim().to_lowercase().chars().take(256).collect();
    format!("user:{u}")
}

/// The throttle key of a client IP.
pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// The throttle state of a sign-in attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State {
    /// Seconds until both the username and the IP may try again, if either is blocked.
    pub wait: Option<i64>,
    /// The username's failures on record in the window (a completed sign-in clears them).
    pub user_failures: i64,
}

/// Reads the counters of a username and an IP in one query; failures older than `window`
/// seconds no longer count.
pub async fn state(tx: &mut Tx, user: &str, ip: &str, now: i64, window: i64) -> Result<State, sqlx::Error> {
    let rows: Vec<(String, i64, i64, i64)> = db_run!(tx, c => sqlx::query_as("SELECT key, blocked_until, failures, window_start FROM signin_throttle WHERE key = $1 OR key = $2")
        .bind(user).bind(ip).fetch_all(c).await)?;
    let wait = rows.iter().map(|(_, until, _, _)| *until).filter(|u| *u > now).max().map(|u| u - now);
    let user_failures =
        rows.iter().find(|(k, _, _, start)| k == user && *start > now - window).map_or(0, |(_, _, f, _)| *f);
    Ok(State { wait, user_failures })
}

/// What a recorded failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureOutcome {
    pub failures: i64,
    /// The key was just locked out (not merely delayed).
    pub locked: bool,
}

async fn bump(tx: &mut Tx, key: &str, now: i64, window: i64) -> Result<i64, sqlx::Error> {
    db_run!(tx, c => sqlx::query_scalar(
        "INSERT INTO signin_throttle (key, failures, window_start, blocked_until) VALUES ($1, 1, $2, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN signin_throttle.window_start <= $3 THEN 1 ELSE signin_throttle.failures + 1 END, \
           window_start = CASE WHEN signin_throttle.window_start <= $3 THEN $2 ELSE signin_throttle.window_start END \
         RETURNING failures")
        .bind(key).bind(now).bind(now - window).fetch_one(c).await)
}

async fn block(tx: &mut Tx, key: &str, until: i64) -> Result<(), sqlx::Error> {
    db_run!(tx, c => sqlx::query("UPDATE signin_throttle SET blocked_until = $1 WHERE key = $2").bind(until).bind(key).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records a failed attempt for a username and an IP.
pub async fn record_failure(
    tx: &mut Tx,
    cfg: &SigninConfig,
    user: &str,
    ip: &str,
    now: i64,
) -> Result<FailureOutcome, sqlx::Error> {
    let window = cfg.failure_window.secs();
    let failures = bump(tx, user, now, window).await?;
    let mut locked = false;
    if failures >= i64::from(cfg.max_failures) {
        block(tx, user, now + cfg.lockout.secs()).await?;
        locked = failures == i64::from(cfg.max_failures);
    } else if failures >= i64::from(cfg.delay_after) {
        let step = u32::try_from(failures - i64::from(cfg.delay_after)).unwrap_or(u32::MAX).min(30);
        let delay = (1i64 << step).min(cfg.max_delay.secs());
        block(tx, user, now + delay).await?;
    }
    let ip_failures = bump(tx, ip, now, window).await?;
    if ip_failures >= i64::from(cfg.ip_max_failures) {
        block(tx, ip, now + window).await?;
        locked |= ip_failures == i64::from(cfg.ip_max_failures);
    }
    Ok(FailureOutcome { failures, locked })
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

/// Attempts in flight per username on this instance.
#[derive(Debug, Default)]
pub struct Inflight {
    counts: Arc<Mutex<HashMap<String, u32>>>,
}

/// An attempt in flight; dropping it (on every path out, errors included) ends it.
#[derive(Debug)]
pub struct Attempt {
    key: String,
    counts: Arc<Mutex<HashMap<String, u32>>>,
    /// Attempts in flight when this one entered, itself included. Taken at entry, not at the
    /// check: one that ends between this attempt's read of the counters and its check would
    /// otherwise leave the count lower than the failures that read saw.
    position: u32,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if let Ok(mut m) = self.counts.lock()
            && let Some(n) = m.get_mut(&self.key)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

impl Inflight {
    /// Starts an attempt for `user` (a [`user_key`]). Enter before reading the counters: an
    /// attempt that ended earlier has committed its failure by then, and one still running is
    /// counted here, so [`Attempt::within_budget`] sees them all.
    pub fn enter(&self, user: &str) -> Attempt {
        let position = match self.counts.lock() {
            Ok(mut m) => {
                let n = m.entry(user.to_string()).or_insert(0);
                *n += 1;
                *n
            }
            Err(_) => u32::MAX,
        };
        Attempt { key: user.to_string(), counts: self.counts.clone(), position }
    }
}

impl Attempt {
    /// Whether this attempt may be checked, given the username's `failures` on record: no more
    /// attempts may be in flight than it may still fail before the next delay (at least one
    /// while it is not locked).
    pub fn within_budget(&self, cfg: &SigninConfig, failures: i64) -> bool {
        let to_lockout = i64::from(cfg.max_failures) - failures;
        let to_delay = (i64::from(cfg.delay_after) - failures).max(1);
        i64::from(self.position) <= to_lockout.min(to_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_attempts_are_bounded_by_the_remaining_budget() {
        let cfg = SigninConfig::default(); // delay after 3, lock at 10
        let f = Inflight::default();
        let held: Vec<Attempt> = (0..3).map(|_| f.enter("user:a")).collect();
        assert!(held.iter().all(|a| a.within_budget(&cfg, 0)), "three may be checked at once before the first delay");
        let fourth = f.enter("user:a");
        assert!(!fourth.within_budget(&cfg, 0));
        assert!(f.enter("user:b").within_budget(&cfg, 0), "other usernames are unaffected");
        drop(fourth);
        drop(held);
        let one = f.enter("user:a");
        assert!(one.within_budget(&cfg, 5), "one at a time once delays apply");
        assert!(!f.enter("user:a").within_budget(&cfg, 5));
        drop(one);
        assert!(!f.enter("user:a").within_budget(&cfg, 10), "none once locked");
        let early: Vec<Attempt> = (0..3).map(|_| f.enter("user:c")).collect();
        let late = f.enter("user:c");
        drop(early);
        assert!(!late.within_budget(&cfg, 0), "counted as the fourth, whatever ended since it entered");
        drop(late);
        assert!(f.counts.lock().expect("lock").is_empty(), "every attempt ends when dropped");
    }
}
