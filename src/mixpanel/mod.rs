//! Talking to Mixpanel: regions, credentials, batches, the HTTP client, response parsing, and
//! the `/engage` (user profiles) body and answers.

pub mod auth;
pub mod batch;
pub mod client;
pub mod engage;
pub mod export;
pub mod export_budget;
pub mod flow;
pub mod region;
pub mod response;
#[cfg(test)]
pub(crate) mod test_server;
