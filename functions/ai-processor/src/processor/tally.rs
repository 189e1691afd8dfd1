//! What the messages of one batch led to, counted while they run and emitted as EMF metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use shared::metrics::MetricSet;

#[derive(Debug, Default)]
pub struct Tally {
    pub uploads_analysed: AtomicU64,
    pub uploads_skipped: AtomicU64,
    pub uploads_deleted: AtomicU64,
    pub job_completions: AtomicU64,
    pub duplicate_deliveries: AtomicU64,
    pub messages_without_work: AtomicU64,
}

impl Tally {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn emit(&self, namespace: &str, service: &str) {
        let mut m = MetricSet::new(namespace, service);
        m.count("UploadsAnalysed", Self::get(&self.uploads_analysed))
            .count("UploadsSkipped", Self::get(&self.uploads_skipped))
            .count("UploadsDeleted", Self::get(&self.uploads_deleted))
            .count("JobCompletions", Self::get(&self.job_completions))
            .count("DuplicateDeliveries", Self::get(&self.duplicate_deliveries))
            .count(
                "MessagesWithoutWork",
                Self::get(&self.messages_without_work),
            );
        m.emit();
    }
}
