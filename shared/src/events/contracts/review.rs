//! Payloads of the `review` events (see [`super`]).
