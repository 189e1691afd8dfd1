//! Payloads of the `alarm` events (see [`super`]).
