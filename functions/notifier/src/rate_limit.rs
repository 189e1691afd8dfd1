//! Per-channel send rate: at most N messages in any 60-second window (DingTalk and WeCom
//! allow 20 per minute per robot). A sender waits for its slot, or gives up when the slot
//! comes after its deadline; nothing is dropped.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub struct RateLimiter {
    per_window: usize,
    window: Duration,
    /// Start times of sends (past and reserved), ascending.
    slots: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            per_window: limit.max(1) as usize,
            window,
            slots: Mutex::new(VecDeque::new()),
        }
    }

    /// Reserves the earliest send time at or after `now` that keeps the limit, if it is no
    /// later than `latest`. The caller sleeps until the returned instant.
    pub fn reserve(&self, now: Instant, latest: Instant) -> Option<Instant> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        while slots.front().is_some_and(|&s| s + self.window <= now) {
            slots.pop_front();
        }
        let slot = if slots.len() < self.per_window {
            now
        } else {
            // The send `per_window` places back must have left the window.
            (slots[slots.len() - self.per_window] + self.window).max(now)
        };
        if slot > latest {
            return None;
        }
        let slot = slots.back().map_or(slot, |&last| slot.max(last));
        slots.push_back(slot);
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_in_every_window_and_late_slots_are_refused() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(3600);
        let slots: Vec<Duration> = (0..7)
            .map(|_| limiter.reserve(t0, far).unwrap() - t0)
            .collect();
        let s = Duration::from_secs;
        assert_eq!(slots, vec![s(0), s(0), s(0), s(60), s(60), s(60), s(120)]);
        // The next slot is at 120 s: a caller that must finish within 100 s is refused, and
        // the refusal reserves nothing.
        assert_eq!(limiter.reserve(t0, t0 + s(100)), None);
        assert_eq!(limiter.reserve(t0, far).map(|i| i - t0), Some(s(120)));
        // Once the window has moved on, sends go at once again.
        let later = t0 + s(500);
        assert_eq!(limiter.reserve(later, far), Some(later));
    }
}
