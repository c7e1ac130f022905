//! Mixport: import historical ("backdated") events into Mixpanel.
//!
//! The crate is layered, from the file on disk to the network:
//!
//! - [`source`]: open a file, sniff its format/encoding/delimiter/header, stream records.
//! - [`mapping`]: the mapping model (a reusable JSON template), suggestion, time parsing, country
//!   codes, property typing, insert-id derivation, and the record → event transform.
//! - [`validate`]: Mixpanel's strict-mode rules and our warnings, as typed data.
//! - [`pipeline`]: the dry-run check and the live import over the same stream; progress, cancel,
//!   pause, the resume journal, the run report and the rejected-rows export.
//! - [`mixpanel`]: regions, credentials, batching, the HTTP client and response parsing.
//! - [`verify`]: did a run land? Mixpanel's raw export compared with what the run delivered,
//!   and the guidance for correcting a run.
//! - [`credentials`] and [`config`]: the OS keychain and the app's saved connections.
//! - [`output`]: the rule that no output overwrites a file of the run, and atomic writes.
//! - [`session`]: the API both shells call for one file: open, prepare (with the questions that
//!   block), check, import and resume, the run history, remembered mappings, connections.
//! - [`cli`] and `gui`: thin shells over the layers above. No GUI type appears below `gui`, and
//!   no command-line flag or exit code below `cli`.

pub mod cli;
pub mod config;
pub mod credentials;
pub mod mapping;
pub mod mixpanel;
pub mod output;
pub mod pipeline;
pub mod session;
pub mod source;
pub mod validate;
pub mod verify;

#[cfg(feature = "gui")]
pub mod gui;
