//! Parsing `/import` responses into per-event outcomes.
