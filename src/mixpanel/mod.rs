//! Talking to Mixpanel: regions, credentials, batches, the HTTP client, response parsing.

pub mod batch;
