//! One line of a raw NDJSON object: a domain event envelope, read for statistics only.
//!
//! The rollup reads millions of lines, so this parser borrows from the line and reads only
//! the fields statistics need; everything else is skipped. It is tolerant below the envelope:
//! a `data` field that is missing or has an unexpected type reads as "unknown", never as an
//! error. Only a line that is not a version-1 envelope with an `id` and a `type` is malformed.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Why a line was not counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("not a JSON envelope: {0}")]
    Json(String),
    #[error("envelope version {0} is not supported (this reader reads version 1)")]
    UnsupportedVersion(u64),
    #[error("`{0}` must be a non-empty string")]
    MissingField(&'static str),
}

/// The fields of an envelope statistics use.
#[derive(Debug, Default, PartialEq)]
pub struct EventLine<'a> {
    pub id: Cow<'a, str>,
    pub event_type: Cow<'a, str>,
    pub subject: Text<'a>,
    pub severity: Text<'a>,
    pub data: EventData<'a>,
}

/// The `data` fields read, by event type:
/// - `media.analyzed` / `media.failed` / `media.skipped`: `kind`, `prefix`, `size_bytes`;
///   `media.analyzed` also `verdict`, `moderation_labels`, and `latency_ms` or
///   `uploaded_at` + `analyzed_at`;
/// - `transcript.ready`: `language`, `duration_seconds`;
/// - `notification.delivered` / `notification.failed`: `channel`;
/// - `cost.threshold`: `budget`; `cost.action`: `action`, `mode`;
/// - `media.reviewed`: `decision`, `changed`, `wait_ms` ([`crate::reviews`]).
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EventData<'a> {
    #[serde(borrow)]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub prefix: Text<'a>,
    pub size_bytes: Number,
    #[serde(borrow)]
    pub verdict: Text<'a>,
    #[serde(borrow)]
    pub moderation_labels: LabelCategories<'a>,
    pub latency_ms: Number,
    #[serde(borrow)]
    pub uploaded_at: Text<'a>,
    #[serde(borrow)]
    pub analyzed_at: Text<'a>,
    #[serde(borrow)]
    pub language: Text<'a>,
    pub duration_seconds: Number,
    #[serde(borrow)]
    pub channel: Text<'a>,
    #[serde(borrow)]
    pub budget: Text<'a>,
    #[serde(borrow)]
    pub action: Text<'a>,
    #[serde(borrow)]
    pub mode: Text<'a>,
    #[serde(borrow)]
    pub decision: Text<'a>,
    /// A boolean, read as its text (`"true"`).
    #[serde(borrow)]
    pub changed: Text<'a>,
    pub wait_ms: Number,
}

/// The envelope as read, before the checks of [`parse_line`].
#[derive(Debug, Default, PartialEq, Deserialize)]
pub(crate) struct RawLine<'a> {
    #[serde(default)]
    pub(crate) version: Number,
    #[serde(borrow, default)]
    pub(crate) id: Text<'a>,
    #[serde(rename = "type", borrow, default)]
    pub(crate) event_type: Text<'a>,
    #[serde(borrow, default)]
    pub(crate) subject: Text<'a>,
    #[serde(borrow, default)]
    pub(crate) severity: Text<'a>,
    #[serde(borrow, default)]
    pub(crate) data: Lenient<EventData<'a>>,
}

/// Parses one line (without its newline): the scanner of `line_scan` for the lines
/// ingest writes, serde_json for anything else.
pub fn parse_line(line: &[u8]) -> Result<EventLine<'_>, LineError> {
    // An envelope is an object (serde would also read a struct from an array).
    if line.trim_ascii_start().first() != Some(&b'{') {
        return Err(LineError::Json("not a JSON object".into()));
    }
    let raw = match crate::line_scan::raw_line(line) {
        Some(raw) => raw,
        None => parse_with_serde(line)?,
    };
    checked(raw)
}

/// The reference reading of a line.
pub(crate) fn parse_with_serde(line: &[u8]) -> Result<RawLine<'_>, LineError> {
    serde_json::from_slice(line).map_err(|e| LineError::Json(e.to_string()))
}

/// A version-1 envelope with an id and a type.
fn checked(raw: RawLine<'_>) -> Result<EventLine<'_>, LineError> {
    match raw.version.0 {
        Some(1.0) => {}
        Some(v) if v.is_finite() && v >= 0.0 => {
            return Err(LineError::UnsupportedVersion(v as u64))
        }
        _ => return Err(LineError::MissingField("version")),
    }
    let id = raw
        .id
        .0
        .filter(|s| !s.is_empty())
        .ok_or(LineError::MissingField("id"))?;
    let event_type = raw
        .event_type
        .0
        .filter(|s| !s.is_empty())
        .ok_or(LineError::MissingField("type"))?;
    Ok(EventLine {
        id,
        event_type,
        subject: raw.subject,
        severity: raw.severity,
        data: raw.data.0.unwrap_or_default(),
    })
}

/// A string field that reads as `None` when missing or of another type (numbers and booleans
/// are kept as their text, so `"level": 80` still reads).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.trim().is_empty())
    }
}

/// A number field that reads as `None` when missing or not a number (a numeric string reads).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Number(pub Option<f64>);

/// Moderation label categories: from an array of strings, or of objects with `category`,
/// `parent_name` / `ParentName`, or `name` / `Name` (first present wins). Anything else is empty.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LabelCategories<'a>(pub Vec<Cow<'a, str>>);

/// Any value; `None` when it does not have the expected shape.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Lenient<T>(pub(crate) Option<T>);

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|_| Text(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|_| Text(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Number(Some(v as f64)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Number(Some(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number(Some(v).filter(|v| v.is_finite())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Number(
            v.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        ))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Number(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Number(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|_| Number(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|_| Number(None))
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor)
    }
}

/// One element of `moderation_labels`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct LabelObject<'a> {
    #[serde(borrow)]
    category: Text<'a>,
    #[serde(borrow, alias = "ParentName", alias = "parent")]
    parent_name: Text<'a>,
    #[serde(borrow, alias = "Name")]
    name: Text<'a>,
}

struct LabelVisitor;

impl<'de> Visitor<'de> for LabelVisitor {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a label name or a label object")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let label = LabelObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok([label.category, label.parent_name, label.name]
            .into_iter()
            .find(|t| t.as_deref().is_some())
            .and_then(|t| t.0))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|_| None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct Label<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Label<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LabelVisitor).map(Label)
    }
}

struct LabelsVisitor;

impl<'de> Visitor<'de> for LabelsVisitor {
    type Value = LabelCategories<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Label(label)) = seq.next_element::<Label<'de>>()? {
            out.extend(label);
        }
        Ok(LabelCategories(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|_| LabelCategories::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(LabelCategories::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(LabelCategories::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(LabelCategories::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(LabelCategories::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(LabelCategories::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(LabelCategories::default())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LabelCategories<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LabelsVisitor)
    }
}

/// `data` is read only when it is an object; any other value reads as "no data".
impl<'de: 'a, 'a> Deserialize<'de> for Lenient<EventData<'a>> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = Lenient<EventData<'de>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                EventData::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|d| Lenient(Some(d)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|_| Lenient(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(DataVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_fields_statistics_use_and_skips_the_rest() {
        let line = br#"{"version":1,"id":"e1","type":"media.analyzed","source":"ai-processor","time":"2026-11-24T13:05:00Z","subject":"s3://media/videos/a b.mp4","severity":"info","data":{"kind":"video","prefix":"videos/","size_bytes":1048576,"verdict":"approved","moderation_labels":[{"name":"Smoking","parent_name":"Tobacco","confidence":81.5},"Violence",{"Name":"Gore"}],"uploaded_at":"2026-11-24T13:04:00Z","analyzed_at":"2026-11-24T13:05:00Z","extra":{"nested":[1,2,3]}}}"#;
        let e = parse_line(line).unwrap();
        assert_eq!(e.id, "e1");
        assert_eq!(e.event_type, "media.analyzed");
        assert_eq!(e.data.kind.as_deref(), Some("video"));
        assert_eq!(e.data.size_bytes, Number(Some(1_048_576.0)));
        assert_eq!(
            e.data.moderation_labels.0,
            vec!["Tobacco", "Violence", "Gore"]
        );
        assert_eq!(e.data.analyzed_at.as_deref(), Some("2026-11-24T13:05:00Z"));
        assert_eq!(e.subject.as_deref(), Some("s3://media/videos/a b.mp4"));
    }

    #[test]
    fn odd_data_reads_as_unknown_not_as_an_error() {
        let e = parse_line(
            br#"{"version":1,"id":"e2","type":"transcript.ready","data":{"language":null,"duration_seconds":"61.5","size_bytes":{"x":1},"moderation_labels":"none","kind":7}}"#,
        )
        .unwrap();
        assert_eq!(e.data.language.as_deref(), None);
        assert_eq!(e.data.duration_seconds, Number(Some(61.5)));
        assert_eq!(e.data.size_bytes, Number(None));
        assert!(e.data.moderation_labels.0.is_empty());
        assert_eq!(e.data.kind.as_deref(), Some("7"));
        let e = parse_line(br#"{"version":1,"id":"e3","type":"x","data":[1,2]}"#).unwrap();
        assert_eq!(e.data, EventData::default());
    }

    #[test]
    fn escaped_strings_are_read_correctly() {
        let e =
            parse_line(br#"{"version":1,"id":"a\"b","type":"t","data":{"language":"zh\u002dCN"}}"#)
                .unwrap();
        assert_eq!(e.id, "a\"b");
        assert_eq!(e.data.language.as_deref(), Some("zh-CN"));
    }

    #[test]
    fn lines_that_are_not_envelopes_are_typed_errors() {
        assert!(matches!(parse_line(b"{not json"), Err(LineError::Json(_))));
        assert!(matches!(parse_line(b"[1,2]"), Err(LineError::Json(_))));
        assert_eq!(
            parse_line(br#"{"version":2,"id":"x","type":"t"}"#),
            Err(LineError::UnsupportedVersion(2))
        );
        assert_eq!(
            parse_line(br#"{"id":"x","type":"t"}"#),
            Err(LineError::MissingField("version"))
        );
        assert_eq!(
            parse_line(br#"{"version":1,"id":"","type":"t"}"#),
            Err(LineError::MissingField("id"))
        );
        assert_eq!(
            parse_line(br#"{"version":1,"id":"x"}"#),
            Err(LineError::MissingField("type"))
        );
    }

    proptest! {
        #[test]
        fn any_bytes_give_an_event_or_a_typed_error(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_line(&line);
        }

        #[test]
        fn any_json_data_gives_an_event(data in arb_json()) {
            let line = serde_json::json!({"version":1,"id":"x","type":"t","data":data}).to_string();
            prop_assert!(parse_line(line.as_bytes()).is_ok());
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("kind".to_string()),
                        Just("size_bytes".to_string()),
                        Just("moderation_labels".to_string()),
                        Just("language".to_string()),
                        ".{0,6}".prop_map(String::from)
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
