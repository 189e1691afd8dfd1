//! Delivered / failed / retried counts per channel, emitted as one EMF line per channel at
//! the end of an invocation.

use std::collections::BTreeMap;
use std::sync::Mutex;

use shared::metrics::MetricSet;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChannelCounts {
    pub delivered: u64,
    /// Rejected for good plus given up for now.
    pub failed: u64,
    /// The subset of `failed` the service refused for good.
    pub rejected: u64,
    /// Attempts after the first.
    pub retried: u64,
    /// Skipped because an earlier delivery of the same event already reached the channel.
    pub duplicates: u64,
}

#[derive(Default)]
pub struct DeliveryMetrics {
    per_channel: Mutex<BTreeMap<String, ChannelCounts>>,
    reports_not_sent: std::sync::atomic::AtomicU64,
}

impl DeliveryMetrics {
    pub fn record(&self, channel: &str, update: impl FnOnce(&mut ChannelCounts)) {
        let mut map = self.per_channel.lock().unwrap_or_else(|p| p.into_inner());
        update(map.entry(channel.to_string()).or_default());
    }

    /// Delivery reports that could not be sent to the stats-ingest queue.
    pub fn reports_not_sent(&self, n: u64) {
        self.reports_not_sent
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> BTreeMap<String, ChannelCounts> {
        self.per_channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn metric_sets(&self, namespace: &str) -> Vec<MetricSet> {
        let mut sets: Vec<MetricSet> = self
            .snapshot()
            .into_iter()
            .map(|(channel, c)| {
                let mut m = MetricSet::new(namespace, "notifier").dimension("channel", &channel);
                m.count("NotificationsDelivered", c.delivered)
                    .count("NotificationsFailed", c.failed)
                    .count("NotificationsRejected", c.rejected)
                    .count("NotificationsRetried", c.retried)
                    .count("NotificationsDuplicate", c.duplicates);
                m
            })
            .collect();
        let not_sent = self
            .reports_not_sent
            .load(std::sync::atomic::Ordering::Relaxed);
        if not_sent > 0 {
            let mut m = MetricSet::new(namespace, "notifier");
            m.count("DeliveryReportsNotSent", not_sent);
            sets.push(m);
        }
        sets
    }

    pub fn emit(&self, namespace: &str) {
        for m in self.metric_sets(namespace) {
            m.emit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emf_document_per_channel_with_its_counts() {
        let metrics = DeliveryMetrics::default();
        metrics.record("ops", |c| c.delivered += 1);
        metrics.record("ops", |c| {
            c.failed += 1;
            c.retried += 2;
        });
        metrics.record("mail", |c| c.duplicates += 1);
        let docs: Vec<_> = metrics
            .metric_sets("MediaSuite")
            .iter()
            .map(|m| m.to_emf(0))
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            (
                docs[0]["channel"].as_str(),
                docs[0]["NotificationsDuplicate"].as_f64()
            ),
            (Some("mail"), Some(1.0))
        );
        assert_eq!(docs[1]["channel"], "ops");
        assert_eq!(
            (
                docs[1]["NotificationsDelivered"].as_f64(),
                docs[1]["NotificationsFailed"].as_f64(),
                docs[1]["NotificationsRetried"].as_f64()
            ),
            (Some(1.0), Some(1.0), Some(2.0))
        );
        assert_eq!(
            docs[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["service", "channel"]])
        );
    }
}
