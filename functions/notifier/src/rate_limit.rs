//! Per-robot send rate shared by every notifier instance: at most N sends per calendar minute
//! per channel (DingTalk and WeCom allow 20 a minute per robot), counted in one small object
//! per channel and minute under `notifier/rate/` in the results bucket.
//!
//! A send takes a slot by incrementing its minute's counter with a conditional write (create
//! with `If-None-Match: *`, then `If-Match` on the ETag read), so concurrent instances cannot
//! both take the last slot: the loser re-reads and tries again, or moves on to the next minute.
//! A full minute sends the caller to the next one; it waits until then, or, when that is after
//! its deadline, gives up for now (the record is retried), so nothing is dropped. A slot whose
//! send then fails stays used: the limit errs on the side of the robot.

use std::time::Duration;

use futures::future::BoxFuture;
use rand::Rng;
use serde::{Deserialize, Serialize};
use shared::results::{ObjectStore, WriteCondition, WriteOutcome};
use time::OffsetDateTime;

use crate::ports::{Clock, SendSlots};

/// Where the counters live in the results bucket (give the prefix a short lifecycle expiry).
pub const RATE_PREFIX: &str = "notifier/rate/";

/// Conditional writes lost in a row before the caller is told to retry later.
const MAX_CONFLICTS: u32 = 50;

#[derive(Serialize, Deserialize)]
struct Counter {
    sent: u32,
}

/// The limits of every channel, over an [`ObjectStore`].
pub struct SharedRateLimit<S, C> {
    store: S,
    clock: C,
    window: Duration,
}

impl<S: ObjectStore, C: Clock> SharedRateLimit<S, C> {
    /// Windows of one minute, as the chat services count.
    pub fn per_minute(store: S, clock: C) -> Self {
        Self::new(store, clock, Duration::from_secs(60))
    }

    /// Windows of `window` (tests use seconds).
    pub fn new(store: S, clock: C, window: Duration) -> Self {
        Self {
            store,
            clock,
            window: window.max(Duration::from_millis(1)),
        }
    }

    fn window_index(&self, t: OffsetDateTime) -> i128 {
        t.unix_timestamp_nanos() / self.window.as_nanos() as i128
    }

    fn window_start(&self, index: i128) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(index * self.window.as_nanos() as i128)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    async fn take(
        &self,
        channel: &str,
        limit: u32,
        latest: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, String> {
        let limit = limit.max(1);
        let now = self.clock.now();
        let mut index = self.window_index(now);
        let mut conflicts = 0;
        loop {
            let start = self.window_start(index);
            if start > latest {
                return Ok(None);
            }
            let key = format!("{RATE_PREFIX}{channel}/{index}");
            let current = self.store.get(&key).await.map_err(|e| e.reason)?;
            let (sent, etag) = match &current {
                Some(object) => {
                    let counter: Counter = serde_json::from_slice(&object.body)
                        .map_err(|e| format!("rate counter {key} is unreadable: {e}"))?;
                    (counter.sent, object.etag.clone())
                }
                None => (0, None),
            };
            if sent >= limit {
                index += 1;
                continue;
            }
            let condition = match (&current, etag.as_deref()) {
                (None, _) => WriteCondition::Absent,
                (Some(_), Some(etag)) => WriteCondition::Matches(etag),
                (Some(_), None) => return Err(format!("rate counter {key} has no ETag")),
            };
            let body = serde_json::to_vec(&Counter { sent: sent + 1 }).expect("serialises");
            match self
                .store
                .put(&key, body, "application/json", condition)
                .await
                .map_err(|e| e.reason)?
            {
                WriteOutcome::Written { .. } => return Ok(Some(start.max(now))),
                WriteOutcome::ConditionFailed | WriteOutcome::ConcurrentWrite => {
                    conflicts += 1;
                    if conflicts >= MAX_CONFLICTS {
                        return Err(format!(
                            "rate counter {key}: {conflicts} concurrent writers in a row"
                        ));
                    }
                    // Another instance took a slot first: read again after a short pause, so
                    // a crowd of instances does not retry in lockstep.
                    let pause = rand::rng().random_range(1..=20);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            }
        }
    }
}

impl<S: ObjectStore, C: Clock> SendSlots for SharedRateLimit<S, C> {
    fn reserve<'a>(
        &'a self,
        channel: &'a str,
        per_minute: u32,
        latest: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Option<OffsetDateTime>, String>> {
        Box::pin(self.take(channel, per_minute, latest))
    }
}

#[cfg(test)]
mod tests {
    use shared::testkit::{ManualClock, MemoryObjectStore};
    use time::macros::datetime;

    use super::*;

    #[tokio::test]
    async fn a_full_minute_sends_the_caller_to_the_next_and_a_late_deadline_gets_none() {
        let clock = ManualClock::at(datetime!(2026-11-30 10:00:30 UTC));
        let limits = SharedRateLimit::per_minute(MemoryObjectStore::default(), clock.clone());
        let far = datetime!(2026-11-30 11:00 UTC);
        let mut slots = Vec::new();
        for _ in 0..7 {
            slots.push(limits.take("ops", 3, far).await.unwrap().unwrap());
        }
        assert_eq!(
            slots,
            vec![
                datetime!(2026-11-30 10:00:30 UTC),
                datetime!(2026-11-30 10:00:30 UTC),
                datetime!(2026-11-30 10:00:30 UTC),
                datetime!(2026-11-30 10:01 UTC),
                datetime!(2026-11-30 10:01 UTC),
                datetime!(2026-11-30 10:01 UTC),
                datetime!(2026-11-30 10:02 UTC),
            ]
        );
        // The next free minute starts at 10:02 (one slot left there) then 10:03; a caller that
        // must send by 10:02:30 gets 10:02's last slot, the next one none.
        let by = datetime!(2026-11-30 10:02:30 UTC);
        assert!(limits.take("ops", 3, by).await.unwrap().is_some());
        assert!(limits.take("ops", 3, by).await.unwrap().is_some());
        assert_eq!(limits.take("ops", 3, by).await.unwrap(), None);
        // Other channels have their own counters.
        assert_eq!(
            limits.take("mail", 3, by).await.unwrap(),
            Some(datetime!(2026-11-30 10:00:30 UTC))
        );
    }

    #[tokio::test]
    async fn concurrent_takers_never_share_a_slot() {
        let store = MemoryObjectStore::default();
        let clock = ManualClock::at(datetime!(2026-11-30 10:00:00 UTC));
        let limits = SharedRateLimit::per_minute(store.clone(), clock);
        let far = datetime!(2026-11-30 12:00 UTC);
        let takes = (0..40).map(|_| limits.take("ops", 20, far));
        let slots: Vec<OffsetDateTime> = futures::future::join_all(takes)
            .await
            .into_iter()
            .map(|r| r.unwrap().unwrap())
            .collect();
        let first = slots
            .iter()
            .filter(|s| **s < datetime!(2026-11-30 10:01 UTC))
            .count();
        assert_eq!((first, slots.len()), (20, 40));
    }
}
