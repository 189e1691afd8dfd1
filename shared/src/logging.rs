//! JSON log lines through `tracing`.
//!
//! Each line carries timestamp, level, message and fields; the span list carries the Lambda
//! request id and X-Ray trace id (from the runtime's own span) and `service` / `cold_start`
//! (from [`invocation_span`]). The level comes from `RUST_LOG`, else `LOG_LEVEL`, else
//! `AWS_LAMBDA_LOG_LEVEL`, else `info`.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

static COLD_START: AtomicBool = AtomicBool::new(true);

fn filter() -> EnvFilter {
    if let Ok(f) = EnvFilter::try_from_default_env() {
        return f;
    }
    let level = std::env::var("LOG_LEVEL")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".to_string())
        .to_lowercase();
    EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The JSON subscriber writing to `writer` (stdout in Lambda).
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(true)
        .with_timer(tracing_subscriber::fmt::time::UtcTime::rfc_3339())
        .with_ansi(false)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber once; later calls are no-ops (tests call it repeatedly).
pub fn init() {
    let _ = tracing::subscriber::set_global_default(json_subscriber(filter(), std::io::stdout));
}

/// True for the first invocation of this process only.
pub fn take_cold_start() -> bool {
    COLD_START.swap(false, Ordering::Relaxed)
}

/// The span every invocation runs in: names the service and whether this is a cold start.
pub fn invocation_span(service: &'static str) -> tracing::Span {
    tracing::info_span!("invocation", service, cold_start = take_cold_start())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_json_with_level_time_message_service_request_id_and_cold_start() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = json_subscriber(EnvFilter::new("info"), move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            // The runtime's own span, as lambda_runtime opens it around each invocation.
            let runtime = tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "req-1",
                xrayTraceId = "Root=1-abc"
            );
            let _r = runtime.enter();
            let span = invocation_span("notifier");
            let _s = span.enter();
            tracing::info!(channel = "slack", "delivered");
            tracing::debug!("filtered out");
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "delivered");
        assert_eq!(line["channel"], "slack");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
        let spans = line["spans"].as_array().unwrap();
        assert_eq!(spans[0]["requestId"], "req-1");
        assert_eq!(spans[0]["xrayTraceId"], "Root=1-abc");
        assert_eq!(spans[1]["service"], "notifier");
        assert!(spans[1]["cold_start"].is_boolean());
    }
}
