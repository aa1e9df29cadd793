//! Per-key token buckets, in process (each instance limits on its own), on the injected clock.
//!
//! Used for what anyone can call without credentials and what costs the server work or a
//! database row: the sign-in steps, per client IP. The failure throttle in `authn::throttle`
//! counts wrong credentials; this limits the raw request rate, right or wrong.

use std::collections::HashMap;
use std::sync::Mutex;

/// Keys tracked before the idle ones are forgotten (bounds memory under a flood of addresses).
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
}

/// A token bucket per key: `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second: f64::from(per_second), burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key` at `now` (Unix seconds); `Err(seconds)` says how long to wait.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            // Forget keys that have refilled completely: they are the same as new ones.
            let full_after = (self.burst / self.per_second).ceil() as i64;
            buckets.retain(|_, b| now - b.at < full_after);
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket { tokens: self.burst, at: now });
        let elapsed = (now - b.at).max(0) as f64;
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.per_second).ceil().max(1.0) as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let r = RateLimiter::new(2, 3);
        assert!((0..3).all(|_| r.check("ip:a", 100).is_ok()), "the burst");
        assert_eq!(r.check("ip:a", 100), Err(1));
        assert!(r.check("ip:b", 100).is_ok(), "keys are separate");
        assert!(r.check("ip:a", 101).is_ok() && r.check("ip:a", 101).is_ok(), "two a second come back");
        assert!(r.check("ip:a", 101).is_err());
        assert!((0..3).all(|_| r.check("ip:a", 200).is_ok()), "never more than the burst after a pause");
        assert!(r.check("ip:a", 200).is_err());
    }

    #[test]
    fn zero_rate_means_no_limit() {
        let r = RateLimiter::new(0, 1);
        assert!((0..100).all(|_| r.check("k", 1).is_ok()));
    }
}
