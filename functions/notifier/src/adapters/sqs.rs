//! Delivery reports to the stats-ingest SQS queue, one `SendMessageBatch` per record.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::future::BoxFuture;
use shared::events::Envelope;

use crate::ports::DeliveryReports;

/// SQS takes at most 10 entries per batch.
const MAX_BATCH: usize = 10;

pub struct SqsDeliveryReports {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeliveryReports {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    async fn send_all(&self, reports: &[Envelope]) -> Result<(), String> {
        for chunk in reports.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, report)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(report.to_json())
                        .build()
                        .map_err(|e| format!("SQS entry: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| shared::aws::classify("SQS SendMessageBatch", e).detail)?;
            // A batch call succeeds even when some entries fail.
            if let Some(failed) = output.failed().first() {
                return Err(format!(
                    "SQS SendMessageBatch: {} of {} reports refused ({}: {})",
                    output.failed().len(),
                    chunk.len(),
                    failed.code(),
                    failed.message().unwrap_or("no message")
                ));
            }
        }
        Ok(())
    }
}

impl DeliveryReports for SqsDeliveryReports {
    fn send<'a>(&'a self, reports: &'a [Envelope]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.send_all(reports))
    }
}
