//! The rollup writes, byte for byte, the documents the code of 2026-11-30 wrote for the same
//! raw objects (`tests/golden/*.json`), whatever changes inside it (parallel decoding, the
//! line scanner): rollup documents are read by other programs and compared across re-runs.
//! Needs no local AWS: the results bucket is an in-memory store.

#[path = "golden/input.rs"]
mod input;

use std::collections::BTreeMap;
use std::sync::Mutex;

use stats_aggregator::period::{Day, Hour};
use stats_aggregator::ports::{BlockingRead, PutOutcome, ResultsStore, StoreError};
use stats_aggregator::rollup::{write_daily, write_hourly};

#[derive(Default)]
struct Memory(Mutex<BTreeMap<String, Vec<u8>>>);

impl ResultsStore for Memory {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let objects = self.0.lock().unwrap();
        Ok(objects
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    async fn open(&self, key: &str) -> Result<Option<BlockingRead>, StoreError> {
        let body = self.0.lock().unwrap().get(key).cloned();
        Ok(body.map(|b| Box::new(std::io::Cursor::new(b)) as BlockingRead))
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    async fn put(&self, key: &str, body: Vec<u8>, _: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap().insert(key.to_string(), body);
        Ok(())
    }
    async fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
        c: &str,
    ) -> Result<PutOutcome, StoreError> {
        if self.0.lock().unwrap().contains_key(key) {
            return Ok(PutOutcome::AlreadyExists);
        }
        self.put(key, body, c).await.map(|_| PutOutcome::Created)
    }
}

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/");

#[tokio::test]
async fn rollup_documents_are_byte_identical_to_the_stored_ones() {
    let store = Memory::default();
    for (key, body) in input::raw_objects() {
        store.put(&key, body, "").await.unwrap();
    }
    for concurrency in [1, 3] {
        let hour = Hour::parse("2026-11-24T13").unwrap();
        write_hourly(&store, hour, concurrency).await.unwrap();
        write_daily(&store, Day::parse("2026-11-24").unwrap(), concurrency)
            .await
            .unwrap();
        let objects = store.0.lock().unwrap().clone();
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
            let want = std::fs::read(format!("{GOLDEN}{file}")).unwrap();
            assert!(
                objects[key] == want,
                "{key} differs from {file} (concurrency {concurrency})"
            );
        }
        // The next round rolls every hour up again from raw.
        store
            .0
            .lock()
            .unwrap()
            .retain(|k, _| k.starts_with("stats/raw/"));
    }
}
