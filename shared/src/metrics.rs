//! CloudWatch Embedded Metric Format (EMF) lines.
//!
//! Written by hand rather than with a metrics crate: EMF is one JSON object per line, the
//! available crates install a process-global recorder and flush on their own schedule, and a
//! Lambda needs the line out before the invocation returns. This is the whole format.

use serde_json::{json, Map, Value};

/// CloudWatch unit of a metric value; the names are CloudWatch's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things.
    Count,
    /// A duration in milliseconds.
    Milliseconds,
    /// A duration in seconds.
    Seconds,
    /// A size in bytes.
    Bytes,
    /// A share from 0 to 100.
    Percent,
    /// A plain number without a unit.
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
            Unit::Bytes => "Bytes",
            Unit::Percent => "Percent",
            Unit::None => "None",
        }
    }
}

/// One set of metric values sharing a namespace and dimensions, printed as one EMF line.
#[derive(Debug, Clone)]
pub struct MetricSet {
    namespace: String,
    dimensions: Vec<(String, String)>,
    values: Vec<(String, Unit, f64)>,
}

impl MetricSet {
    /// Metrics of `service` in `namespace`; `service` (Powertools' name) is always a dimension.
    pub fn new(namespace: &str, service: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            dimensions: vec![("service".to_string(), service.to_string())],
            values: Vec::new(),
        }
    }

    /// Adds a dimension; every value of the set is reported per this name and value.
    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds a value; a name used twice is summed, as CloudWatch would count both.
    pub fn put(&mut self, name: &str, unit: Unit, value: f64) -> &mut Self {
        if let Some(existing) = self.values.iter_mut().find(|(n, _, _)| n == name) {
            existing.2 += value;
        } else {
            self.values.push((name.to_string(), unit, value));
        }
        self
    }

    /// Adds a count; a name used twice is summed.
    pub fn count(&mut self, name: &str, value: u64) -> &mut Self {
        self.put(name, Unit::Count, value as f64)
    }

    /// True when no value was added, so there is nothing to emit.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The EMF document for `timestamp_ms` (milliseconds since the epoch).
    pub fn to_emf(&self, timestamp_ms: i64) -> Value {
        let mut root = Map::new();
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let metrics: Vec<Value> = self
            .values
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [dimension_names],
                    "Metrics": metrics,
                }]
            }),
        );
        for (k, v) in &self.dimensions {
            root.insert(k.clone(), Value::String(v.clone()));
        }
        for (name, _, value) in &self.values {
            root.insert(name.clone(), json!(value));
        }
        Value::Object(root)
    }

    /// Prints the EMF line on stdout, where the Lambda log agent picks it up.
    pub fn emit(&self) {
        if self.is_empty() {
            return;
        }
        let now_ms = (crate::time::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        println!("{}", self.to_emf(now_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric_and_dimension() {
        let mut m = MetricSet::new("MediaSuite", "notifier").dimension("channel", "slack");
        m.count("Delivered", 2).count("Delivered", 1);
        m.put("Latency", Unit::Milliseconds, 12.5);
        let doc = m.to_emf(1_700_000_000_000);
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let decl = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(decl["Namespace"], "MediaSuite");
        assert_eq!(decl["Dimensions"], json!([["service", "channel"]]));
        assert_eq!(
            decl["Metrics"],
            json!([{"Name":"Delivered","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}])
        );
        assert_eq!(doc["Delivered"], 3.0);
        assert_eq!(doc["channel"], "slack");
        assert_eq!(doc["service"], "notifier");
    }
}
