//! The window: the sidebar of steps, the current step, Back/Next, the offer to resume an
//! unfinished import, the import history and the About box.
//!
//! Opening a file by any route (dialog, path, drop, recent, sample, command line, resume) drops
//! the previous file's session whole: its check, its run and its review go with it, and every
//! step starts over for the new file.

use egui::{Align, Layout, RichText};

use super::AppDeps;
use super::fix::FixAction;
use super::history::HistoryWindow;
use super::state::{Correction, FileSession, Session};
use super::steps::map::Rememberer;
use super::steps::{
    check::CheckStep, connect::ConnectStep, file::FileStep, import::ImportStep, map::MapStep,
    review::ReviewStep,
};
use super::verify::VerifyEnv;
use super::verify_window::VerifyWindow;
use super::words;
use super::worker::Task;
use crate::mapping::{ImportKind, Mapping};
use crate::session::history;
use crate::session::run::RunRecord;

/// The app's name, the window title when no file is open.
pub const APP_NAME: &str = "Mixport";

/// The window title for the file in front of the user: "sample-events.csv — Mixport", or just
/// "Mixport" when no file is open.
pub fn window_title(file: Option<&std::path::Path>) -> String {
    match file.and_then(|p| p.file_name()) {
        Some(name) => format!("{} — {APP_NAME}", name.to_string_lossy()),
        None => APP_NAME.to_owned(),
    }
}

/// The six steps of the wizard, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Choose and preview the file.
    File,
    /// Map columns to Mixpanel fields.
    Map,
    /// Dry run.
    Check,
    /// Choose the Mixpanel project and credentials.
    Connect,
    /// The live import.
    Import,
    /// Rejected events and the run report.
    Review,
}

impl Step {
    /// Every step in order.
    pub const ALL: [Step; 6] = [
        Step::File,
        Step::Map,
        Step::Check,
        Step::Connect,
        Step::Import,
        Step::Review,
    ];

    /// The sidebar label.
    pub fn title(self) -> &'static str {
        match self {
            Step::File => "File",
            Step::Map => "Map",
            Step::Check => "Check",
            Step::Connect => "Connect",
            Step::Import => "Import",
            Step::Review => "Review",
        }
    }

    /// A one-line description shown under the step's heading, for a file of `kind` (when a
    /// file is open).
    pub fn subtitle(self, kind: Option<ImportKind>) -> &'static str {
        match (self, kind) {
            (Step::Import, Some(ImportKind::Profiles)) => "Send the user profiles to Mixpanel.",
            (Step::Review, Some(ImportKind::Profiles)) => {
                "See what was rejected and where to find your profiles."
            }
            _ => self.events_subtitle(),
        }
    }

    fn events_subtitle(self) -> &'static str {
        match self {
            Step::File => "Choose the file with your past events, or with your customers.",
            Step::Map => "Tell Mixport which column is which Mixpanel field.",
            Step::Check => "Read every row as the import would, without sending anything.",
            Step::Connect => "Choose the Mixpanel project to import into.",
            Step::Import => "Send the events to Mixpanel.",
            Step::Review => "See what was rejected and where to find your events.",
        }
    }

    fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    fn next(self) -> Option<Step> {
        Step::ALL.get(self.index() + 1).copied()
    }

    fn previous(self) -> Option<Step> {
        self.index().checked_sub(1).map(|i| Step::ALL[i])
    }
}

/// The desktop app.
pub struct MixportApp {
    deps: AppDeps,
    session: Session,
    current: Step,
    about_open: bool,
    demo: Option<Demo>,
    /// Unfinished imports found at start-up, offered for resuming (read in the background).
    interrupted: Option<Vec<RunRecord>>,
    interrupted_task: Option<Task<Vec<RunRecord>>>,
    /// The unfinished import being reopened.
    resuming: Option<RunRecord>,
    /// Sessions opened so far (each gets the next number).
    sessions_opened: u64,
    /// The mapping last remembered for the open file (session number, mapping).
    remembered: Option<(u64, Mapping)>,
    rememberer: Rememberer,
    history: HistoryWindow,
    /// "Did it land?": a run's verification and its "Fix and re-import" walk.
    verify: VerifyWindow,
    /// How long after an import events not in the export count as "not yet visible".
    processing_window: std::time::Duration,
    /// The corrected file being opened by "Fix and re-import", with its mapping and correction.
    correcting: Option<PendingCorrection>,
    /// The user asked to close the window while an import runs: ask first.
    confirm_close: bool,
    /// The user confirmed closing during an import.
    close_confirmed: bool,
    /// The window title last sent to the window, so it is only sent when it changes.
    shown_title: Option<String>,
    file: FileStep,
    map: MapStep,
    check: CheckStep,
    connect: ConnectStep,
    import: ImportStep,
    review: ReviewStep,
}

impl MixportApp {
    /// An app with the given dependencies (real ones from [`AppDeps::system`], fakes in tests).
    pub fn new(deps: AppDeps) -> Self {
        let file = FileStep::new(&deps);
        let connect = ConnectStep::new(&deps);
        let import = ImportStep::new(&deps);
        Self {
            deps,
            session: Session::default(),
            current: Step::File,
            about_open: false,
            demo: None,
            interrupted: None,
            interrupted_task: None,
            resuming: None,
            sessions_opened: 0,
            remembered: None,
            rememberer: Rememberer::default(),
            history: HistoryWindow::default(),
            verify: VerifyWindow::default(),
            processing_window: crate::verify::PROCESSING_WINDOW,
            correcting: None,
            confirm_close: false,
            close_confirmed: false,
            shown_title: None,
            file,
            map: MapStep::default(),
            check: CheckStep::default(),
            connect,
            import,
            review: ReviewStep::default(),
        }
    }

    /// Open `path` as if the user had chosen it (the file given on the command line).
    pub fn open_file(&mut self, ctx: &egui::Context, path: std::path::PathBuf) {
        self.file.open(
            ctx,
            path,
            crate::source::SourceOptions::default(),
            &self.deps,
        );
        self.new_session_asked();
        self.go_to(Step::File);
    }

    /// The window title: the file being opened or shown, then the app's name.
    pub fn window_title(&self) -> String {
        let file = self
            .file
            .loading_path()
            .or_else(|| self.session.opened().map(|f| f.path()));
        window_title(file)
    }

    /// A file was asked for: the current session ends now, whatever the new file turns out to
    /// be (an empty file's error must not leave the old preview behind).
    fn new_session_asked(&mut self) {
        self.check.cancel();
        self.session.file = None;
        self.map = MapStep::default();
        self.check = CheckStep::default();
        self.review = ReviewStep::default();
        let keep_connection_state = ImportStep::new(&self.deps);
        self.import = keep_connection_state;
        if self.current > Step::File {
            self.current = Step::File;
        }
    }

    /// A file finished loading: its session starts.
    fn start_session(&mut self, ctx: &egui::Context, loaded: super::steps::file::Loaded) {
        self.sessions_opened += 1;
        let mut session = FileSession::new(self.sessions_opened, loaded.file, loaded.prepared);
        session.raw_head = loaded.raw_head;
        let resumed = self
            .resuming
            .take()
            .filter(|r| r.file == session.file.sniff.path);
        if let Some(record) = &resumed {
            session.mapping = record.mapping.clone();
            if let Some(hint) = session.title_zone.as_mut() {
                // The run's mapping is the user's own answer.
                hint.answered = true;
            }
            session.mapping_changed();
        }
        let correcting = self
            .correcting
            .take()
            .filter(|c| c.file == session.file.sniff.path);
        // A correction's mapping is remembered for the file (with its generation).
        let remembered = correcting.is_none().then(|| session.mapping.clone());
        if let Some(pending) = &correcting {
            if let Some(mapping) = pending
                .mapping
                .as_deref()
                .filter(|m| m.matches_headers(session.file.columns()))
            {
                session.mapping = mapping.clone();
                // The run's own mapping: the banner says where it comes from.
                session.origin = crate::session::MappingOrigin::Given;
                if let Some(hint) = session.title_zone.as_mut() {
                    hint.answered = true;
                }
            }
            session.correction = Some(pending.correction.clone());
            session.mapping_changed();
        }
        self.remembered = remembered.map(|m| (session.serial, m));
        self.session.file = Some(session);
        if let Some(name) = correcting.and_then(|c| c.correction.connection)
            && self
                .session
                .connection
                .as_ref()
                .is_none_or(|c| c.saved.name != name)
        {
            // The correction goes to the project of the run it corrects.
            self.connect
                .use_by_name(&name, &mut self.session, &self.deps);
        }
        if let Some(record) = resumed {
            if let Some(name) = &record.connection {
                self.connect
                    .use_by_name(name, &mut self.session, &self.deps);
            }
            self.import.resume = true;
            if let Some(fs) = self.session.file.as_ref()
                && fs.is_ready()
            {
                self.check.start(ctx, fs);
            }
            self.go_to(Step::Check);
        }
    }

    /// Remember the open file's mapping when it changed (in the background).
    fn remember_mapping(&mut self) {
        let Some(fs) = self.session.file.as_ref() else {
            return;
        };
        let unchanged = self
            .remembered
            .as_ref()
            .is_some_and(|(serial, m)| *serial == fs.serial && *m == fs.mapping);
        if !unchanged {
            self.rememberer
                .remember(&self.deps.config_dir, fs.file.path(), &fs.mapping);
            self.remembered = Some((fs.serial, fs.mapping.clone()));
        }
    }

    /// Send the title to the window when it changed.
    fn update_title(&mut self, ctx: &egui::Context) {
        let title = self.window_title();
        if self.shown_title.as_ref() != Some(&title) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.shown_title = Some(title);
        }
    }

    /// The step on screen.
    pub fn current_step(&self) -> Step {
        self.current
    }

    /// The shared wizard state (for tests).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The last progress of the import (for tests).
    pub fn import_progress(&self) -> Option<&crate::pipeline::Progress> {
        self.import.progress()
    }

    /// The import history window (for tests).
    pub fn history(&self) -> &HistoryWindow {
        &self.history
    }

    /// The "Did it land?" window (for tests).
    pub fn verify_window(&mut self) -> &mut VerifyWindow {
        &mut self.verify
    }

    /// How long after an import events not in Mixpanel's export count as "not yet visible"
    /// rather than missing (tests shorten Mixpanel's hour).
    pub fn set_verify_processing_window(&mut self, window: std::time::Duration) {
        self.processing_window = window;
    }

    fn verify_env(&self) -> VerifyEnv {
        VerifyEnv {
            runs_dir: self.deps.runs_dir.clone(),
            api_base: self.deps.api_base.clone(),
            processing_window: self.processing_window,
        }
    }

    /// "Fix and re-import" ended with a corrected file: open it in the wizard with the run's
    /// mapping, the new insert-ID generation and label; the user checks and imports it.
    fn start_correction(
        &mut self,
        ctx: &egui::Context,
        file: std::path::PathBuf,
        mapping: Option<Box<Mapping>>,
        correction: Correction,
    ) {
        self.history.open = false;
        self.resuming = None;
        self.file.open(
            ctx,
            file.clone(),
            crate::source::SourceOptions::default(),
            &self.deps,
        );
        self.new_session_asked();
        self.go_to(Step::File);
        self.correcting = Some(PendingCorrection {
            file,
            mapping,
            correction,
        });
    }

    /// Whether background work is running (file load, check, import).
    pub fn is_busy(&self) -> bool {
        self.file.is_loading() || self.check.is_running() || self.import.is_running()
    }

    /// Jump to a step (used by the screenshot demo mode; the UI only allows reachable steps).
    pub fn go_to(&mut self, step: Step) {
        self.current = step;
        if step == Step::Review
            && let Some(fs) = self.session.file.as_mut()
        {
            fs.reviewed = fs.run.is_some();
        }
    }

    /// Whether `step`'s work is complete for the open file, so the next step can be opened.
    pub fn is_done(&self, step: Step) -> bool {
        let fs = self.session.file.as_ref();
        match step {
            Step::File => fs.is_some(),
            Step::Map => fs.is_some_and(FileSession::is_ready),
            Step::Check => fs.is_some_and(|fs| fs.is_ready() && fs.check_is_current()),
            Step::Connect => self.session.connection.is_some(),
            Step::Import => !self.import.is_running() && fs.is_some_and(|fs| fs.run.is_some()),
            Step::Review => fs.is_some_and(|fs| fs.reviewed),
        }
    }

    /// Whether the user may open `step` now: every step before it is done.
    pub fn is_reachable(&self, step: Step) -> bool {
        Step::ALL
            .iter()
            .take_while(|s| **s < step)
            .all(|s| self.is_done(*s))
    }

    fn sidebar(&mut self, ui: &mut egui::Ui) {
        ui.add_space(8.0);
        ui.heading("Mixport");
        ui.add_space(8.0);
        for (number, step) in Step::ALL.iter().enumerate() {
            let done = self.is_done(*step);
            let reachable = self.is_reachable(*step);
            let text = format!("{}. {}", number + 1, step.title());
            let response = ui
                .horizontal(|ui| {
                    status_dot(ui, done, self.current == *step);
                    ui.add_enabled(
                        reachable,
                        egui::Button::selectable(self.current == *step, (text, egui::Atom::grow()))
                            .min_size(egui::vec2(ui.available_width(), 28.0)),
                    )
                    .on_hover_text(if done {
                        format!("{}: done", step.title())
                    } else if reachable {
                        format!("{}: to do", step.title())
                    } else {
                        format!("{}: finish the steps above first", step.title())
                    })
                })
                .inner;
            if response.clicked() {
                self.go_to(*step);
            }
        }
        ui.add_space(12.0);
        ui.weak("A filled dot marks a finished step.");
        ui.with_layout(Layout::bottom_up(Align::Min), |ui| {
            ui.add_space(8.0);
            if ui.button("About Mixport").clicked() {
                self.about_open = !self.about_open;
            }
            if ui.button("Import history").clicked() {
                self.history.show_again(ui.ctx(), &self.deps);
            }
        });
    }

    fn navigation(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let back = self.current.previous();
            if ui
                .add_enabled(back.is_some(), egui::Button::new("Back"))
                .clicked()
                && let Some(step) = back
            {
                self.go_to(step);
            }
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                let next = self.current.next();
                let can_go = next.is_some() && self.is_done(self.current);
                let label = match next {
                    Some(step) => format!("Next: {}", step.title()),
                    None => "Next".to_owned(),
                };
                let response = ui.add_enabled(can_go, egui::Button::new(label));
                if response.clicked()
                    && let Some(step) = next
                {
                    self.go_to(step);
                }
                if !can_go && next.is_some() {
                    ui.weak(self.blocker_text());
                }
            });
        });
    }

    /// Why Next is disabled, and where to act.
    fn blocker_text(&self) -> String {
        let fs = self.session.file.as_ref();
        match self.current {
            Step::File => "Open a file to continue.".to_owned(),
            Step::Map => match fs.map(|fs| fs.blockers.len()) {
                Some(0) | None => "Open a file to continue.".to_owned(),
                // The question itself is at the top of the step, where it is answered.
                Some(1) => "Answer the question at the top to continue.".to_owned(),
                Some(n) => format!("Answer the {n} questions at the top to continue."),
            },
            Step::Check => match fs {
                Some(fs) if !fs.is_ready() => {
                    "Answer the question in the Map step first.".to_owned()
                }
                Some(fs) if fs.check.is_some() && !fs.check_is_current() => {
                    "The mapping changed or the check was cancelled: run the check again."
                        .to_owned()
                }
                _ => "Run the check to continue.".to_owned(),
            },
            Step::Connect => "Choose or add a connection to continue.".to_owned(),
            Step::Import => "Start the import to continue.".to_owned(),
            Step::Review => String::new(),
        }
    }

    fn about(&mut self, ctx: &egui::Context) {
        let mut open = self.about_open;
        egui::Window::new("About Mixport")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(RichText::new("Mixport").heading());
                ui.label(format!("Version {}", env!("CARGO_PKG_VERSION")));
                ui.label(
                    "Import historical events from CSV, JSON, NDJSON or Excel files into Mixpanel.",
                );
                ui.label("License: MIT");
            });
        self.about_open = open;
    }

    /// Draw the whole window into `ui` (the eframe root or a test harness).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let importing = self.import.is_running();
        self.file.handle_dropped_files(&ctx, &self.deps, importing);
        if self.file.take_opened() {
            self.new_session_asked();
        }
        self.poll(&ctx);

        egui::Panel::left("steps")
            .resizable(false)
            .exact_size(170.0)
            .show(ui, |ui| self.sidebar(ui));
        egui::Panel::bottom("navigation")
            .resizable(false)
            .show(ui, |ui| {
                ui.add_space(6.0);
                self.navigation(ui);
                ui.add_space(6.0);
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.resume_banner(ui);
            self.correction_banner(ui);
            ui.heading(self.current.title());
            ui.weak(
                self.current
                    .subtitle(self.session.file.as_ref().map(FileSession::kind)),
            );
            ui.separator();
            let fs = self.session.file.as_mut();
            match (self.current, fs) {
                (Step::File, _) => self
                    .file
                    .ui(ui, &mut self.session, &mut self.deps, importing),
                (Step::Connect, _) => self.connect.ui(ui, &mut self.session, &mut self.deps),
                (Step::Import, _) => self.import.ui(ui, &mut self.session, &mut self.deps),
                (Step::Map, Some(fs)) => self.map.ui(ui, fs, &mut self.deps),
                (Step::Check, Some(fs)) => self.check.ui(ui, fs, &mut self.deps),
                (Step::Review, Some(fs)) => self.review.ui(ui, fs, &mut self.deps),
                (_, None) => {
                    ui.label("Open a file in the File step first.");
                }
            }
        });
        if self.file.take_opened() {
            self.new_session_asked();
        }
        self.remember_mapping();
        self.about(&ctx);
        self.history.ui(&ctx);
        if let Some(run_id) = self
            .review
            .take_verify_request()
            .or_else(|| self.history.take_verify_request())
        {
            self.verify.open(&ctx, &self.deps, &run_id);
        }
        let env = self.verify_env();
        if let FixAction::Reimport {
            file,
            mapping,
            correction,
        } = self.verify.ui(&ctx, &mut self.deps, &env)
        {
            self.start_correction(&ctx, file, mapping, correction);
        }
        self.close_guard(&ctx);
        self.update_title(&ctx);
    }

    /// Closing the window during an import asks first; the journal lets the next start resume.
    fn close_guard(&mut self, ctx: &egui::Context) {
        let asked = ctx.input(|i| i.viewport().close_requested());
        if asked && self.import.is_running() && !self.close_confirmed {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        }
        if !self.confirm_close {
            return;
        }
        egui::Window::new("An import is running")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                ui.label("Closing Mixport stops the import. Events already accepted stay in Mixpanel, and the next start offers to resume from where it stopped.");
                ui.horizontal(|ui| {
                    if ui.button("Keep importing").clicked() {
                        self.confirm_close = false;
                    }
                    if ui.button("Stop and close").clicked() {
                        self.import.cancel();
                        self.close_confirmed = true;
                        self.confirm_close = false;
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                });
            });
    }

    /// While the open file corrects an earlier run: which run, and what makes it safe.
    fn correction_banner(&mut self, ui: &mut egui::Ui) {
        let Some(correction) = self
            .session
            .file
            .as_ref()
            .and_then(|fs| fs.correction.as_ref())
        else {
            return;
        };
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.add(
                egui::Label::new(words::correction_banner(
                    &correction.run_id,
                    correction.generation,
                    &correction.label,
                ))
                .wrap(),
            );
        });
    }

    /// The offer to resume imports that stopped before their end (cancel, crash, close, refused
    /// credentials once the connection was saved again) in an earlier session.
    fn resume_banner(&mut self, ui: &mut egui::Ui) {
        let Some(interrupted) = self.interrupted.as_ref() else {
            return;
        };
        if interrupted.is_empty() || self.import.is_running() {
            return;
        }
        let mut action = None;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            for (i, record) in interrupted.iter().enumerate() {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(ui.visuals().warn_fg_color, words::unfinished_run(record));
                    if ui.button("Resume import").clicked() {
                        action = Some((i, true));
                    }
                    if ui.button("Discard").clicked() {
                        action = Some((i, false));
                    }
                });
            }
        });
        if let Some((i, resume)) = action
            && let Some(list) = self.interrupted.as_mut()
        {
            let record = list.remove(i);
            if resume {
                self.file.open(
                    ui.ctx(),
                    record.file.clone(),
                    record.options.clone(),
                    &self.deps,
                );
                self.new_session_asked();
                self.go_to(Step::File);
                self.resuming = Some(record);
            } else {
                let runs_dir = self.deps.runs_dir.clone();
                let _ = std::thread::Builder::new()
                    .name("mixport-discard".to_owned())
                    .spawn(move || history::discard(&runs_dir, &record));
            }
        }
    }

    /// Apply finished background work of every step, whichever step is on screen.
    fn poll(&mut self, ctx: &egui::Context) {
        if self.interrupted.is_none() && self.interrupted_task.is_none() {
            let runs_dir = self.deps.runs_dir.clone();
            self.interrupted_task = Some(Task::spawn(ctx, "resumable", move |reporter| {
                let runs = history::resumable(&runs_dir)
                    .into_iter()
                    .filter(|r| r.connection.is_some())
                    .collect();
                reporter.send(runs);
            }));
        }
        if let Some(task) = self.interrupted_task.as_mut() {
            let mut got = None;
            task.drain(ctx, |runs| got = Some(runs));
            if got.is_some() || task.is_finished() {
                self.interrupted = Some(got.unwrap_or_default());
                self.interrupted_task = None;
            }
        }
        if let Some(loaded) = self.file.poll(ctx, &self.deps) {
            self.start_session(ctx, *loaded);
        }
        self.check.poll(ctx, self.session.file.as_mut());
        self.connect.poll(ctx, &mut self.session);
        self.import.poll(ctx, &mut self.session);
        self.review.poll(ctx);
        if let Some(fs) = self.session.file.as_ref()
            && fs.run.is_some()
            && let Some(list) = self.interrupted.as_mut()
        {
            // This file's import ran again: it is no longer an offer from an earlier session.
            let path = fs.file.path().to_path_buf();
            list.retain(|r| r.file != path);
        }
        self.demo_tick(ctx);
    }
}

/// A small circle: filled green when the step is done, hollow otherwise.
fn status_dot(ui: &mut egui::Ui, done: bool, current: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
    let center = rect.center();
    let color = if done {
        egui::Color32::from_rgb(60, 160, 80)
    } else if current {
        ui.visuals().strong_text_color()
    } else {
        ui.visuals().weak_text_color()
    };
    if done {
        ui.painter().circle_filled(center, 5.5, color);
    } else {
        ui.painter()
            .circle_stroke(center, 5.0, egui::Stroke::new(1.5, color));
    }
}

impl eframe::App for MixportApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

/// The corrected file being opened by "Fix and re-import".
struct PendingCorrection {
    file: std::path::PathBuf,
    mapping: Option<Box<Mapping>>,
    correction: Correction,
}

/// The screenshot/demo mode: walks the wizard by itself up to a target step.
#[derive(Debug, Clone)]
struct Demo {
    target: Step,
    connection: Option<(String, String, String)>,
    import_started: bool,
    /// Start the import once the Import step is reached and stay there while it runs
    /// (`MIXPORT_DEMO_STEP=import-running`), for a screenshot of its progress.
    run_import: bool,
    /// The project token kept with the demo connection (for user profiles).
    token: Option<String>,
    /// On Review, open "Did it land?" on the run (`verify`), or its "Fix and re-import" walk
    /// once the check answered (`fix`).
    window: Option<DemoWindow>,
}

/// The window the demo opens on Review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DemoWindow {
    Verify,
    Fix,
    /// The walk's re-import, walked on to the Import confirmation.
    FixImport,
}

fn parse_step(name: &str) -> Option<Step> {
    Step::ALL
        .iter()
        .copied()
        .find(|s| s.title().eq_ignore_ascii_case(name.trim()))
}

impl MixportApp {
    /// Screenshot/demo mode: `MIXPORT_DEMO_STEP=map` (file, map, check, connect, import, review)
    /// loads the sample file (or `MIXPORT_DEMO_FILE`) and walks the wizard to that step by
    /// itself; `import-running` also starts the import and stays on its progress; `verify`
    /// goes on to verify the run in Mixpanel, `fix` to its "Fix and re-import" walk,
    /// `fix-import` through the wizard to the corrected file's Import confirmation. The
    /// connection comes from `MIXPORT_DEMO_USER`, `MIXPORT_DEMO_SECRET` and
    /// `MIXPORT_DEMO_PROJECT`, with the project token `MIXPORT_DEMO_TOKEN` for user profiles
    /// (kept for this session only). Does nothing when
    /// `MIXPORT_DEMO_STEP` is unset.
    pub fn start_demo_from_env(&mut self, ctx: &egui::Context) {
        let Some(name) = std::env::var("MIXPORT_DEMO_STEP").ok() else {
            return;
        };
        let name = name.trim().to_ascii_lowercase();
        let run_import = name == "import-running";
        let window = match name.as_str() {
            "verify" => Some(DemoWindow::Verify),
            "fix" => Some(DemoWindow::Fix),
            "fix-import" => Some(DemoWindow::FixImport),
            _ => None,
        };
        let Some(target) = (if run_import {
            Some(Step::Import)
        } else if window.is_some() {
            Some(Step::Review)
        } else {
            parse_step(&name)
        }) else {
            return;
        };
        if let Some(file) = std::env::var_os("MIXPORT_DEMO_FILE").filter(|f| !f.is_empty()) {
            self.deps.sample_file = Some(file.into());
        }
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let connection = match (
            var("MIXPORT_DEMO_USER"),
            var("MIXPORT_DEMO_SECRET"),
            var("MIXPORT_DEMO_PROJECT"),
        ) {
            (Some(u), Some(s), Some(p)) => Some((u, s, p)),
            _ => None,
        };
        self.start_demo(ctx, target, connection);
        if let Some(demo) = self.demo.as_mut() {
            demo.run_import = run_import;
            demo.token = var("MIXPORT_DEMO_TOKEN");
            demo.window = window;
        }
    }

    /// Start the demo walk to `target` (see [`Self::start_demo_from_env`]).
    pub fn start_demo(
        &mut self,
        ctx: &egui::Context,
        target: Step,
        connection: Option<(String, String, String)>,
    ) {
        if let Some(sample) = self.deps.sample_file.clone() {
            self.open_file(ctx, sample);
        }
        self.demo = Some(Demo {
            target,
            connection,
            import_started: false,
            run_import: false,
            token: None,
            window: None,
        });
    }

    /// On Review: open "Did it land?" on the run, then (for `fix`) the walk once it answered.
    fn demo_window(&mut self, ctx: &egui::Context, window: DemoWindow) {
        let run_id = self
            .session
            .file
            .as_ref()
            .and_then(|fs| fs.run.as_ref())
            .map(|r| r.id.clone());
        if let Some(run_id) = run_id
            && !self.verify.is_open()
        {
            self.verify.open(ctx, &self.deps, &run_id);
        }
        if self
            .verify
            .panel()
            .is_some_and(|p| p.result().is_some() || p.checks() > 0)
        {
            if window != DemoWindow::Verify {
                self.verify.open_fix();
            }
            self.demo = None;
            if window == DemoWindow::FixImport
                && let FixAction::Reimport {
                    file,
                    mapping,
                    correction,
                } = self.verify.take_reimport()
            {
                self.start_correction(ctx, file, mapping, correction);
                self.demo = Some(Demo {
                    target: Step::Import,
                    connection: None,
                    token: None,
                    import_started: false,
                    run_import: false,
                    window: None,
                });
            }
        }
        ctx.request_repaint_after(std::time::Duration::from_millis(50));
    }

    fn demo_tick(&mut self, ctx: &egui::Context) {
        let Some(demo) = self.demo.clone() else {
            return;
        };
        let target = demo.target;
        if self.current >= target
            && let Some(window) = demo.window
        {
            self.demo_window(ctx, window);
            return;
        }
        if self.current >= target {
            if demo.run_import && self.current == Step::Import && !demo.import_started {
                self.import.start_now(ctx, &self.session, &self.deps);
            }
            if target != Step::Import || self.current > target || demo.run_import {
                self.demo = None;
            }
            return;
        }
        match self.current {
            Step::File if self.session.file.is_some() => self.go_to(Step::Map),
            Step::Map if self.is_done(Step::Map) && !self.check.is_running() => {
                if let Some(fs) = self.session.file.as_ref() {
                    self.check.start(ctx, fs);
                }
                self.go_to(Step::Check);
            }
            Step::Check if self.session.check_is_current() => {
                if let Some((user, secret, project)) = demo.connection {
                    self.connect.add_demo_connection(
                        &mut self.session,
                        &mut self.deps,
                        &user,
                        &secret,
                        &project,
                        demo.token.as_deref(),
                    );
                }
                if self.session.connection.is_some() {
                    self.go_to(Step::Connect);
                } else {
                    self.demo = None;
                }
            }
            Step::Connect => self.go_to(Step::Import),
            Step::Import if self.is_done(Step::Import) => self.go_to(Step::Review),
            Step::Import if !demo.import_started => {
                if let Some(d) = self.demo.as_mut() {
                    d.import_started = true;
                }
                self.import.start_now(ctx, &self.session, &self.deps);
            }
            _ => {}
        }
        ctx.request_repaint_after(std::time::Duration::from_millis(50));
    }
}
