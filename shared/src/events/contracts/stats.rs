//! Payloads of the `stats` events (see [`super`]).
