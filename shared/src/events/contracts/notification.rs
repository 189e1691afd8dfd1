//! Payloads of the `notification` events (see [`super`]).
