//! The producer side of the contract test: every event a producer's tests publish is checked
//! against `events/contracts/<type>.json`, the file every consumer's tests read. Ids and times
//! vary per run and are left out of the comparison; everything else must match, so a renamed or
//! removed field fails the producer's test until the fixture (and so the consumers' tests) are
//! updated. `UPDATE_CONTRACTS=1` rewrites the fixtures from what the producers publish.

use std::path::PathBuf;

use crate::events::Envelope;

/// `events/contracts/` of the repository.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("events")
        .join("contracts")
}

fn comparable(envelope: &Envelope) -> serde_json::Value {
    let mut value = serde_json::to_value(envelope).expect("an envelope serialises");
    value["id"] = serde_json::Value::Null;
    value["time"] = serde_json::Value::Null;
    value
}

/// Checks (or with `UPDATE_CONTRACTS=1` writes) the fixture of each event's type. Only the
/// first event of each type is compared, so a test publishing several of one type names the
/// one it wants first.
pub fn check(events: &[Envelope]) {
    let mut seen = std::collections::BTreeSet::new();
    for event in events {
        if !seen.insert(event.event_type.clone()) {
            continue;
        }
        let path = fixture_dir().join(format!("{}.json", event.event_type));
        if std::env::var_os("UPDATE_CONTRACTS").is_some() || !path.exists() {
            std::fs::create_dir_all(fixture_dir()).expect("events/contracts");
            let text = serde_json::to_string_pretty(event).expect("serialises") + "\n";
            std::fs::write(&path, text).expect("write fixture");
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let fixture = Envelope::parse(&text)
            .unwrap_or_else(|e| panic!("{}: not an envelope: {e}", path.display()));
        assert_eq!(
            comparable(event),
            comparable(&fixture),
            "the producer's {} event no longer matches {}; if the change is intended, run the \
             producer's tests with UPDATE_CONTRACTS=1 and make every consumer read the new shape",
            event.event_type,
            path.display()
        );
    }
}

/// [`check`] for the events of the given types only: the one test that owns each type's
/// fixture names it, so other flows publishing that type with other data do not disagree.
pub fn check_types(events: &[Envelope], types: &[&str]) {
    let owned: Vec<Envelope> = events
        .iter()
        .filter(|e| types.contains(&e.event_type.as_str()))
        .cloned()
        .collect();
    assert!(
        types
            .iter()
            .all(|t| owned.iter().any(|e| e.event_type == *t)),
        "the flow published none of some contract types {types:?}"
    );
    check(&owned);
}

/// Every fixture, for the consumers' tests: (type, envelope).
pub fn fixtures() -> Vec<(String, Envelope)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(fixture_dir()) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    for path in paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let envelope = Envelope::parse(&text)
            .unwrap_or_else(|e| panic!("{}: not an envelope: {e}", path.display()));
        out.push((envelope.event_type.clone(), envelope));
    }
    out
}
