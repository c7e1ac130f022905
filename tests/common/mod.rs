//! Shared test fixtures: `mod common;` in an integration test gives it the fake Mixpanel server.

pub mod fake_mixpanel;
