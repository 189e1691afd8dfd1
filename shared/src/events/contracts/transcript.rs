//! Payloads of the `transcript` events (see [`super`]).
