//! Payloads of the `cost` events (see [`super`]).
