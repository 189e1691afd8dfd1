//! Payloads of the `media` events (see [`super`]).
