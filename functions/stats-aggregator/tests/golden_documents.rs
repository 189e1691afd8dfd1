//! The rollup writes, byte for byte, the documents the code of 2026-11-30 wrote for the same
//! raw objects (`tests/golden/*.json`), whatever changes inside it (parallel decoding, the
//! line scanner): rollup documents are read by other programs and compared across re-runs.
//! The one change on purpose since: the `reviews` object (issue 20), zeros for these inputs.
//! Needs no local AWS: the results bucket is an in-memory store.

#[path = "golden/input.rs"]
mod input;

use shared::results::ObjectStore;
use shared::testkit::MemoryObjectStore;
use stats_aggregator::period::{Day, Hour};
use stats_aggregator::rollup::{write_daily, write_hourly};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/");

#[tokio::test]
async fn rollup_documents_are_byte_identical_to_the_stored_ones() {
    let store = MemoryObjectStore::default();
    for (key, body) in input::raw_objects() {
        store.insert(&key, body);
    }
    for concurrency in [1, 3] {
        let hour = Hour::parse("2026-11-24T13").unwrap();
        write_hourly(&store, hour, concurrency).await.unwrap();
        write_daily(
            &store,
            Day::parse("2026-11-24").unwrap(),
            &shared::time::BusinessTimeZone::utc(),
            concurrency,
        )
        .await
        .unwrap();

        for (key, file) in [
            (
                "stats/hourly/2026/11/24/13.json",
                "hourly-2026-11-24T13.json",
            ),
            (
                "stats/hourly/2026/11/24/14.json",
                "hourly-2026-11-24T14.json",
            ),
            (
                "stats/hourly/2026/11/24/15.json",
                "hourly-empty-2026-11-24T15.json",
            ),
            ("stats/daily/2026/11/24.json", "daily-2026-11-24.json"),
        ] {
            // The stored documents were written pretty-printed by the code before the rollup's
            // second round; documents are now one line each (Athena), with the same content.
            let want: serde_json::Value =
                serde_json::from_slice(&std::fs::read(format!("{GOLDEN}{file}")).unwrap()).unwrap();
            let got = store.body(key).expect("document written");
            assert_eq!(
                got.iter().filter(|b| **b == b'\n').count(),
                1,
                "{key} is one line"
            );
            let got: serde_json::Value = serde_json::from_slice(&got).unwrap();
            assert!(
                got == want,
                "{key} differs from {file} (concurrency {concurrency})"
            );
        }
        // The next round rolls every hour up again from raw.
        for key in store.keys() {
            if !key.starts_with("stats/raw/") {
                store.delete(&key).await.unwrap();
            }
        }
    }
}
