//! One channel, one notification: attempts with exponential backoff and full jitter inside
//! the invocation's deadline, honouring `Retry-After` and the channel's rate limit.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::config::DeliveryTuning;
use crate::ports::{Attempt, Clock, DeliveryError, FailureKind, NotificationChannel, SendSlots};

/// How delivering to one channel ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered {
        attempts: u32,
    },
    /// The service refused for good (bad URL, 4xx, a non-retryable code).
    Rejected {
        attempts: u32,
        reason: String,
    },
    /// Still failing for a retryable reason when attempts or time ran out.
    GaveUp {
        attempts: u32,
        reason: String,
    },
}

impl Delivery {
    pub fn attempts(&self) -> u32 {
        match self {
            Delivery::Delivered { attempts }
            | Delivery::Rejected { attempts, .. }
            | Delivery::GaveUp { attempts, .. } => *attempts,
        }
    }
}

/// Full jitter: a random wait in `[0, min(cap, base * 2^(n-1))]` after the n-th attempt.
pub fn backoff(tuning: &DeliveryTuning, attempt: u32) -> Duration {
    let exp = tuning
        .backoff_base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let ceiling = exp.min(tuning.max_backoff);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// A channel's send rate: its shared slots and its per-minute limit.
#[derive(Clone, Copy)]
pub struct Throttle<'a> {
    pub slots: &'a dyn SendSlots,
    pub channel: &'a str,
    pub per_minute: u32,
}

/// Delivers with retries until `deadline` (the latest instant an attempt may still run).
pub async fn deliver(
    channel: &dyn NotificationChannel,
    attempt: Attempt<'_>,
    throttle: Option<Throttle<'_>>,
    tuning: &DeliveryTuning,
    clock: &dyn Clock,
    deadline: Instant,
) -> Delivery {
    // Not worth starting an attempt with less time than this.
    let shortest_attempt = tuning.attempt_timeout.min(Duration::from_millis(500));
    let mut attempts = 0;
    loop {
        let latest_start = deadline.checked_sub(shortest_attempt).unwrap_or(deadline);
        if let Some(t) = throttle {
            let now = clock.now();
            let latest = now + latest_start.saturating_duration_since(Instant::now());
            match t.slots.reserve(t.channel, t.per_minute, latest).await {
                Ok(Some(slot)) => {
                    let wait = Duration::try_from(slot - clock.now()).unwrap_or(Duration::ZERO);
                    tokio::time::sleep(wait).await;
                }
                Ok(None) => {
                    return Delivery::GaveUp {
                        attempts,
                        reason: "rate limit: no send slot before the invocation deadline".into(),
                    }
                }
                Err(reason) => {
                    return Delivery::GaveUp {
                        attempts,
                        reason: format!("rate limit: {reason}"),
                    }
                }
            }
        }
        let now = Instant::now();
        if now >= latest_start {
            return Delivery::GaveUp {
                attempts,
                reason: "no time left in this invocation".into(),
            };
        }
        attempts += 1;
        let timeout = tuning.attempt_timeout.min(deadline - now);
        let this_attempt = Attempt {
            now: clock.now(),
            timeout,
            ..attempt.clone()
        };
        let error = match tokio::time::timeout(timeout, channel.send(this_attempt)).await {
            Ok(Ok(())) => return Delivery::Delivered { attempts },
            Ok(Err(e)) if e.kind == FailureKind::Permanent => {
                return Delivery::Rejected {
                    attempts,
                    reason: e.reason,
                }
            }
            Ok(Err(e)) => e,
            Err(_) => {
                DeliveryError::retryable(format!("timed out after {} ms", timeout.as_millis()))
            }
        };
        if attempts >= tuning.max_attempts {
            return Delivery::GaveUp {
                attempts,
                reason: error.reason,
            };
        }
        let wait = backoff(tuning, attempts).max(error.retry_after.unwrap_or_default());
        if Instant::now()
            .checked_add(wait)
            .is_none_or(|next| next >= latest_start)
        {
            return Delivery::GaveUp {
                attempts,
                reason: format!(
                    "{} (next attempt in {} ms would pass the invocation deadline)",
                    error.reason,
                    wait.as_millis()
                ),
            };
        }
        tracing::info!(attempt = attempts, wait_ms = wait.as_millis() as u64, reason = %error.reason, "delivery attempt failed; retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use futures::future::BoxFuture;
    use shared::events::{Envelope, Severity};

    use super::*;
    use crate::language::Language;

    /// Answers attempts from a script, counting them.
    struct Scripted {
        script: Mutex<Vec<Result<(), DeliveryError>>>,
        calls: AtomicU32,
    }

    impl Scripted {
        fn new(mut script: Vec<Result<(), DeliveryError>>) -> Self {
            script.reverse();
            Self {
                script: Mutex::new(script),
                calls: AtomicU32::new(0),
            }
        }
    }

    impl NotificationChannel for Scripted {
        fn send<'a>(&'a self, _: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let next = self.script.lock().unwrap().pop().unwrap_or(Ok(()));
            Box::pin(async move { next })
        }
    }

    fn tuning() -> DeliveryTuning {
        DeliveryTuning {
            attempt_timeout: Duration::from_millis(500),
            max_attempts: 4,
            backoff_base: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            safety_margin: Duration::ZERO,
        }
    }

    async fn run(channel: &Scripted, throttle: Option<Throttle<'_>>, budget: Duration) -> Delivery {
        let envelope = Envelope::new(
            "media.failed",
            "t",
            "s",
            Severity::Warning,
            "",
            serde_json::Value::Null,
        );
        let notification = crate::render::render(
            &envelope,
            Language::En,
            &shared::time::BusinessTimeZone::utc(),
        );
        let attempt = Attempt {
            envelope: &envelope,
            notification: &notification,
            timeout: Duration::from_millis(500),
            idempotency_key: "k",
            now: time::OffsetDateTime::UNIX_EPOCH,
        };
        deliver(
            channel,
            attempt,
            throttle,
            &tuning(),
            &crate::ports::SystemClock,
            Instant::now() + budget,
        )
        .await
    }

    #[tokio::test]
    async fn retryable_failures_are_retried_until_success() {
        let ch = Scripted::new(vec![
            Err(DeliveryError::retryable("503")),
            Err(DeliveryError::retryable("timeout")),
            Ok(()),
        ]);
        assert_eq!(
            run(&ch, None, Duration::from_secs(5)).await,
            Delivery::Delivered { attempts: 3 }
        );
    }

    #[tokio::test]
    async fn permanent_failures_are_not_retried() {
        let ch = Scripted::new(vec![Err(DeliveryError::permanent("HTTP 404: no_service"))]);
        assert_eq!(
            run(&ch, None, Duration::from_secs(5)).await,
            Delivery::Rejected {
                attempts: 1,
                reason: "HTTP 404: no_service".into()
            }
        );
        assert_eq!(ch.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let ch = Scripted::new(
            (0..10)
                .map(|_| Err(DeliveryError::retryable("503")))
                .collect(),
        );
        assert_eq!(
            run(&ch, None, Duration::from_secs(5)).await,
            Delivery::GaveUp {
                attempts: 4,
                reason: "503".into()
            }
        );
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_deadline_gives_up_at_once() {
        let ch =
            Scripted::new(vec![Err(DeliveryError::retryable("HTTP 429")
                .with_retry_after(Some(Duration::from_secs(30))))]);
        let started = std::time::Instant::now();
        let result = run(&ch, None, Duration::from_secs(2)).await;
        assert!(
            matches!(&result, Delivery::GaveUp { attempts: 1, reason } if reason.contains("would pass the invocation deadline")),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_short_retry_after_is_waited_for() {
        let ch = Scripted::new(vec![
            Err(DeliveryError::retryable("HTTP 429")
                .with_retry_after(Some(Duration::from_millis(300)))),
            Ok(()),
        ]);
        let started = std::time::Instant::now();
        assert_eq!(
            run(&ch, None, Duration::from_secs(5)).await,
            Delivery::Delivered { attempts: 2 }
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn a_rate_limited_channel_waits_for_its_slot_or_gives_up_without_sending() {
        let limits = crate::rate_limit::SharedRateLimit::new(
            shared::testkit::MemoryObjectStore::default(),
            crate::ports::SystemClock,
            Duration::from_millis(300),
        );
        let limiter = Throttle {
            slots: &limits,
            channel: "ops",
            per_minute: 1,
        };
        let ch = Scripted::new(vec![]);
        assert_eq!(
            run(&ch, Some(limiter), Duration::from_secs(5)).await,
            Delivery::Delivered { attempts: 1 }
        );
        // The window is full: the second send waits for the next one.
        assert_eq!(
            run(&ch, Some(limiter), Duration::from_secs(5)).await,
            Delivery::Delivered { attempts: 1 }
        );
        // The next slot is 300 ms away, but only ~100 ms remain after the shortest attempt.
        let result = run(&ch, Some(limiter), Duration::from_millis(600)).await;
        assert!(
            matches!(&result, Delivery::GaveUp { attempts: 0, .. }),
            "{result:?}"
        );
        assert_eq!(ch.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let t = tuning();
        for attempt in 1..20 {
            let ceiling = (t.backoff_base * (1 << (attempt - 1).min(16))).min(t.max_backoff);
            assert!(backoff(&t, attempt) <= ceiling);
        }
    }
}
