//! Talking to Mixpanel: regions, credentials, batches, the HTTP client, response parsing.
