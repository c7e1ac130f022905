//! What the wizard shows, per opened file: one [`FileSession`] per file, replaced whole when
//! another file (or the same file read another way) is opened, so nothing of one file is ever
//! shown as the current state of another.

use crate::mapping::IMPORT_LABEL_PROPERTY;
use crate::mapping::suggest::profiles::ProfileSuggestion;
use crate::mapping::suggest::{FieldGuess, Preset};
use crate::mapping::{ImportKind, Mapping};
use crate::pipeline::check::CheckReport;
use crate::session::connection::ActiveConnection;
use crate::session::run::{RunRecord, import_label};
use crate::session::{Blocker, MappingOrigin, OpenedFile, Prepared, review};
use crate::source::RawHead;

/// A check that finished, tied to the exact mapping it checked.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The mapping the check ran with.
    pub mapping: Mapping,
    /// What it found.
    pub report: CheckReport,
}

/// One opened file and everything made for it.
#[derive(Debug, Clone)]
pub struct FileSession {
    /// A number unique to this session (a new one per opened file).
    pub serial: u64,
    /// The file, sniffed, with its head.
    pub file: OpenedFile,
    /// The file's first rows as written (title rows and header included), for choosing the
    /// header row; or why they could not be read.
    pub raw_head: Result<RawHead, String>,
    /// The mapping being edited.
    pub mapping: Mapping,
    /// Where the first mapping came from.
    pub origin: MappingOrigin,
    /// The suggestion's guess per field.
    pub guesses: Vec<FieldGuess>,
    /// The export schema the file's columns were recognised as ("Looks like a Segment export").
    pub preset: Option<Preset>,
    /// The suggestion's profile fields, and why the file looks like user profiles (if it does).
    pub profiles: ProfileSuggestion,
    /// A time zone named in the file's title rows, offered in the Map step's time section.
    pub title_zone: Option<TitleZone>,
    /// What blocks the check and the import, for [`Self::mapping`] (kept current by
    /// [`Self::mapping_changed`]).
    pub blockers: Vec<Blocker>,
    /// The last check of this file (possibly of an older mapping: see [`Self::check_is_current`]).
    pub check: Option<CheckResult>,
    /// The import run of this session, once it ended (or stopped).
    pub run: Option<RunRecord>,
    /// Whether Review was opened after the run.
    pub reviewed: bool,
    /// The earlier run this file corrects ("Fix and re-import"), when it does.
    pub correction: Option<Correction>,
}

/// A corrected re-import of an earlier run, chosen in "Fix and re-import": the file is imported
/// with a new insert-ID generation and a new label, so Mixpanel keeps every new event, and the
/// Import confirmation says what will exist twice if the old events were not deleted first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The run being corrected.
    pub run_id: String,
    /// That run's import label.
    pub old_label: Option<String>,
    /// The connection that run used (the correction goes to the same project).
    pub connection: Option<String>,
    /// The new insert-ID generation.
    pub generation: u32,
    /// The new import label.
    pub label: String,
    /// What will exist twice in Mixpanel if the old events stay, in a sentence; `None` when
    /// the user deleted them all first.
    pub twice: Option<String>,
}

impl Correction {
    /// What will exist twice in Mixpanel, in a sentence: `(true, warning)`, or `(false, why
    /// nothing will)` when the user deleted the old events first.
    pub fn duplicates_sentence(&self) -> (bool, &str) {
        match &self.twice {
            Some(text) => (true, text),
            None => (
                false,
                "No event will exist twice: the old events are deleted and the new ones have new insert IDs.",
            ),
        }
    }

    /// Put the correction into `mapping`: always the new generation; the new label unless the
    /// user gave another one (a missing label, or the old run's, becomes the new one).
    pub fn apply(&self, mapping: &mut Mapping) {
        mapping.insert_id_generation = self.generation;
        let label = import_label(mapping);
        if label.is_none() || label == self.old_label {
            mapping.constants.insert(
                IMPORT_LABEL_PROPERTY.to_owned(),
                serde_json::Value::String(self.label.clone()),
            );
        }
    }
}

/// A source time zone named in the file's title rows ("Zeitzone: Europe/Berlin"). The
/// suggestion reads times in it; the Map step says so and asks the user to keep or change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleZone {
    /// The IANA zone.
    pub zone: String,
    /// The title text that named it.
    pub text: String,
    /// Whether the user kept it or chose another zone (or the mapping was the user's own:
    /// remembered, a template, a resumed run).
    pub answered: bool,
}

impl FileSession {
    /// A session for a freshly opened file and its prepared mapping.
    pub fn new(serial: u64, file: OpenedFile, prepared: Prepared) -> Self {
        let title_zone = prepared
            .suggestion
            .timezone_hint
            .clone()
            .map(|(zone, text)| TitleZone {
                answered: prepared.origin != MappingOrigin::Suggested
                    || prepared.mapping.row_time().timezone != zone,
                zone,
                text,
            });
        let mut session = Self {
            serial,
            file,
            raw_head: Ok(RawHead::default()),
            mapping: prepared.mapping,
            origin: prepared.origin,
            guesses: prepared.guesses,
            preset: prepared.suggestion.preset,
            profiles: prepared.suggestion.profiles,
            title_zone,
            blockers: Vec::new(),
            check: None,
            run: None,
            reviewed: false,
            correction: None,
        };
        session.mapping_changed();
        session
    }

    /// Call after the mapping was edited: keeps a correction's generation and label (a template
    /// or "Start over" must not bring the old insert IDs back), settles what the data proves,
    /// keeps the property columns in step, and lists what blocks.
    pub fn mapping_changed(&mut self) {
        if let Some(correction) = &self.correction {
            correction.apply(&mut self.mapping);
        }
        self.blockers = review(&mut self.mapping, &self.file);
    }

    /// Make the mapping one of `kind` (events or user profiles) through the session, which
    /// fills the fields the suggestion found for that kind; then review it.
    pub fn set_kind(&mut self, kind: ImportKind) {
        crate::session::prepare::set_kind(&mut self.mapping, kind, &self.file);
        self.mapping_changed();
    }

    /// What each row of the file becomes.
    pub fn kind(&self) -> ImportKind {
        self.mapping.kind
    }

    /// Whether the check and the import may run: nothing blocks.
    pub fn is_ready(&self) -> bool {
        self.blockers.is_empty()
    }

    /// Whether the last check ran to its end with exactly the current mapping.
    pub fn check_is_current(&self) -> bool {
        self.check
            .as_ref()
            .is_some_and(|c| c.mapping == self.mapping && !c.report.cancelled)
    }

    /// The current check, when it is current.
    pub fn current_check(&self) -> Option<&CheckReport> {
        self.check
            .as_ref()
            .filter(|c| c.mapping == self.mapping && !c.report.cancelled)
            .map(|c| &c.report)
    }
}

/// The state the steps share: the current file's session and the connection in use.
#[derive(Debug, Default)]
pub struct Session {
    /// The open file's session, when a file is open.
    pub file: Option<FileSession>,
    /// The connection chosen in the Connect step (kept across files).
    pub connection: Option<ActiveConnection>,
    /// Counts every change of [`Self::connection`] (chosen, saved again, deleted).
    pub connection_version: u64,
    /// Counts the runs Mixpanel refused (an earlier "Connected" answer is then stale).
    pub refusals: u64,
}

impl Session {
    /// The open file.
    pub fn opened(&self) -> Option<&OpenedFile> {
        self.file.as_ref().map(|s| &s.file)
    }

    /// The mapping of the open file.
    pub fn mapping(&self) -> Option<&Mapping> {
        self.file.as_ref().map(|s| &s.mapping)
    }

    /// Whether the open file's last check is current.
    pub fn check_is_current(&self) -> bool {
        self.file
            .as_ref()
            .is_some_and(FileSession::check_is_current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn correction() -> Correction {
        Correction {
            run_id: "20261202T100000Z-abcd".to_owned(),
            old_label: Some("sales 2026-12-02".to_owned()),
            connection: Some("Prod".to_owned()),
            generation: 2,
            label: "sales fix 2".to_owned(),
            twice: None,
        }
    }

    fn label(mapping: &Mapping) -> Option<String> {
        import_label(mapping)
    }

    #[test]
    fn a_correction_keeps_its_generation_and_replaces_the_old_or_missing_label_only() {
        let c = correction();
        // A template or "Start over": generation 0, the old label or none.
        let mut mapping = Mapping::default();
        c.apply(&mut mapping);
        assert_eq!(mapping.insert_id_generation, 2);
        assert_eq!(label(&mapping).as_deref(), Some("sales fix 2"));
        let mut mapping = Mapping::default();
        mapping.constants.insert(
            IMPORT_LABEL_PROPERTY.to_owned(),
            serde_json::Value::String("sales 2026-12-02".to_owned()),
        );
        c.apply(&mut mapping);
        assert_eq!(label(&mapping).as_deref(), Some("sales fix 2"));
        // A label the user typed stays.
        mapping.constants.insert(
            IMPORT_LABEL_PROPERTY.to_owned(),
            serde_json::Value::String("sales corrected by hand".to_owned()),
        );
        mapping.insert_id_generation = 0;
        c.apply(&mut mapping);
        assert_eq!(mapping.insert_id_generation, 2);
        assert_eq!(label(&mapping).as_deref(), Some("sales corrected by hand"));
        assert!(!c.duplicates_sentence().0, "the old events were deleted");
    }
}
