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

/// Installs the JSON subscriber once; later calls are no-ops (tests call it repeatedly).
pub fn init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(true)
        .with_timer(tracing_subscriber::fmt::time::UtcTime::rfc_3339())
        .with_ansi(false)
        .try_init();
}

/// True for the first invocation of this process only.
pub fn take_cold_start() -> bool {
    COLD_START.swap(false, Ordering::Relaxed)
}

/// The span every invocation runs in: names the service and whether this is a cold start.
pub fn invocation_span(service: &'static str) -> tracing::Span {
    tracing::info_span!("invocation", service, cold_start = take_cold_start())
}
