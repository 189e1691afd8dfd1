//! S3 event notification records: created and removed objects, and their form-encoded keys.

use serde::Deserialize;
use serde_json::Value;

use super::{malformed, shown, Inbound, Malformed, ObjectCreated, ObjectRemoved};

/// The S3 event notification major version this parser understands (2.0 to 2.3 so far).
const S3_EVENT_MAJOR_VERSION: &str = "2";
/// S3 keys are at most 1024 bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Record {
    #[serde(default)]
    event_version: Option<String>,
    #[serde(default)]
    event_source: Option<String>,
    #[serde(default)]
    event_name: Option<String>,
    #[serde(default)]
    event_time: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Object {
    key: String,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    e_tag: Option<String>,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
}

pub(super) fn s3_records(value: Value) -> Result<Inbound, Malformed> {
    let records = value
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("`Records` is not an array"))?;
    if records.is_empty() {
        return Err(malformed("`Records` is empty"));
    }
    let mut created = Vec::new();
    let mut removed = Vec::new();
    for (i, raw) in records.iter().enumerate() {
        let record: S3Record = serde_json::from_value(raw.clone())
            .map_err(|e| malformed(format!("S3 event record {i}: {e}")))?;
        if let Some(source) = record.event_source.as_deref() {
            if source != "aws:s3" {
                return Err(malformed(format!(
                    "record {i} comes from {}, not aws:s3",
                    shown(source)
                )));
            }
        }
        if let Some(version) = record.event_version.as_deref() {
            if version.split('.').next() != Some(S3_EVENT_MAJOR_VERSION) {
                return Err(malformed(format!(
                    "S3 event record {i} has eventVersion {}; only {S3_EVENT_MAJOR_VERSION}.x is understood",
                    shown(version)
                )));
            }
        }
        let event_name = record.event_name.unwrap_or_default();
        let change = Change::of(&event_name);
        if change == Change::Other {
            tracing::info!(record = i, event_name = %event_name, "S3 record is neither a creation nor a deletion; nothing to do");
            continue;
        }
        let key = decode_key(&record.s3.object.key)
            .map_err(|e| malformed(format!("S3 event record {i}: {e}")))?;
        if key.is_empty() {
            return Err(malformed(format!("S3 event record {i} has an empty key")));
        }
        if record.s3.bucket.name.is_empty() {
            return Err(malformed(format!(
                "S3 event record {i} has an empty bucket name"
            )));
        }
        let version_id = record.s3.object.version_id.filter(|v| !v.is_empty());
        let event_time = record
            .event_time
            .as_deref()
            .and_then(shared::time::parse_rfc3339_lenient);
        if let Change::Removed { delete_marker } = change {
            removed.push(ObjectRemoved {
                bucket: record.s3.bucket.name,
                key,
                version_id,
                delete_marker,
                sequencer: record.s3.object.sequencer.filter(|s| !s.is_empty()),
                event_time,
            });
            continue;
        }
        created.push(ObjectCreated {
            bucket: record.s3.bucket.name,
            key,
            version_id,
            etag: record
                .s3
                .object
                .e_tag
                .map(|e| e.trim_matches('"').to_string())
                .filter(|e| !e.is_empty()),
            size: record.s3.object.size,
            event_time,
        });
    }
    Ok(Inbound::S3Objects { created, removed })
}

/// What an S3 event name says happened to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Created,
    Removed { delete_marker: bool },
    Other,
}

impl Change {
    fn of(event_name: &str) -> Self {
        if event_name.starts_with("ObjectCreated:") {
            Change::Created
        } else if event_name.starts_with("ObjectRemoved:")
            || event_name.starts_with("LifecycleExpiration:")
        {
            Change::Removed {
                delete_marker: event_name.ends_with(":DeleteMarkerCreated"),
            }
        } else {
            Change::Other
        }
    }
}

/// Decodes an S3 event key: form encoding, so `+` is a space and `%XX` a byte of UTF-8.
/// A `%` not followed by two hex digits, or bytes that are not UTF-8, are errors.
pub fn decode_key(raw: &str) -> Result<String, String> {
    if raw.len() > 3 * MAX_KEY_BYTES {
        return Err(format!(
            "key {} is longer than S3 allows ({MAX_KEY_BYTES} bytes)",
            shown(raw)
        ));
    }
    let bytes = raw.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let valid = bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !valid {
                return Err(format!(
                    "key {} has a `%` at byte {i} that is not a %XX escape",
                    shown(raw)
                ));
            }
        }
    }
    let spaced = raw.replace('+', " ");
    let key = urlencoding::decode(&spaced)
        .map(|k| k.into_owned())
        .map_err(|e| format!("key {} does not decode to UTF-8: {e}", shown(raw)))?;
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "key {} is longer than S3 allows ({MAX_KEY_BYTES} bytes)",
            shown(raw)
        ));
    }
    Ok(key)
}
