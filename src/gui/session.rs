//! What the wizard's steps share: the loaded file, the mapping, and the results of each step.

use crate::mapping::Mapping;
use crate::source::{Record, Sniff, SourceOptions};

/// How many rows the File step reads for its preview (and the Map step for its samples).
pub const PREVIEW_ROWS: usize = 1000;

/// A file that was sniffed and whose head was read.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// What the sniffer found (possibly after the user's overrides).
    pub sniff: Sniff,
    /// The overrides the user chose.
    pub options: SourceOptions,
    /// The first [`PREVIEW_ROWS`] records.
    pub preview: Vec<Record>,
    /// How long sniff + preview took, in milliseconds.
    pub load_ms: u128,
}

/// How sure the suggestion was about one Mixpanel field (0.0 to 1.0).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldConfidence {
    /// The field, as the Map step names it ("Event name", "User ID", ...).
    pub field: String,
    /// 0.0 (a guess) to 1.0 (an exact name match).
    pub confidence: f32,
    /// Why the suggestion chose what it chose.
    pub reason: String,
}

/// The state all steps read and write.
#[derive(Debug, Default)]
pub struct Session {
    /// The file, once loaded.
    pub file: Option<LoadedFile>,
    /// The mapping being edited.
    pub mapping: Mapping,
    /// Per-field confidence of the suggestion the mapping started from.
    pub confidence: Vec<FieldConfidence>,
    /// Set when a saved template was applied automatically: its name.
    pub applied_template: Option<String>,
    /// Counts of the last finished check, and the mapping it ran with.
    pub checked: Option<CheckedMapping>,
    /// The connection chosen in the Connect step.
    pub connection: Option<super::backend::ActiveConnection>,
    /// Whether the import ran to its end (completed or cancelled) at least once.
    pub imported: bool,
    /// The last import's result.
    pub import_result: Option<super::backend::ImportSummary>,
    /// Whether the Review step was opened after an import.
    pub reviewed: bool,
}

/// A check that finished, tied to the mapping it checked.
#[derive(Debug, Clone)]
pub struct CheckedMapping {
    /// The mapping the check ran with.
    pub mapping: Mapping,
    /// Rows read.
    pub rows: u64,
    /// Valid rows (would be sent).
    pub valid: u64,
    /// Invalid rows.
    pub invalid: u64,
}

impl Session {
    /// The confidence shown for `field`, if the suggestion gave one.
    pub fn confidence_of(&self, field: &str) -> Option<f32> {
        self.confidence
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.confidence)
    }

    /// Whether the last check is still valid for the current mapping.
    pub fn check_is_current(&self) -> bool {
        self.checked
            .as_ref()
            .is_some_and(|c| c.mapping == self.mapping)
    }
}
