//! Pausing allow-listed resources at the action level, and restoring them.
//!
//! Each (would-be) action is recorded at `cost-guard/actions/<month>/<mode>/<resource>.json`,
//! created only if absent: one action per resource, mode and month, even with overlapping
//! runs. A later run takes over (only if the record is unchanged) the record of a failed
//! action (and retries it), of a claim older than the lease whose outcome was never written
//! (and pauses again: pausing keeps the first recorded previous state, so the effect is one),
//! and of an action whose `cost.action` event was not confirmed as published (and publishes
//! it, with the same event id). `restore` walks the enforced records still applied.
//!
//! The records are not `shared::idempotency` markers because they carry what a restore needs
//! (the previous setting, the outcome) and outlive the action: restore reads them back.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::events::contracts::cost::{ActionReason, CostAction};
use shared::events::{Envelope, EventPublisher, Severity};
use shared::results::ObjectStore;
use time::OffsetDateTime;

use crate::budgets::slug;
use crate::config::Mode;
use crate::error::GuardError;
use crate::ports::{
    ActionError, ActionTarget, PauseOutcome, Previous, RestoreOutcome, TaggedSetting,
};
use crate::resources::{Resource, ResourceKind};
use crate::state::{self, Written};
use crate::{tagged, SOURCE};

pub const ACTIONS_PREFIX: &str = "cost-guard/actions/";

/// The three adapters, routed by resource kind: Lambda and ECS through the tagged-setting
/// flow, App Runner by its own pause and resume.
pub struct Targets<L, E, A> {
    pub lambda: L,
    pub ecs: E,
    pub app_runner: A,
}

impl<L: TaggedSetting, E: TaggedSetting, A: ActionTarget> Targets<L, E, A> {
    async fn pause(&self, resource: &Resource) -> Result<PauseOutcome, ActionError> {
        match resource.kind {
            ResourceKind::LambdaFunction => tagged::pause(&self.lambda, resource).await,
            ResourceKind::EcsService => tagged::pause(&self.ecs, resource).await,
            ResourceKind::AppRunnerService => self.app_runner.pause(resource).await,
        }
    }

    async fn restore(
        &self,
        resource: &Resource,
        recorded: Option<&Previous>,
    ) -> Result<RestoreOutcome, ActionError> {
        match resource.kind {
            ResourceKind::LambdaFunction => tagged::restore(&self.lambda, resource, recorded).await,
            ResourceKind::EcsService => tagged::restore(&self.ecs, resource, recorded).await,
            ResourceKind::AppRunnerService => self.app_runner.restore(resource, recorded).await,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionStatus {
    /// Being acted on by a run.
    Claimed,
    WouldApply,
    Applied,
    /// The resource was not running; nothing was changed.
    NotRunning,
    Failed,
    Restored,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    pub resource: Resource,
    pub action: String,
    pub mode: Mode,
    pub period: String,
    pub status: ActionStatus,
    #[serde(default)]
    pub previous: Option<Previous>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub event_id: Option<String>,
    /// Whether the `cost.action` event (if the outcome has one) is confirmed as published;
    /// records written before this field existed count as announced.
    #[serde(default = "announced_by_default")]
    pub announced: bool,
    pub updated_at: String,
}

fn announced_by_default() -> bool {
    true
}

/// One line of the report's `actions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionReport {
    pub resource: String,
    pub kind: ResourceKind,
    pub action: String,
    pub mode: Mode,
    pub outcome: ActionOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionOutcome {
    Applied,
    WouldApply,
    /// This resource was already handled (in this mode) this month.
    AlreadyDone,
    NotRunning,
    Failed,
    Restored,
    NothingToRestore,
    /// A read-only report: the action level is reached, nothing was done.
    ReportOnly,
}

pub fn record_key(period: &str, mode: Mode, resource: &Resource) -> String {
    format!(
        "{ACTIONS_PREFIX}{period}/{}/{}.json",
        mode.as_str(),
        slug(&resource.arn)
    )
}

/// Whether a claim made at `claimed_at` (RFC 3339) has outlived `lease` at `now`. An
/// unreadable time counts as expired, so a damaged claim cannot block for ever.
fn lease_expired(claimed_at: &str, now: OffsetDateTime, lease: Duration) -> bool {
    shared::time::parse_rfc3339_lenient(claimed_at).is_none_or(|at| now - at >= lease)
}

/// What a run may do with a resource's record this month.
enum Claim {
    /// Act: the record is new, or took over a failed or abandoned attempt.
    Act(String),
    /// Only publish the event of an action done but not announced.
    Announce(String, Box<ActionRecord>),
    /// Handled already, or another run is at it.
    Done,
}

/// The `cost.action` event of a pause (or would-be pause); its id is stable per resource,
/// month and mode.
fn pause_event(
    resource: &Resource,
    mode: Mode,
    period: &str,
    previous: Option<&Previous>,
    reason: &ActionReason,
) -> Envelope {
    let dry_run = mode != Mode::Enforce;
    let payload = CostAction {
        action: resource.kind.pause_action().to_string(),
        dry_run,
        resource: resource.arn.clone(),
        resource_kind: resource.kind,
        resource_name: resource.name.clone(),
        previous: previous.cloned(),
        period: period.to_string(),
        reason: Some(reason.clone()),
        undoes: None,
    };
    let severity = if dry_run {
        Severity::Warning
    } else {
        Severity::Critical
    };
    Envelope::of(
        &payload,
        SOURCE,
        &resource.arn,
        severity,
        &format!("{period}/{}/pause", mode.as_str()),
    )
}

/// Acting on resources: the state, the publisher and the targets of one run at `now`.
pub struct Actor<'a, S, P, L, E, A> {
    pub store: &'a S,
    pub publisher: &'a P,
    pub targets: &'a Targets<L, E, A>,
    pub now: OffsetDateTime,
    /// How long a claim belongs to the run that made it.
    pub lease: Duration,
}

impl<S, P, L, E, A> Actor<'_, S, P, L, E, A>
where
    S: ObjectStore,
    P: EventPublisher,
    L: TaggedSetting,
    E: TaggedSetting,
    A: ActionTarget,
{
    fn stamp(&self) -> String {
        shared::time::rfc3339(self.now)
    }

    /// Claims the record for this resource, mode and month: creates it, or takes over the
    /// record of a failed attempt, of an abandoned claim, or of an unannounced action.
    async fn claim(&self, key: &str, claimed: &ActionRecord) -> Result<Claim, GuardError> {
        if let Written::Done(etag) = state::create(self.store, key, claimed).await? {
            return Ok(Claim::Act(etag));
        }
        let Some(existing) = state::read::<ActionRecord, S>(self.store, key).await? else {
            return Ok(Claim::Done);
        };
        let record = existing.doc;
        let stale = lease_expired(&record.updated_at, self.now, self.lease);
        match record.status {
            ActionStatus::Failed => {}
            ActionStatus::Claimed if stale => {
                tracing::warn!(%key, "taking over a claim whose outcome was never recorded");
            }
            ActionStatus::Applied | ActionStatus::WouldApply if !record.announced && stale => {
                let mut announcing = record;
                announcing.updated_at = self.stamp();
                return Ok(
                    match state::replace(self.store, key, &announcing, &existing.etag).await? {
                        Written::Done(etag) => Claim::Announce(etag, Box::new(announcing)),
                        Written::Conflict => Claim::Done,
                    },
                );
            }
            _ => return Ok(Claim::Done),
        }
        Ok(
            match state::replace(self.store, key, claimed, &existing.etag).await? {
                Written::Done(etag) => Claim::Act(etag),
                Written::Conflict => Claim::Done,
            },
        )
    }

    /// Publishes `event` and confirms it in the record at `etag`. A failed confirmation is
    /// logged: after the lease a later run publishes it again with the same id.
    async fn publish_and_confirm(
        &self,
        key: &str,
        mut record: ActionRecord,
        etag: &str,
        event: &Envelope,
    ) -> Result<(), GuardError> {
        self.publisher.publish(event).await?;
        record.announced = true;
        match state::replace(self.store, key, &record, etag).await {
            Ok(Written::Done(_)) => {}
            outcome => {
                tracing::error!(%key, ?outcome, event_id = %event.id, "published, but could not confirm it; a run after the lease publishes it again with the same id")
            }
        }
        Ok(())
    }

    /// Applies (or, in dry-run, announces) the pause of one resource, once per month and mode.
    pub async fn pause_once(
        &self,
        resource: &Resource,
        mode: Mode,
        period: &str,
        reason: &ActionReason,
    ) -> Result<ActionReport, GuardError> {
        let action = resource.kind.pause_action().to_string();
        let key = record_key(period, mode, resource);
        let mut record = ActionRecord {
            resource: resource.clone(),
            action: action.clone(),
            mode,
            period: period.to_string(),
            status: ActionStatus::Claimed,
            previous: None,
            error: None,
            event_id: None,
            announced: false,
            updated_at: self.stamp(),
        };
        let mut report = ActionReport {
            resource: resource.arn.clone(),
            kind: resource.kind,
            action,
            mode,
            outcome: ActionOutcome::AlreadyDone,
            previous: None,
            event_id: None,
            error: None,
        };
        let etag = match self.claim(&key, &record).await? {
            Claim::Done => return Ok(report),
            Claim::Announce(etag, done) => {
                let event = pause_event(resource, mode, period, done.previous.as_ref(), reason);
                report.outcome = if done.status == ActionStatus::Applied {
                    ActionOutcome::Applied
                } else {
                    ActionOutcome::WouldApply
                };
                report.previous = done.previous.clone();
                report.event_id = Some(event.id.clone());
                tracing::info!(%key, "announcing an action a previous run did not announce");
                self.publish_and_confirm(&key, *done, &etag, &event).await?;
                return Ok(report);
            }
            Claim::Act(etag) => etag,
        };
        let outcome = match mode {
            Mode::Enforce => self.targets.pause(resource).await,
            _ => Ok(PauseOutcome::Paused {
                previous: Previous::Running,
            }),
        };
        let (status, previous, error) = match (mode, outcome) {
            (Mode::Enforce, Ok(PauseOutcome::Paused { previous })) => {
                (ActionStatus::Applied, Some(previous), None)
            }
            (_, Ok(PauseOutcome::Paused { .. })) => (ActionStatus::WouldApply, None, None),
            (_, Ok(PauseOutcome::NotRunning { status })) => (
                ActionStatus::NotRunning,
                None,
                Some(format!("not running ({status}); nothing paused")),
            ),
            (_, Err(e)) => (ActionStatus::Failed, None, Some(e.to_string())),
        };
        let announce = matches!(status, ActionStatus::Applied | ActionStatus::WouldApply);
        let event =
            announce.then(|| pause_event(resource, mode, period, previous.as_ref(), reason));
        record.status = status;
        record.previous = previous.clone();
        record.error = error.clone();
        record.event_id = event.as_ref().map(|e| e.id.clone());
        record.announced = event.is_none();
        record.updated_at = self.stamp();
        let written = state::replace(self.store, &key, &record, &etag).await?;
        report.outcome = match status {
            ActionStatus::Applied => ActionOutcome::Applied,
            ActionStatus::WouldApply => ActionOutcome::WouldApply,
            ActionStatus::NotRunning => ActionOutcome::NotRunning,
            _ => ActionOutcome::Failed,
        };
        report.previous = previous;
        report.error = error;
        if let Some(event) = event {
            report.event_id = Some(event.id.clone());
            match written {
                Written::Done(etag) => {
                    self.publish_and_confirm(&key, record, &etag, &event)
                        .await?
                }
                Written::Conflict => {
                    tracing::warn!(%key, "action record changed while this run held it");
                    self.publisher.publish(&event).await?;
                }
            }
        }
        tracing::info!(resource = %resource.arn, %mode, outcome = ?report.outcome, "cost action");
        Ok(report)
    }

    /// Undoes every enforced action whose record says it is still applied.
    pub async fn restore_all(&self) -> Result<Vec<ActionReport>, GuardError> {
        let mut reports = Vec::new();
        let enforce_segment = format!("/{}/", Mode::Enforce.as_str());
        for key in state::keys(self.store, ACTIONS_PREFIX).await? {
            if !key.contains(&enforce_segment) {
                continue;
            }
            let Some(stored) = state::read::<ActionRecord, S>(self.store, &key).await? else {
                continue;
            };
            let applied = stored.doc;
            if !matches!(
                applied.status,
                ActionStatus::Applied | ActionStatus::Claimed
            ) {
                continue;
            }
            let mut restored = applied.clone();
            restored.status = ActionStatus::Restored;
            restored.updated_at = self.stamp();
            // Claim the restore first so two restore runs do not both undo (and announce) it.
            let Written::Done(etag) =
                state::replace(self.store, &key, &restored, &stored.etag).await?
            else {
                continue;
            };
            reports.push(self.restore_one(&key, applied, &etag).await?);
        }
        Ok(reports)
    }

    async fn restore_one(
        &self,
        key: &str,
        applied: ActionRecord,
        etag: &str,
    ) -> Result<ActionReport, GuardError> {
        let resource = &applied.resource;
        let mut report = ActionReport {
            resource: resource.arn.clone(),
            kind: resource.kind,
            action: "restore".into(),
            mode: Mode::Enforce,
            outcome: ActionOutcome::Restored,
            previous: applied.previous.clone(),
            event_id: None,
            error: None,
        };
        match self
            .targets
            .restore(resource, applied.previous.as_ref())
            .await
        {
            Ok(RestoreOutcome::Restored { to }) => {
                let payload = CostAction {
                    action: "restore".into(),
                    dry_run: false,
                    resource: resource.arn.clone(),
                    resource_kind: resource.kind,
                    resource_name: resource.name.clone(),
                    previous: Some(to.clone()),
                    period: applied.period.clone(),
                    reason: None,
                    undoes: Some(applied.action.clone()),
                };
                let event = Envelope::of(
                    &payload,
                    SOURCE,
                    &resource.arn,
                    Severity::Info,
                    &format!("{key}/restore"),
                );
                report.previous = Some(to);
                report.event_id = Some(event.id.clone());
                self.publisher.publish(&event).await?;
            }
            Ok(RestoreOutcome::NothingToRestore { reason }) => {
                report.outcome = ActionOutcome::NothingToRestore;
                report.error = Some(reason);
            }
            Err(e) => {
                // Put the record back so a later restore tries again.
                state::replace(self.store, key, &applied, etag).await?;
                report.outcome = ActionOutcome::Failed;
                report.error = Some(e.to_string());
            }
        }
        tracing::info!(resource = %resource.arn, outcome = ?report.outcome, "restore");
        Ok(report)
    }
}
