//! What the wizard shows, per opened file: one [`FileSession`] per file, replaced whole when
//! another file (or the same file read another way) is opened, so nothing of one file is ever
//! shown as the current state of another.

use crate::mapping::suggest::profiles::ProfileSuggestion;
use crate::mapping::suggest::{FieldGuess, Preset};
use crate::mapping::{ImportKind, Mapping};
use crate::pipeline::check::CheckReport;
use crate::session::connection::ActiveConnection;
use crate::session::run::RunRecord;
use crate::session::{Blocker, MappingOrigin, OpenedFile, Prepared, review};

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
        };
        session.mapping_changed();
        session
    }

    /// Call after the mapping was edited: settles what the data proves, keeps the property
    /// columns in step, and lists what blocks.
    pub fn mapping_changed(&mut self) {
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
