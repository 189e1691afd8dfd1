//! JSON log lines shaped like AWS Lambda Powertools', so Logs Insights queries written for
//! Powertools work: `timestamp`, `level`, `message`, `service`, `cold_start`,
//! `function_request_id`, `xray_trace_id`, `function_name`, `function_memory_size`,
//! `function_arn` at the top level, then the event's own fields.
//!
//! The level is Lambda's own control first (`AWS_LAMBDA_LOG_LEVEL`, set from the function's
//! `LoggingConfig`), then `RUST_LOG` directives (local development), then `info`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};
use tracing::Subscriber;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

static COLD_START: AtomicBool = AtomicBool::new(true);

/// Field names of the runtime's own span, renamed to Powertools' keys.
const RENAMED: &[(&str, &str)] = &[
    ("requestId", "function_request_id"),
    ("xrayTraceId", "xray_trace_id"),
];

fn filter() -> EnvFilter {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.to_lowercase())
        // Lambda's levels include FATAL, which tracing calls error.
        .map(|l| if l == "fatal" { "error".into() } else { l });
    if let Some(f) = lambda_level.and_then(|l| EnvFilter::try_new(l).ok()) {
        return f;
    }
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Writes one flat JSON object per event: the fields of every enclosing span (outermost
/// first, inner ones win), then the event's fields.
struct PowertoolsFormat;

impl<S, N> FormatEvent<S, N> for PowertoolsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        let now = time::OffsetDateTime::now_utc();
        line.insert(
            "timestamp".into(),
            Value::String(crate::time::rfc3339_millis(now)),
        );
        line.insert(
            "level".into(),
            Value::String(event.metadata().level().to_string()),
        );
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields) {
                    for (k, v) in map {
                        let key = RENAMED
                            .iter()
                            .find(|(from, _)| *from == k)
                            .map(|(_, to)| to.to_string())
                            .unwrap_or(k);
                        line.insert(key, v);
                    }
                }
            }
        }
        let mut visitor = JsonVisitor(Map::new());
        event.record(&mut visitor);
        let mut fields = visitor.0;
        line.insert(
            "message".into(),
            fields
                .remove("message")
                .unwrap_or(Value::String(String::new())),
        );
        line.extend(fields);
        line.insert(
            "target".into(),
            Value::String(event.metadata().target().to_string()),
        );
        writeln!(writer, "{}", Value::Object(line))
    }
}

struct JsonVisitor(Map<String, Value>);

impl tracing::field::Visit for JsonVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.into()));
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
}

/// The JSON subscriber writing to `writer` (stdout in Lambda).
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .fmt_fields(JsonFields::new())
        .event_format(PowertoolsFormat)
        .with_env_filter(filter)
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

/// The span every invocation runs in, with Powertools' keys from the invocation context and
/// the environment. On a cold start it also emits the `ColdStart` metric.
pub fn invocation_span(service: &'static str, ctx: &lambda_runtime::Context) -> tracing::Span {
    let cold_start = take_cold_start();
    let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    if cold_start {
        let namespace =
            std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "MediaSuite".to_string());
        let mut m = crate::metrics::MetricSet::new(&namespace, service)
            .dimension("function_name", &function_name);
        m.count("ColdStart", 1);
        m.emit();
    }
    let memory: u64 = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    tracing::info_span!(
        "invocation",
        service,
        cold_start,
        function_name = %function_name,
        function_memory_size = memory,
        function_arn = %ctx.invoked_function_arn,
        function_request_id = %ctx.request_id,
        xray_trace_id = ctx.xray_trace_id.as_deref().unwrap_or(""),
    )
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
    fn lines_carry_powertools_keys_at_the_top_level() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = json_subscriber(EnvFilter::new("info"), move || writer.clone());
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id = "req-1".into();
        ctx.invoked_function_arn = "arn:aws-cn:lambda:cn-northwest-1:1:function:notifier".into();
        ctx.xray_trace_id = Some("Root=1-abc".into());
        tracing::subscriber::with_default(subscriber, || {
            // The runtime's own span, as lambda_runtime opens it around each invocation.
            let runtime = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _r = runtime.enter();
            let span = invocation_span("notifier", &ctx);
            let _s = span.enter();
            tracing::info!(channel = "slack", attempts = 2u64, "delivered");
            tracing::debug!("filtered out");
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let line: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "delivered");
        assert_eq!(line["channel"], "slack");
        assert_eq!(line["attempts"], 2);
        assert_eq!(line["service"], "notifier");
        assert!(line["cold_start"].is_boolean());
        assert_eq!(line["function_request_id"], "req-1");
        assert_eq!(line["xray_trace_id"], "Root=1-abc");
        assert_eq!(
            line["function_arn"],
            "arn:aws-cn:lambda:cn-northwest-1:1:function:notifier"
        );
        assert!(line.get("function_name").is_some());
        assert!(line.get("function_memory_size").is_some());
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(line.get("spans").is_none());
    }
}
