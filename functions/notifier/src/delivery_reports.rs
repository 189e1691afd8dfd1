//! The notifier's report of each delivery, for stats ("notifications by channel"): a
//! `notification.delivered` or `notification.failed` envelope per (event, channel) attempt,
//! sent straight to the stats-ingest queue. They never go to `suite-events`, so a report is
//! never itself routed and delivered (no loop).

use shared::events::contracts::notification::{NotificationDelivered, NotificationFailed};
use shared::events::{Envelope, Severity};
use time::OffsetDateTime;

use crate::outcome::ChannelOutcome;

const SOURCE: &str = "notifier";

/// The report of one channel's outcome; `None` when nothing was attempted (already delivered,
/// another invocation holds the event, the marker store failed).
pub fn report(
    event: &Envelope,
    channel: &str,
    kind: &str,
    outcome: &ChannelOutcome,
    now: OffsetDateTime,
) -> Option<Envelope> {
    let failed = |attempts: u32, reason: &str, retryable: bool| {
        let payload = NotificationFailed {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            channel: channel.to_string(),
            kind: kind.to_string(),
            attempts,
            reason: reason.to_string(),
            retryable,
        };
        // Each failed invocation is its own failure: the time keeps their ids apart.
        let discriminator = format!("{}/{channel}/{}", event.id, now.unix_timestamp_nanos());
        Envelope::of(
            &payload,
            SOURCE,
            &event.subject,
            Severity::Info,
            &discriminator,
        )
    };
    match outcome {
        ChannelOutcome::Delivered { attempts } => {
            let payload = NotificationDelivered {
                event_id: event.id.clone(),
                event_type: event.event_type.clone(),
                channel: channel.to_string(),
                kind: kind.to_string(),
                attempts: *attempts,
            };
            // One delivery per (event, channel), so a repeated report has the same id, and the
            // delivered event's time, so it does not move either.
            let discriminator = format!("{}/{channel}", event.id);
            Some(
                Envelope::of(
                    &payload,
                    SOURCE,
                    &event.subject,
                    Severity::Info,
                    &discriminator,
                )
                .first_published_at(shared::time::parse_rfc3339_lenient(&event.time)),
            )
        }
        ChannelOutcome::Rejected { attempts, reason } => Some(failed(*attempts, reason, false)),
        ChannelOutcome::GaveUp { attempts, reason } => Some(failed(*attempts, reason, true)),
        ChannelOutcome::AlreadyDelivered
        | ChannelOutcome::InProgressElsewhere
        | ChannelOutcome::StoreFailed { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::events::contracts::notification::{NotificationDelivered, NotificationFailed};

    fn event() -> Envelope {
        Envelope::new(
            "media.flagged",
            "ai-processor",
            "s3://media/videos/a.mp4",
            Severity::Critical,
            "x",
            serde_json::json!({}),
        )
    }

    #[test]
    fn a_delivery_and_a_failure_are_reported_with_the_channel_and_the_event() {
        let e = event();
        let now = time::macros::datetime!(2026-11-30 10:00 UTC);
        let delivered = report(
            &e,
            "ops",
            "dingtalk",
            &ChannelOutcome::Delivered { attempts: 2 },
            now,
        )
        .unwrap();
        assert_eq!(delivered.event_type, "notification.delivered");
        assert_eq!(delivered.source, "notifier");
        assert_eq!(
            delivered.payload::<NotificationDelivered>().unwrap(),
            NotificationDelivered {
                event_id: e.id.clone(),
                event_type: "media.flagged".into(),
                channel: "ops".into(),
                kind: "dingtalk".into(),
                attempts: 2,
            }
        );
        let again = report(
            &e,
            "ops",
            "dingtalk",
            &ChannelOutcome::Delivered { attempts: 1 },
            now,
        )
        .unwrap();
        assert_eq!(again.id, delivered.id, "a repeated report has one id");

        let outcome = ChannelOutcome::GaveUp {
            attempts: 4,
            reason: "HTTP 503".into(),
        };
        let failed = report(&e, "ops", "dingtalk", &outcome, now).unwrap();
        let payload: NotificationFailed = failed.payload().unwrap();
        assert_eq!(
            (payload.retryable, payload.reason.as_str()),
            (true, "HTTP 503")
        );
        let later = report(
            &e,
            "ops",
            "dingtalk",
            &outcome,
            now + time::Duration::minutes(1),
        );
        assert_ne!(later.unwrap().id, failed.id, "each failed attempt counts");
        // What stats reads: events/contracts/notification.{delivered,failed}.json.
        shared::testkit::contract::check(&[delivered, failed]);
    }

    #[test]
    fn nothing_is_reported_when_nothing_was_attempted() {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        for outcome in [
            ChannelOutcome::AlreadyDelivered,
            ChannelOutcome::InProgressElsewhere,
            ChannelOutcome::StoreFailed {
                reason: "503".into(),
            },
        ] {
            assert_eq!(report(&event(), "ops", "sns", &outcome, now), None);
        }
    }
}
