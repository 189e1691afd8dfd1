//! Announcing each threshold crossing once per budget period.
//!
//! State: `cost-guard/state/<budget>/<period>.json` holds the highest level announced. A run
//! that finds a higher level first claims it: it writes the level as `pending` with a
//! conditional write (create with `If-None-Match: *`, or replace with `If-Match: <etag>`), so
//! of overlapping runs only one publishes; the losers re-read and find the claim. After
//! publishing, the level is confirmed as announced. If publishing fails, the claim is
//! released so the next run announces again. A claim that is neither confirmed nor released
//! (the run died, or a state write failed) is taken over once it is older than [`LEASE`]: a
//! crossing is never lost. The one case announced twice is a publish that succeeded whose
//! confirmation write failed: after the lease it is published again with the same event id.

use serde::{Deserialize, Serialize};
use shared::events::{Envelope, EventPublisher};
use time::OffsetDateTime;

use crate::error::GuardError;
use crate::ports::{StateStore, Written};

/// How long a claim (of an announcement or an action) belongs to the run that made it: longer
/// than a Lambda invocation can last (15 minutes), shorter than the schedule (6 hours).
pub const LEASE: time::Duration = time::Duration::minutes(20);

/// Whether a claim made at `claimed_at` (RFC 3339) has outlived [`LEASE`] at `now`. An
/// unreadable time counts as expired, so a damaged claim cannot block for ever.
pub fn lease_expired(claimed_at: &str, now: OffsetDateTime) -> bool {
    shared::time::parse_rfc3339_lenient(claimed_at).is_none_or(|at| now - at >= LEASE)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ThresholdState {
    budget: String,
    period: String,
    /// Highest level announced in this period; `None` when nothing is.
    level: Option<u32>,
    event_id: Option<String>,
    /// A higher level claimed by a run and not yet confirmed as published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<Pending>,
    updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    level: u32,
    event_id: String,
    claimed_at: String,
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
    /// Reached; another run claimed the announcement less than [`LEASE`] ago.
    InProgress,
}

pub fn state_key(budget_id: &str, period: &str) -> String {
    format!("cost-guard/state/{budget_id}/{period}.json")
}

/// Attempts of the read / conditional-write cycle before giving up on a contended key.
const ATTEMPTS: usize = 4;

/// Announces `event` for `level` unless this or a higher level was announced for
/// `budget_id` in `period`, or another run is announcing it now. Returns what happened and
/// the level announced before this run.
#[allow(clippy::too_many_arguments)]
pub async fn announce_once<S: StateStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    budget_id: &str,
    period: &str,
    level: u32,
    event: &Envelope,
    read_only: bool,
    now: OffsetDateTime,
) -> Result<(Announcement, Option<u32>), GuardError> {
    let key = state_key(budget_id, period);
    let to_body = |state: &ThresholdState| {
        serde_json::to_vec(state).map_err(|e| GuardError::State(e.to_string()))
    };
    for _ in 0..ATTEMPTS {
        let stored = store.read(&key).await?;
        let (state, version) = match &stored {
            None => (
                ThresholdState {
                    budget: budget_id.to_string(),
                    period: period.to_string(),
                    level: None,
                    event_id: None,
                    pending: None,
                    updated_at: shared::time::rfc3339(now),
                },
                None,
            ),
            Some(s) => {
                let state: ThresholdState = serde_json::from_slice(&s.body).map_err(|e| {
                    GuardError::State(format!("{key} is not a threshold state document: {e}"))
                })?;
                (state, Some(s.version.clone()))
            }
        };
        if state.level.is_some_and(|announced| announced >= level) {
            return Ok((Announcement::AlreadyAnnounced, state.level));
        }
        if read_only {
            return Ok((Announcement::WouldAnnounce, state.level));
        }
        if let Some(pending) = &state.pending {
            if pending.level >= level && !lease_expired(&pending.claimed_at, now) {
                tracing::info!(%key, level = pending.level, "another run is announcing this crossing");
                return Ok((Announcement::InProgress, state.level));
            }
        }
        let released = ThresholdState {
            pending: None,
            updated_at: shared::time::rfc3339(now),
            ..state.clone()
        };
        let claimed = ThresholdState {
            pending: Some(Pending {
                level,
                event_id: event.id.clone(),
                claimed_at: shared::time::rfc3339(now),
            }),
            ..released.clone()
        };
        let written = match &version {
            None => store.create(&key, to_body(&claimed)?).await?,
            Some(v) => store.replace(&key, to_body(&claimed)?, v).await?,
        };
        let Written::Done(claim_version) = written else {
            tracing::info!(%key, "another run changed the threshold state first; re-reading");
            continue;
        };
        if let Err(publish_error) = publisher.publish(event).await {
            match store
                .replace(&key, to_body(&released)?, &claim_version)
                .await
            {
                Ok(Written::Done(_)) => {}
                outcome => {
                    tracing::error!(%key, ?outcome, "could not release the claim; a run after the lease announces it")
                }
            }
            return Err(publish_error.into());
        }
        let announced = ThresholdState {
            level: Some(level),
            event_id: Some(event.id.clone()),
            ..released
        };
        match store
            .replace(&key, to_body(&announced)?, &claim_version)
            .await
        {
            Ok(Written::Done(_)) => {}
            outcome => {
                tracing::error!(%key, ?outcome, event_id = %event.id, "published, but could not confirm it; a run after the lease publishes it again with the same id")
            }
        }
        return Ok((Announcement::Announced, state.level));
    }
    Err(GuardError::State(format!(
        "{key} kept changing under concurrent runs; gave up after {ATTEMPTS} attempts"
    )))
}
