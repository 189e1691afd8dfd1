//! The ports of the domain, free of AWS types. Every one is `shared`'s, with its AWS adapter
//! there too, so this crate has no adapter of its own:
//! - [`ObjectStore`]: the results bucket (`stats/raw/`, `stats/hourly/`, `stats/daily/`);
//!   adapter `shared::results::S3ObjectStore`;
//! - [`EventPublisher`]: the `suite-events` topic (`stats.digest`); adapter
//!   `shared::events::SnsEventPublisher`;
//! - [`DeadLetterSink`]: where malformed ingest records go; adapter `shared::batch::DeadLetters`;
//! - [`Clock`]: "now" for the schedule; `shared::time::SystemClock`.

pub use shared::batch::DeadLetterSink;
pub use shared::events::EventPublisher;
pub use shared::results::ObjectStore;
pub use shared::time::Clock;
