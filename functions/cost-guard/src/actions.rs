//! Pausing allow-listed resources at the action level, and restoring them.
//!
//! Each (would-be) action is recorded at `cost-guard/actions/<month>/<mode>/<resource>.json`,
//! created with `If-None-Match: *`: one action per resource, mode and month, even with
//! overlapping runs. A later run takes over (with `If-Match`) the record of a failed action
//! (and retries it), of a claim older than the lease whose outcome was never written (and
//! pauses again: pausing keeps the first recorded previous state, so the effect is one), and
//! of an action whose `cost.action` event was not confirmed as published (and publishes it,
//! with the same event id). `restore` walks the enforced records still applied.

use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::events::{types, Envelope, EventPublisher, Severity};

use time::OffsetDateTime;

use crate::alerts::lease_expired;
use crate::budgets::slug;
use crate::config::Mode;
use crate::error::GuardError;
use crate::ports::{
    ActionError, ActionTarget, PauseOutcome, Previous, RestoreOutcome, StateStore, TaggedSetting,
    Written,
};
use crate::resources::{Resource, ResourceKind};
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

/// Why the guard acts: the monthly spend against the action level.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReason {
    pub monthly_spend: f64,
    pub monthly_budget: f64,
    pub percent: f64,
    pub action_level: u32,
    pub currency: String,
}

pub fn record_key(period: &str, mode: Mode, resource: &Resource) -> String {
    format!(
        "{ACTIONS_PREFIX}{period}/{}/{}.json",
        mode.as_str(),
        slug(&resource.arn)
    )
}

fn to_body(record: &ActionRecord) -> Result<Vec<u8>, GuardError> {
    serde_json::to_vec(record).map_err(|e| GuardError::State(e.to_string()))
}

fn from_body(key: &str, body: &[u8]) -> Result<ActionRecord, GuardError> {
    serde_json::from_slice(body)
        .map_err(|e| GuardError::State(format!("{key} is not an action record: {e}")))
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

/// Claims the record for this resource, mode and month: creates it, or takes over the record
/// of a failed attempt, of an abandoned claim, or of an unannounced action (see the module).
async fn claim<S: StateStore>(
    store: &S,
    key: &str,
    claimed: &ActionRecord,
    now: OffsetDateTime,
) -> Result<Claim, GuardError> {
    if let Written::Done(version) = store.create(key, to_body(claimed)?).await? {
        return Ok(Claim::Act(version));
    }
    let Some(existing) = store.read(key).await? else {
        return Ok(Claim::Done);
    };
    let record = from_body(key, &existing.body)?;
    let stale = lease_expired(&record.updated_at, now);
    let take_over = |body| store.replace(key, body, &existing.version);
    match record.status {
        ActionStatus::Failed => {}
        ActionStatus::Claimed if stale => {
            tracing::warn!(%key, "taking over a claim whose outcome was never recorded");
        }
        ActionStatus::Applied | ActionStatus::WouldApply if !record.announced && stale => {
            let mut announcing = record.clone();
            announcing.updated_at = shared::time::rfc3339(now);
            return Ok(match take_over(to_body(&announcing)?).await? {
                Written::Done(version) => Claim::Announce(version, Box::new(announcing)),
                Written::Conflict => Claim::Done,
            });
        }
        _ => return Ok(Claim::Done),
    }
    Ok(match take_over(to_body(claimed)?).await? {
        Written::Done(version) => Claim::Act(version),
        Written::Conflict => Claim::Done,
    })
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
    Envelope::new(
        types::COST_ACTION,
        SOURCE,
        &resource.arn,
        if dry_run {
            Severity::Warning
        } else {
            Severity::Critical
        },
        &format!("{period}/{}/pause", mode.as_str()),
        json!({
            "action": resource.kind.pause_action(),
            "mode": mode,
            "dry_run": dry_run,
            "resource": resource.arn,
            "resource_kind": resource.kind,
            "previous": previous,
            "period": period,
            "reason": reason,
        }),
    )
}

/// Publishes `event` and confirms it in the record at `version`. A failed confirmation is
/// logged: after the lease a later run publishes it again with the same id.
async fn publish_and_confirm<S: StateStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    key: &str,
    mut record: ActionRecord,
    version: &str,
    event: &Envelope,
) -> Result<(), GuardError> {
    publisher.publish(event).await?;
    record.announced = true;
    match store.replace(key, to_body(&record)?, version).await {
        Ok(Written::Done(_)) => {}
        outcome => {
            tracing::error!(%key, ?outcome, event_id = %event.id, "published, but could not confirm it; a run after the lease publishes it again with the same id")
        }
    }
    Ok(())
}

/// Applies (or, in dry-run, announces) the pause of one resource, once per month and mode.
#[allow(clippy::too_many_arguments)]
pub async fn pause_once<S, P, L, E, A>(
    store: &S,
    publisher: &P,
    targets: &Targets<L, E, A>,
    resource: &Resource,
    mode: Mode,
    period: &str,
    reason: &ActionReason,
    now: OffsetDateTime,
) -> Result<ActionReport, GuardError>
where
    S: StateStore,
    P: EventPublisher,
    L: TaggedSetting,
    E: TaggedSetting,
    A: ActionTarget,
{
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
        updated_at: shared::time::rfc3339(now),
    };
    let mut report = ActionReport {
        resource: resource.arn.clone(),
        kind: resource.kind,
        action: action.clone(),
        mode,
        outcome: ActionOutcome::AlreadyDone,
        previous: None,
        event_id: None,
        error: None,
    };
    let version = match claim(store, &key, &record, now).await? {
        Claim::Done => return Ok(report),
        Claim::Announce(version, done) => {
            let event = pause_event(resource, mode, period, done.previous.as_ref(), reason);
            report.outcome = if done.status == ActionStatus::Applied {
                ActionOutcome::Applied
            } else {
                ActionOutcome::WouldApply
            };
            report.previous = done.previous.clone();
            report.event_id = Some(event.id.clone());
            tracing::info!(%key, "announcing an action a previous run did not announce");
            publish_and_confirm(store, publisher, &key, *done, &version, &event).await?;
            return Ok(report);
        }
        Claim::Act(version) => version,
    };
    let outcome = match mode {
        Mode::Enforce => targets.pause(resource).await,
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
    let event = announce.then(|| pause_event(resource, mode, period, previous.as_ref(), reason));
    record.status = status;
    record.previous = previous.clone();
    record.error = error.clone();
    record.event_id = event.as_ref().map(|e| e.id.clone());
    record.announced = event.is_none();
    record.updated_at = shared::time::rfc3339(now);
    let written = store.replace(&key, to_body(&record)?, &version).await?;
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
            Written::Done(version) => {
                publish_and_confirm(store, publisher, &key, record, &version, &event).await?
            }
            Written::Conflict => {
                tracing::warn!(%key, "action record changed while this run held it");
                publisher.publish(&event).await?;
            }
        }
    }
    tracing::info!(resource = %resource.arn, %mode, outcome = ?report.outcome, "cost action");
    Ok(report)
}

/// Undoes every enforced action whose record says it is still applied.
pub async fn restore_all<S, P, L, E, A>(
    store: &S,
    publisher: &P,
    targets: &Targets<L, E, A>,
    now: OffsetDateTime,
) -> Result<Vec<ActionReport>, GuardError>
where
    S: StateStore,
    P: EventPublisher,
    L: TaggedSetting,
    E: TaggedSetting,
    A: ActionTarget,
{
    let mut reports = Vec::new();
    let enforce_segment = format!("/{}/", Mode::Enforce.as_str());
    for key in store.list(ACTIONS_PREFIX).await? {
        if !key.contains(&enforce_segment) {
            continue;
        }
        let Some(stored) = store.read(&key).await? else {
            continue;
        };
        let applied = from_body(&key, &stored.body)?;
        if !matches!(
            applied.status,
            ActionStatus::Applied | ActionStatus::Claimed
        ) {
            continue;
        }
        let mut restored = applied.clone();
        restored.status = ActionStatus::Restored;
        restored.updated_at = shared::time::rfc3339(now);
        // Claim the restore first so two restore runs do not both undo (and announce) it.
        let Written::Done(version) = store
            .replace(&key, to_body(&restored)?, &stored.version)
            .await?
        else {
            continue;
        };
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
        match targets.restore(resource, applied.previous.as_ref()).await {
            Ok(RestoreOutcome::Restored { to }) => {
                let event = Envelope::new(
                    types::COST_ACTION,
                    SOURCE,
                    &resource.arn,
                    Severity::Info,
                    &format!("{key}/restore"),
                    json!({
                        "action": "restore",
                        "mode": Mode::Enforce,
                        "dry_run": false,
                        "resource": resource.arn,
                        "resource_kind": resource.kind,
                        "restored_to": to,
                        "period": applied.period,
                        "undoes": applied.action,
                    }),
                );
                report.previous = Some(to);
                report.event_id = Some(event.id.clone());
                publisher.publish(&event).await?;
            }
            Ok(RestoreOutcome::NothingToRestore { reason }) => {
                report.outcome = ActionOutcome::NothingToRestore;
                report.error = Some(reason);
            }
            Err(e) => {
                // Put the record back so a later restore tries again.
                store.replace(&key, to_body(&applied)?, &version).await?;
                report.outcome = ActionOutcome::Failed;
                report.error = Some(e.to_string());
            }
        }
        tracing::info!(resource = %resource.arn, outcome = ?report.outcome, "restore");
        reports.push(report);
    }
    Ok(reports)
}
