//! Announcing a threshold crossing once per budget, period and threshold.
//!
//! The publish goes through `shared::idempotency` (`once` on `<budget>/<period>/<threshold>`,
//! markers under [`CLAIMS_PREFIX`]): of overlapping runs one publishes and the others report
//! `in-progress`; a refused publish releases the claim, so the next run announces it; a claim
//! whose run died is taken over once its lease (`IDEMPOTENCY_LEASE_SECONDS`) has ended, so no
//! crossing is lost. Only after the publish succeeded is the crossing recorded as announced in
//! `cost-guard/state/<budget>/<period>.json`, which keeps the highest threshold announced, so
//! a lower threshold is not announced after a higher one. The one case announced twice: the
//! run dies between the publish and the done-marker; after the lease the event is published
//! again with the same event id (consumers de-duplicate on it).

use serde::{Deserialize, Serialize};
use shared::events::{Envelope, EventPublisher};
use shared::idempotency::{once, IdempotencyStore, Once};
use shared::results::ObjectStore;
use time::OffsetDateTime;

use crate::error::GuardError;
use crate::state::{self, Written};

/// Where the idempotency markers of announcements live.
pub const CLAIMS_PREFIX: &str = "cost-guard/claims/";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ThresholdState {
    budget: String,
    period: String,
    /// Highest threshold announced in this period.
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
    /// Reached, but this or a higher threshold was already announced in this period.
    AlreadyAnnounced,
    /// Reached and not yet announced, but the invocation is a read-only report.
    WouldAnnounce,
    /// Reached; another run is announcing it (its claim's lease has not ended).
    InProgress,
}

pub fn state_key(budget_id: &str, period: &str) -> String {
    format!("cost-guard/state/{budget_id}/{period}.json")
}

/// Attempts of the read / conditional-write cycle before giving up on a contended key.
const ATTEMPTS: usize = 4;

/// One crossing to announce.
pub struct Crossing<'a> {
    pub budget_id: &'a str,
    pub period: &'a str,
    pub level: u32,
    pub event: &'a Envelope,
}

/// Announces `crossing` unless this or a higher threshold was announced for its budget and
/// period, or another run is announcing it now. Returns what happened and the threshold
/// announced before this run.
pub async fn announce_once<S, I, P>(
    store: &S,
    claims: &I,
    publisher: &P,
    crossing: &Crossing<'_>,
    read_only: bool,
    now: OffsetDateTime,
) -> Result<(Announcement, Option<u32>), GuardError>
where
    S: ObjectStore,
    I: IdempotencyStore,
    P: EventPublisher,
{
    let key = state_key(crossing.budget_id, crossing.period);
    let stored = state::read::<ThresholdState, S>(store, &key).await?;
    let previous = stored.and_then(|s| s.doc.level);
    if previous.is_some_and(|announced| announced >= crossing.level) {
        return Ok((Announcement::AlreadyAnnounced, previous));
    }
    if read_only {
        return Ok((Announcement::WouldAnnounce, previous));
    }
    let claim = format!(
        "{}/{}/{}",
        crossing.budget_id, crossing.period, crossing.level
    );
    let published = once(claims, &claim, || async {
        publisher
            .publish(crossing.event)
            .await
            .map_err(GuardError::from)
    })
    .await?;
    let announcement = match published {
        Once::Done(()) => Announcement::Announced,
        // Announced by an earlier run whose state write did not land: repair the state.
        Once::AlreadyDone => Announcement::AlreadyAnnounced,
        Once::InProgress => {
            tracing::info!(%claim, "another run is announcing this crossing");
            return Ok((Announcement::InProgress, previous));
        }
    };
    if let Err(e) = record_announced(store, &key, crossing, now).await {
        tracing::error!(%key, error = %e, "announced, but could not record it; the next run records it without announcing again");
    }
    Ok((announcement, previous))
}

/// Raises the level in the state document to the crossing's, unless it is higher already.
async fn record_announced<S: ObjectStore>(
    store: &S,
    key: &str,
    crossing: &Crossing<'_>,
    now: OffsetDateTime,
) -> Result<(), GuardError> {
    let announced = ThresholdState {
        budget: crossing.budget_id.to_string(),
        period: crossing.period.to_string(),
        level: Some(crossing.level),
        event_id: Some(crossing.event.id.clone()),
        updated_at: shared::time::rfc3339(now),
    };
    for _ in 0..ATTEMPTS {
        let written = match state::read::<ThresholdState, S>(store, key).await? {
            Some(s) if s.doc.level >= Some(crossing.level) => return Ok(()),
            Some(s) => state::replace(store, key, &announced, &s.etag).await?,
            None => state::create(store, key, &announced).await?,
        };
        if let Written::Done(_) = written {
            return Ok(());
        }
    }
    Err(GuardError::State(format!(
        "{key} kept changing under concurrent runs; gave up after {ATTEMPTS} attempts"
    )))
}
