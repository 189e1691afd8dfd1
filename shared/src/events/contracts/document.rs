//! Payloads of the `document` events (see [`super`]).
