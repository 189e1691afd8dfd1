//! The routing document in S3, read on first use rather than at init, then checked again once
//! its TTL has passed: an unchanged object (same ETag) is not parsed again, a changed one takes
//! effect, and a broken one is reported while the last good rules stay in force.

use std::sync::Arc;
use std::time::Duration;

use shared::config::ConfigError;
use shared::results::ObjectStore;
use time::OffsetDateTime;

use crate::notifier::Notifier;
use crate::ports::Clock;
use crate::routing::Routing;

/// Turns validated rules into a notifier (adapters, loop check); no network.
pub type BuildNotifier = Box<dyn Fn(Routing) -> Result<Notifier, ConfigError> + Send + Sync>;

struct Loaded {
    notifier: Arc<Notifier>,
    etag: Option<String>,
    checked_at: OffsetDateTime,
}

/// What the last check found, for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Served from memory, within the TTL.
    Fresh,
    /// The object has the ETag already loaded.
    Unchanged,
    /// New rules were read and are in force.
    Reloaded,
    /// The object could not be read or is not valid; the last good rules stay in force.
    KeptLastGood(String),
}

pub struct RulesCache<S, C> {
    store: S,
    bucket: String,
    key: String,
    ttl: Duration,
    clock: C,
    build: BuildNotifier,
    state: tokio::sync::Mutex<Option<Loaded>>,
}

impl<S: ObjectStore, C: Clock> RulesCache<S, C> {
    pub fn new(
        store: S,
        bucket: String,
        key: String,
        ttl: Duration,
        clock: C,
        build: BuildNotifier,
    ) -> Self {
        Self {
            store,
            bucket,
            key,
            ttl,
            clock,
            build,
            state: tokio::sync::Mutex::new(None),
        }
    }

    async fn read(&self, known_etag: Option<&str>) -> Result<Option<Notifier>, ConfigError> {
        let (bucket, key) = (&self.bucket, &self.key);
        let unreadable = |why: String| {
            ConfigError::single(format!(
                "routing rules s3://{bucket}/{key} could not be read: {why}"
            ))
        };
        let object = self
            .store
            .get(key)
            .await
            .map_err(|e| unreadable(e.reason))?
            .ok_or_else(|| unreadable("no such object".into()))?;
        if object.etag.is_some() && object.etag.as_deref() == known_etag {
            return Ok(None);
        }
        let text = String::from_utf8(object.body)
            .map_err(|_| unreadable("the object is not UTF-8".into()))?;
        let notifier = (self.build)(Routing::parse(&text)?)?;
        Ok(Some(notifier.with_rules_version(object.etag)))
    }

    /// The notifier of the rules in force, and what this call found. An error only when no
    /// rules were ever loaded.
    pub async fn current(&self) -> Result<(Arc<Notifier>, Check), ConfigError> {
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        if let Some(loaded) = state.as_ref() {
            if now - loaded.checked_at < self.ttl {
                return Ok((loaded.notifier.clone(), Check::Fresh));
            }
        }
        let known = state.as_ref().and_then(|l| l.etag.clone());
        match (self.read(known.as_deref()).await, state.as_mut()) {
            (Ok(Some(notifier)), _) => {
                let notifier = Arc::new(notifier);
                *state = Some(Loaded {
                    etag: notifier.rules_version().map(str::to_string),
                    notifier: notifier.clone(),
                    checked_at: now,
                });
                Ok((notifier, Check::Reloaded))
            }
            (Ok(None), Some(loaded)) => {
                loaded.checked_at = now;
                Ok((loaded.notifier.clone(), Check::Unchanged))
            }
            (Err(problem), Some(loaded)) => {
                // Checked again after another TTL, not on every record.
                loaded.checked_at = now;
                Ok((
                    loaded.notifier.clone(),
                    Check::KeptLastGood(problem.to_string()),
                ))
            }
            (Ok(None), None) => Err(ConfigError::single(
                "routing rules unchanged but never loaded",
            )),
            (Err(problem), None) => Err(problem),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use shared::results::WriteCondition;
    use shared::testkit::{ManualClock, MemoryObjectStore};
    use time::macros::datetime;

    use super::*;
    use crate::config::DeliveryTuning;
    use crate::ports::{NotificationChannel, SystemClock};
    use crate::rate_limit::SharedRateLimit;

    struct Nowhere;
    impl NotificationChannel for Nowhere {
        fn send<'a>(
            &'a self,
            _: crate::ports::Attempt<'a>,
        ) -> futures::future::BoxFuture<'a, Result<(), crate::ports::DeliveryError>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn builder() -> BuildNotifier {
        Box::new(|routing: Routing| {
            let adapters: HashMap<String, Arc<dyn NotificationChannel>> = routing
                .channels
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        Arc::new(Nowhere) as Arc<dyn NotificationChannel>,
                    )
                })
                .collect();
            Notifier::new(
                routing,
                adapters,
                DeliveryTuning::default(),
                Arc::new(SystemClock),
                Arc::new(SharedRateLimit::per_minute(
                    MemoryObjectStore::default(),
                    SystemClock,
                )),
            )
        })
    }

    fn rules(channel: &str) -> Vec<u8> {
        format!(
            r#"{{"channels": {{"{channel}": {{"kind": "webhook", "secret_id": "s"}}}},
                "rules": [{{"types": ["*"], "channels": ["{channel}"]}}]}}"#
        )
        .into_bytes()
    }

    fn channel(n: &Notifier) -> String {
        n.routing().channels[0].name.clone()
    }

    async fn put(store: &MemoryObjectStore, body: Vec<u8>) {
        store
            .put(
                "config/rules.json",
                body,
                "application/json",
                WriteCondition::Always,
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn rules_are_read_on_first_use_kept_for_the_ttl_then_reloaded_when_changed() {
        let store = MemoryObjectStore::default();
        let clock = ManualClock::at(datetime!(2026-11-30 10:00 UTC));
        let cache = RulesCache::new(
            store.clone(),
            "config".into(),
            "config/rules.json".into(),
            Duration::from_secs(60),
            clock.clone(),
            builder(),
        );
        assert!(cache
            .current()
            .await
            .err()
            .unwrap()
            .to_string()
            .contains("no such object"));
        put(&store, rules("first")).await;
        let (n, check) = cache.current().await.unwrap();
        assert_eq!((channel(&n), check), ("first".to_string(), Check::Reloaded));

        put(&store, rules("second")).await;
        clock.advance(Duration::from_secs(30));
        let (n, check) = cache.current().await.unwrap();
        assert_eq!((channel(&n), check), ("first".to_string(), Check::Fresh));

        clock.advance(Duration::from_secs(31));
        let (n, check) = cache.current().await.unwrap();
        assert_eq!(
            (channel(&n), check),
            ("second".to_string(), Check::Reloaded)
        );

        clock.advance(Duration::from_secs(61));
        let (_, check) = cache.current().await.unwrap();
        assert_eq!(check, Check::Unchanged);
    }

    #[tokio::test]
    async fn a_broken_new_file_keeps_the_last_good_rules_and_says_why() {
        let store = MemoryObjectStore::default();
        let clock = ManualClock::at(datetime!(2026-11-30 10:00 UTC));
        let cache = RulesCache::new(
            store.clone(),
            "config".into(),
            "config/rules.json".into(),
            Duration::from_secs(60),
            clock.clone(),
            builder(),
        );
        put(&store, rules("good")).await;
        cache.current().await.unwrap();
        put(
            &store,
            br#"{"channels": {"x": {"kind": "fax"}}, "rules": []}"#.to_vec(),
        )
        .await;
        clock.advance(Duration::from_secs(61));
        let (n, check) = cache.current().await.unwrap();
        assert_eq!(channel(&n), "good");
        let Check::KeptLastGood(why) = check else {
            panic!("{check:?}")
        };
        assert!(why.contains("kind \"fax\" is not known"), "{why}");
        // Not re-read on every call: the next check is a TTL later.
        assert_eq!(cache.current().await.unwrap().1, Check::Fresh);
    }
}
