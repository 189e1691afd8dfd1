//! The fast path of [`crate::event_line::parse_line`]: a scanner for the lines ingest writes
//! (compact JSON, no escapes), reading the envelope fields statistics use and stepping over
//! the rest without decoding it.
//!
//! serde_json stays the definition of a line's meaning. The scanner gives up (`None`) on
//! anything it does not read exactly as serde_json would — a backslash or control character
//! anywhere, invalid UTF-8, a repeated field, deep nesting, a number that is not a small
//! non-negative integer where a field is read, an exponent anywhere, any syntax error — and
//! the caller then parses the line with serde_json. Values it reads but does not decode
//! itself (a negative or fractional number, `true`, a nested value in a text field) are
//! handed to the same `Deserialize` implementations serde_json would call. So every line the
//! scanner reads gives the [`RawLine`] serde_json gives, which a property test checks.
//!
//! Why not a SIMD JSON crate: which lines count as malformed, and the exact numbers read, must
//! stay serde_json's (rollup documents are compared byte for byte across versions); a second
//! full parser would disagree with it on edge cases. This scanner only decides what it is sure
//! of and leaves the rest to serde_json.

use std::borrow::Cow;

use serde::Deserialize;

use crate::event_line::{EventData, LabelCategories, Lenient, Number, RawLine, Text};

/// serde_json allows 128 levels; lines nested deeper than this go to serde_json.
const MAX_DEPTH: u32 = 32;

/// The envelope fields of `line`, or `None` when serde_json must decide.
pub(crate) fn raw_line(line: &[u8]) -> Option<RawLine<'_>> {
    // No escapes, no control characters (so no JSON whitespace but spaces, and strings end
    // at the next quote), and UTF-8 for borrowing `&str`.
    if !is_plain(line) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let mut scanner = Scanner {
        text,
        bytes: line,
        at: 0,
        depth: 0,
    };
    let mut raw = RawLine::default();
    scanner.envelope(&mut raw)?;
    scanner.spaces();
    (scanner.at == line.len()).then_some(raw)
}

/// No backslash and no byte below 0x20. Eight bytes at a time without early exit, so the
/// compiler turns it into vector code (a byte loop with `any` is several times slower).
fn is_plain(line: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const LOW7: u64 = u64::from_ne_bytes([0x7F; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut chunks = line.chunks_exact(8);
    let mut bad = 0;
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().expect("8 bytes"));
        // Per byte, the high bit of `(b & 0x7F) + k` is set when `b & 0x7F >= 0x80 - k`
        // (no carry crosses bytes); or-ing `b` counts bytes >= 0x80 as "at least".
        let below_space = !(((word & LOW7) + ONES * 0x60) | word);
        let x = word ^ (ONES * u64::from(b'\\'));
        let backslash = !(((x & LOW7) + LOW7) | x);
        bad |= (below_space | backslash) & HIGH;
    }
    bad == 0 && chunks.remainder().iter().all(|&b| b >= 0x20 && b != b'\\')
}

/// The position of the first `byte` in `haystack`, eight bytes at a time.
///
/// Finding the end of each string was most of the scanning time. Strings are short (a dozen
/// bytes on average), and `memchr::memchr` picks its routine at run time through a function
/// pointer, so it is never inlined, and even its SSE2 routine left helper calls in the loop in
/// this build. This loop inlines into the scanner and measured faster on the rollup's lines
/// than both (for strings and for the newlines between 0.5 KB lines alike).
#[inline(always)]
pub(crate) fn find_byte(byte: u8, haystack: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let pattern = ONES * u64::from(byte);
    let mut at = 0;
    while let Some(chunk) = haystack.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?) ^ pattern;
        // The high bit of each zero byte of `word`; a byte above (after) a zero byte may be
        // marked too, never one before, so the lowest mark is the first match.
        let zero = word.wrapping_sub(ONES) & !word & HIGH;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = haystack.get(at..)?;
    rest.iter().position(|&b| b == byte).map(|i| at + i)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: u32,
}

/// Fields of a JSON object, each at most once (serde rejects a repeated field).
struct Seen(u32);

impl Seen {
    fn first(&mut self, field: u32) -> Option<()> {
        let bit = 1 << field;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(())
    }
}

impl<'a> Scanner<'a> {
    fn spaces(&mut self) {
        while self.bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.spaces();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string at the cursor (no escapes: checked for the whole line). Inlined: it is most
    /// of the scanner's calls, and the call itself cost as much as the search.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = find_byte(b'"', &self.bytes[start..])?;
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    /// Walks an object, calling `field` for each key with the cursor on its value; `field`
    /// must consume the value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.enter()?;
        if self.peek()? == b'}' {
            self.at += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Walks an array, calling `element` with the cursor on each element.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.enter()?;
        if self.peek()? == b']' {
            self.at += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// A number token, checked against JSON's grammar; exponents are left to serde_json
    /// (it refuses some it cannot represent).
    fn number(&mut self) -> Option<&'a str> {
        self.spaces();
        let start = self.at;
        let digit = |s: &Self| s.bytes.get(s.at).is_some_and(u8::is_ascii_digit);
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.bytes.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                while digit(self) {
                    self.at += 1;
                }
            }
            _ => return None,
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if !digit(self) {
                return None;
            }
            while digit(self) {
                self.at += 1;
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            return None;
        }
        self.text.get(start..self.at)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.spaces();
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// Steps over any value, checking its syntax.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|s, _| s.skip()),
            b'[' => self.array(Self::skip),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    /// The text of the value at the cursor, checked.
    fn span(&mut self) -> Option<&'a str> {
        self.spaces();
        let start = self.at;
        self.skip()?;
        self.text.get(start..self.at)
    }

    /// A value through the `Deserialize` implementation serde_json would use.
    fn by_serde<T: Deserialize<'a>>(&mut self) -> Option<T> {
        let span = self.span()?;
        T::deserialize(&mut serde_json::Deserializer::from_str(span)).ok()
    }

    /// A non-negative integer of at most 18 digits (read exactly as serde_json reads it).
    fn small_integer(&mut self) -> Option<u64> {
        let start = self.at;
        let token = self.number()?;
        if token.len() <= 18 && token.bytes().all(|b| b.is_ascii_digit()) {
            return token.parse().ok();
        }
        self.at = start;
        None
    }

    fn text(&mut self) -> Option<Text<'a>> {
        match self.peek()? {
            b'"' => Some(Text(Some(Cow::Borrowed(self.string()?)))),
            b'0'..=b'9' => match self.small_integer() {
                Some(n) => Some(Text(Some(Cow::Owned(n.to_string())))),
                None => self.by_serde(),
            },
            _ => self.by_serde(),
        }
    }

    fn number_field(&mut self) -> Option<Number> {
        match self.peek()? {
            b'0'..=b'9' => match self.small_integer() {
                Some(n) => Some(Number(Some(n as f64))),
                None => self.by_serde(),
            },
            _ => self.by_serde(),
        }
    }

    /// Fills `raw` in place: the struct is large, and moving it per line showed in profiles.
    fn envelope(&mut self, raw: &mut RawLine<'a>) -> Option<()> {
        let mut seen = Seen(0);
        self.object(|s, key| {
            match key {
                "version" => (seen.first(0)?, raw.version = s.number_field()?),
                "id" => (seen.first(1)?, raw.id = s.text()?),
                "type" => (seen.first(2)?, raw.event_type = s.text()?),
                "subject" => (seen.first(3)?, raw.subject = s.text()?),
                "severity" => (seen.first(4)?, raw.severity = s.text()?),
                "data" => (seen.first(5)?, s.data(&mut raw.data)?),
                _ => ((), s.skip()?),
            };
            Some(())
        })
    }

    /// Reads `data` into `out` (which is `Lenient(None)`, as is any `data` but an object).
    fn data(&mut self, out: &mut Lenient<EventData<'a>>) -> Option<()> {
        if self.peek()? != b'{' {
            return self.skip();
        }
        let d = out.0.insert(EventData::default());
        let mut seen = Seen(0);
        self.object(|s, key| {
            match key {
                "kind" => (seen.first(0)?, d.kind = s.text()?),
                "prefix" => (seen.first(1)?, d.prefix = s.text()?),
                "size_bytes" => (seen.first(2)?, d.size_bytes = s.number_field()?),
                "verdict" => (seen.first(3)?, d.verdict = s.text()?),
                "moderation_labels" => (seen.first(4)?, d.moderation_labels = s.labels()?),
                "latency_ms" => (seen.first(5)?, d.latency_ms = s.number_field()?),
                "uploaded_at" => (seen.first(6)?, d.uploaded_at = s.text()?),
                "analyzed_at" => (seen.first(7)?, d.analyzed_at = s.text()?),
                "language" => (seen.first(8)?, d.language = s.text()?),
                "duration_seconds" => (seen.first(9)?, d.duration_seconds = s.number_field()?),
                "channel" => (seen.first(10)?, d.channel = s.text()?),
                "budget" => (seen.first(11)?, d.budget = s.text()?),
                "action" => (seen.first(12)?, d.action = s.text()?),
                "mode" => (seen.first(13)?, d.mode = s.text()?),
                "decision" => (seen.first(14)?, d.decision = s.text()?),
                "changed" => (seen.first(15)?, d.changed = s.text()?),
                "wait_ms" => (seen.first(16)?, d.wait_ms = s.number_field()?),
                _ => ((), s.skip()?),
            };
            Some(())
        })
    }

    fn labels(&mut self) -> Option<LabelCategories<'a>> {
        if self.peek()? != b'[' {
            self.skip()?;
            return Some(LabelCategories::default());
        }
        let mut out = Vec::new();
        self.array(|s| {
            match s.peek()? {
                b'"' => out.push(Cow::Borrowed(s.string()?)),
                b'{' => out.extend(s.label_object()?),
                _ => s.skip()?,
            }
            Some(())
        })?;
        Some(LabelCategories(out))
    }

    /// The category of one label object: `category`, else `parent_name` (`ParentName`,
    /// `parent`), else `name` (`Name`), the first that is not blank.
    fn label_object(&mut self) -> Option<Option<Cow<'a, str>>> {
        let mut fields: [Text<'a>; 3] = Default::default();
        let mut seen = Seen(0);
        self.object(|s, key| {
            let field = match key {
                "category" => 0,
                "parent_name" | "ParentName" | "parent" => 1,
                "name" | "Name" => 2,
                _ => return s.skip(),
            };
            seen.first(field)?;
            fields[field as usize] = s.text()?;
            Some(())
        })?;
        Some(
            fields
                .into_iter()
                .find(|t| t.as_deref().is_some())
                .and_then(|t| t.0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_line::parse_with_serde;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// The scanner reads `line` as serde_json does, or leaves it to serde_json.
    fn agrees(line: &str) -> Result<bool, TestCaseError> {
        match raw_line(line.as_bytes()) {
            None => Ok(false),
            Some(scanned) => {
                let serde = parse_with_serde(line.as_bytes());
                prop_assert_eq!(Ok(scanned), serde, "{}", line);
                Ok(true)
            }
        }
    }

    #[test]
    fn the_lines_ingest_writes_take_the_fast_path_and_read_as_with_serde() {
        let lines = [
            json!({"version":1,"id":"e1","type":"media.analyzed","source":"ai-processor","time":"2026-11-24T13:05:00.123Z","subject":"s3://media/videos/a b.mp4","severity":"info","data":{"kind":"video","prefix":"videos/","size_bytes":1048576,"content_type":"video/mp4","verdict":"review","moderation_labels":[{"name":"Smoking","parent_name":"Tobacco","confidence":81.5},"Violence",{"Name":"Gore"},{"category":" ","name":"Pills"}],"labels":["Person"],"uploaded_at":"2026-11-24T13:04:00Z","latency_ms":6123,"backend":"rekognition","document":"s3://r/analysis/a.json"}}),
            json!({"version":1,"id":"e2","type":"transcript.ready","data":{"language":"zh-CN","duration_seconds":1834.6,"word_count":12}}),
            json!({"version":1,"id":"e3","type":"notification.failed","data":{"channel":"dingtalk","attempts":3,"error":null,"ok":false}}),
            json!({"version":1,"id":"e4","type":"cost.threshold","severity":"warning","data":{"budget":"monthly","level":80,"percentage":81.2,"spend":-0.0}}),
            json!({"version":1.0,"id":7,"type":"x","data":[1,{"a":[]}]}),
            json!({"version":1,"id":"中文","type":"x","data":{"kind":{"nested":[true,null]},"size_bytes":"12.5","latency_ms":-3}}),
        ];
        let big = r#"{"version":1,"id":"a","type":"t","data":{"size_bytes":123456789012345678901234,"kind":12345678901234567890}}"#;
        for line in lines.iter().map(Value::to_string).chain([big.to_string()]) {
            assert!(agrees(&line).unwrap(), "fast path not taken: {line}");
        }
    }

    #[test]
    fn what_the_scanner_is_not_sure_of_is_left_to_serde() {
        for line in [
            r#"{"version":1,"id":"a\"b","type":"t"}"#,
            r#"{"version":1,"id":"a","id":"b","type":"t"}"#,
            r#"{"version":1,"id":"a","type":"t","data":{"name":1,"kind":"a","kind":"b"}}"#,
            r#"{"version":1,"id":"a","type":"t","data":{"moderation_labels":[{"parent_name":"a","ParentName":"b"}]}}"#,
            r#"{"version":1e0,"id":"a","type":"t"}"#,
            r#"{"version":1,"id":"a","type":"t","x":1E400}"#,
            r#"{"version":1,"id":"a","type":"t","x":01}"#,
            r#"{"version":1,"id":"a","type":"t"} x"#,
            r#"{"version":1,"id":"a","type":"t",}"#,
            "{\"version\":1,\"id\":\"a\",\t\"type\":\"t\"}",
        ] {
            assert_eq!(raw_line(line.as_bytes()), None, "{line}");
        }
        let deep = format!(
            r#"{{"version":1,"id":"a","type":"t","x":{}1{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert_eq!(raw_line(deep.as_bytes()), None);
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[ -~]{0,10}".prop_map(Value::from),
            "[0-9. -]{0,6}".prop_map(Value::from),
            ".{0,4}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(arb_key(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("version".to_string()),
            Just("id".to_string()),
            Just("type".to_string()),
            Just("subject".to_string()),
            Just("severity".to_string()),
            Just("data".to_string()),
            Just("kind".to_string()),
            Just("size_bytes".to_string()),
            Just("latency_ms".to_string()),
            Just("changed".to_string()),
            Just("wait_ms".to_string()),
            Just("moderation_labels".to_string()),
            Just("name".to_string()),
            Just("Name".to_string()),
            Just("parent_name".to_string()),
            Just("category".to_string()),
            Just("language".to_string()),
            Just("duration_seconds".to_string()),
            Just("channel".to_string()),
            "[a-z_]{0,6}".prop_map(String::from),
        ]
    }

    proptest! {
        #[test]
        fn find_byte_finds_the_first_occurrence(haystack in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b'\n'), any::<u8>()], 0..80), byte in prop_oneof![Just(b'"'), Just(b'\n'), any::<u8>()]) {
            prop_assert_eq!(find_byte(byte, &haystack), haystack.iter().position(|&b| b == byte));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_object_reads_as_with_serde(fields in proptest::collection::btree_map(arb_key(), arb_value(), 0..8)) {
            let line = Value::Object(fields.into_iter().collect()).to_string();
            agrees(&line)?;
        }

        #[test]
        fn damaged_lines_read_as_with_serde(fields in proptest::collection::btree_map(arb_key(), arb_value(), 1..6), cut in any::<prop::sample::Index>(), insert in "[ -~]{0,3}") {
            let line = Value::Object(fields.into_iter().collect()).to_string();
            let at = cut.index(line.len() + 1);
            let at = (0..=at).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
            let mut damaged = line[..at].to_string();
            damaged.push_str(&insert);
            damaged.push_str(&line[at..]);
            agrees(&damaged)?;
            agrees(&line[..at])?;
        }
    }
}
