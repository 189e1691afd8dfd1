//! Announcing each threshold crossing once per budget period.
//!
//! State: `cost-guard/state/<budget>/<period>.json` holds the highest level announced. A run
//! that finds a higher level first writes the new level with a conditional write (create with
//! `If-None-Match: *`, or replace with `If-Match: <etag>`), and publishes only if that write
//! won; the loser re-reads and finds the level already announced. If publishing fails, the
//! previous level is written back so the next run announces again.

use serde::{Deserialize, Serialize};
use shared::events::{Envelope, EventPublisher};

use crate::ports::{StateStore, Written};
use crate::GuardError;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ThresholdState {
    budget: String,
    period: String,
    /// Highest level announced in this period; `None` when nothing is.
    level: Option<u32>,
    event_id: Option<String>,
    updated_at: String,
}

/// What happened to one budget's crossing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Announcement {
    /// No threshold reached.
    None,
    /// Reached, and announced by this run.
    Announced,
    /// Reached, but this or a higher level was already announced in this period.
    AlreadyAnnounced,
    /// Reached and not yet announced, but the invocation is a read-only report.
    WouldAnnounce,
}

pub fn state_key(budget_id: &str, period: &str) -> String {
    format!("cost-guard/state/{budget_id}/{period}.json")
}

/// Attempts of the read / conditional-write cycle before giving up on a contended key.
const ATTEMPTS: usize = 4;

/// Announces `event` for `level` unless this or a higher level was announced for
/// `budget_id` in `period`. Returns what happened and the level announced before this run.
pub async fn announce_once<S: StateStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    budget_id: &str,
    period: &str,
    level: u32,
    event: &Envelope,
    read_only: bool,
) -> Result<(Announcement, Option<u32>), GuardError> {
    let key = state_key(budget_id, period);
    for _ in 0..ATTEMPTS {
        let stored = store.read(&key).await?;
        let (previous, version) = match &stored {
            None => (None, None),
            Some(s) => {
                let state: ThresholdState = serde_json::from_slice(&s.body).map_err(|e| {
                    GuardError::State(format!("{key} is not a threshold state document: {e}"))
                })?;
                (Some(state), Some(s.version.clone()))
            }
        };
        let previous = previous.unwrap_or_else(|| ThresholdState {
            budget: budget_id.to_string(),
            period: period.to_string(),
            level: None,
            event_id: None,
            updated_at: shared::time::rfc3339(shared::time::now_utc()),
        });
        if previous.level.is_some_and(|announced| announced >= level) {
            return Ok((Announcement::AlreadyAnnounced, previous.level));
        }
        if read_only {
            return Ok((Announcement::WouldAnnounce, previous.level));
        }
        let next = ThresholdState {
            budget: budget_id.to_string(),
            period: period.to_string(),
            level: Some(level),
            event_id: Some(event.id.clone()),
            updated_at: shared::time::rfc3339(shared::time::now_utc()),
        };
        let body = serde_json::to_vec(&next).map_err(|e| GuardError::State(e.to_string()))?;
        let written = match &version {
            None => store.create(&key, body).await?,
            Some(v) => store.replace(&key, body, v).await?,
        };
        let Written::Done(new_version) = written else {
            tracing::info!(%key, "another run changed the threshold state first; re-reading");
            continue;
        };
        if let Err(publish_error) = publisher.publish(event).await {
            let rollback =
                serde_json::to_vec(&previous).map_err(|e| GuardError::State(e.to_string()))?;
            if let Err(e) = store.replace(&key, rollback, &new_version).await {
                tracing::error!(%key, error = %e, "could not roll back the threshold state; this crossing stays unannounced");
            }
            return Err(publish_error.into());
        }
        return Ok((Announcement::Announced, previous.level));
    }
    Err(GuardError::State(format!(
        "{key} kept changing under concurrent runs; gave up after {ATTEMPTS} attempts"
    )))
}
