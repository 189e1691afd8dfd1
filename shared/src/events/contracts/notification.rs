//! Payloads of the `notification` events (see [`super`]): the notifier's report of each
//! delivery to a channel, sent straight to the stats-ingest queue (never to `suite-events`,
//! so a delivery report is not itself delivered).

use serde::{Deserialize, Serialize};

use crate::events::EventPayload;

/// An event reached a channel (`notification.delivered`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationDelivered {
    /// The id of the event that was delivered.
    pub event_id: String,
    /// Its type (`media.flagged`, ...).
    pub event_type: String,
    /// The channel's name in the routing rules (`ops-dingtalk`).
    pub channel: String,
    /// The channel's kind (`dingtalk`, `wecom`, `feishu`, `slack`, `webhook`, `sns`, `email`).
    pub kind: String,
    /// Attempts it took in the delivering invocation, the first included.
    pub attempts: u32,
}

impl EventPayload for NotificationDelivered {
    const TYPE: &'static str = "notification.delivered";
}

/// An event did not reach a channel in this invocation (`notification.failed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationFailed {
    /// The id of the event that was not delivered.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// The channel's name in the routing rules.
    pub channel: String,
    /// The channel's kind.
    pub kind: String,
    /// Attempts made in this invocation (0 when none could start before the deadline).
    pub attempts: u32,
    /// Why, without URLs, tokens or secrets.
    pub reason: String,
    /// True when the record will be delivered again (throttling, timeouts, 5xx); false when
    /// the channel refused it for good and the record goes to the dead-letter queue.
    pub retryable: bool,
}

impl EventPayload for NotificationFailed {
    const TYPE: &'static str = "notification.failed";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Envelope, Severity};

    #[test]
    fn a_delivery_report_carries_the_channel_where_stats_counts_it() {
        let payload = NotificationDelivered {
            event_id: "e1".into(),
            event_type: "media.flagged".into(),
            channel: "ops-dingtalk".into(),
            kind: "dingtalk".into(),
            attempts: 1,
        };
        let e = Envelope::of(
            &payload,
            "notifier",
            "s3://m/a.mp4",
            Severity::Info,
            "e1/ops",
        );
        assert_eq!(e.event_type, "notification.delivered");
        assert_eq!(e.data["channel"], "ops-dingtalk");
        assert_eq!(e.payload::<NotificationDelivered>().unwrap(), payload);
        assert!(e.payload::<NotificationFailed>().is_err());
    }
}
