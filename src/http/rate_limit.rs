//! Fixed-window rate limits, in process memory.
//!
//! Login is limited per account and per source address (redemption routes
//! join when they exist). Limits are per app instance; with several
//! instances the effective limit is that many times higher, which the
//! account lockout (in the database) backs up. Memory is bounded: at most
//! `KEYS_MAX` keys are tracked, and expired windows are dropped first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys tracked at once per limiter.
const KEYS_MAX: usize = 100_000;

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a hit for `key`; `Err(seconds)` to wait if over the limit.
    pub fn hit(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        // A poisoned lock only means another thread panicked mid-update of
        // counters; the counters are still usable.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= KEYS_MAX {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if windows.len() >= KEYS_MAX {
                // Under a flood of distinct keys, refuse rather than grow.
                return Err(self.window.as_secs().max(1));
            }
        }
        let slot = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(slot.0) >= self.window {
            *slot = (now, 0);
        }
        if slot.1 >= self.limit {
            let wait = self.window.saturating_sub(now.duration_since(slot.0));
            return Err(wait.as_secs().max(1));
        }
        slot.1 += 1;
        Ok(())
    }
}

/// The limiters the API uses.
pub struct RateLimits {
    pub login_per_account: RateLimiter,
    pub login_per_address: RateLimiter,
    /// Typed short codes, per provider (docs/token-format.md "Short codes").
    pub short_codes_per_provider: RateLimiter,
}

/// Short codes a provider may type per minute (per app instance).
pub const SHORT_CODES_PER_MINUTE: u32 = 10;

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            login_per_account: RateLimiter::new(10, Duration::from_secs(60)),
            login_per_address: RateLimiter::new(30, Duration::from_secs(60)),
            short_codes_per_provider: RateLimiter::new(
                SHORT_CODES_PER_MINUTE,
                Duration::from_secs(60),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_per_key_and_says_how_long_to_wait() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limiter.hit("a"), Ok(()));
        }
        let wait = limiter.hit("a").unwrap_err();
        assert!((1..=60).contains(&wait));
        assert_eq!(limiter.hit("b"), Ok(()));
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let limiter = RateLimiter::new(1, Duration::from_millis(0));
        assert_eq!(limiter.hit("a"), Ok(()));
        assert_eq!(limiter.hit("a"), Ok(()));
    }
}
