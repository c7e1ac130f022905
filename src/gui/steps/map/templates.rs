//! Templates: save the mapping under a name, apply a saved one; and the mapping remembered for
//! this file (saved in the background after every change, forgotten on "Start over").
//!
//! Disk reads and writes run on worker threads: the list of templates is read once per session
//! and again after a save, never per frame.

use std::path::{Path, PathBuf};

use crate::config::ConfigStore;
use crate::gui::AppDeps;
use crate::gui::state::FileSession;
use crate::gui::worker::Task;
use crate::mapping::Mapping;
use crate::session::memory;
use crate::session::{MappingOrigin, initial_mapping};

/// Messages from template work.
enum Done {
    /// The saved templates, by name.
    Listed(Vec<(String, PathBuf)>),
    /// A template was saved (or not).
    Saved(Result<PathBuf, String>),
    /// A template was read (or not), to apply it.
    Loaded(String, Result<Box<Mapping>, String>),
}

/// The templates section's state.
#[derive(Default)]
pub struct Templates {
    list: Option<Vec<(String, PathBuf)>>,
    listing_for: Option<u64>,
    task: Option<Task<Done>>,
    note: Option<String>,
    apply: Option<(String, Mapping)>,
}

fn templates_dir(config_dir: &Path) -> PathBuf {
    let store = ConfigStore::at(config_dir);
    store.templates_dir(&store.load().unwrap_or_default())
}

impl Templates {
    /// Apply finished background work.
    pub fn poll(&mut self, ctx: &egui::Context, deps: &AppDeps) {
        let _ = deps;
        let Some(task) = self.task.as_mut() else {
            return;
        };
        let mut done = Vec::new();
        task.drain(ctx, |m| done.push(m));
        if task.is_finished() {
            self.task = None;
        }
        for message in done {
            match message {
                Done::Listed(list) => self.list = Some(list),
                Done::Saved(Ok(path)) => {
                    self.note = Some(format!(
                        "Saved. Files with the same columns will get this mapping automatically ({}).",
                        path.display()
                    ));
                    self.list = None;
                    self.listing_for = None;
                }
                Done::Saved(Err(e)) => self.note = Some(e),
                Done::Loaded(name, Ok(mapping)) => self.apply = Some((name, *mapping)),
                Done::Loaded(_, Err(e)) => self.note = Some(e),
            }
        }
    }

    fn spawn(&mut self, ctx: &egui::Context, work: impl FnOnce() -> Done + Send + 'static) {
        self.task = Some(Task::spawn(ctx, "templates", move |reporter| {
            reporter.send(work());
        }));
    }

    /// "Start over": forget the remembered mapping and use the suggestion.
    pub fn forget(&mut self, ctx: &egui::Context, session: &mut FileSession) {
        let _ = ctx;
        session.origin = MappingOrigin::Suggested;
        let prepared = initial_mapping(&session.file, None, None);
        session.mapping = prepared.mapping;
        session.guesses = prepared.guesses;
        session.preset = prepared.suggestion.preset;
        if let Some(hint) = session.title_zone.as_mut() {
            hint.answered = session.mapping.time.timezone != hint.zone;
        }
        session.mapping_changed();
        self.note = Some("Started over from the suggestion.".to_owned());
    }

    /// Draw the section.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        name: &mut String,
        session: &mut FileSession,
        deps: &AppDeps,
    ) {
        let ctx = ui.ctx().clone();
        if self.listing_for != Some(session.serial) && self.task.is_none() {
            self.listing_for = Some(session.serial);
            let dir = deps.config_dir.clone();
            self.spawn(&ctx, move || {
                Done::Listed(
                    crate::config::list_templates(&templates_dir(&dir)).unwrap_or_default(),
                )
            });
        }
        if let Some((template, mut mapping)) = self.apply.take() {
            mapping.headers = session.file.columns().to_vec();
            session.mapping = mapping;
            session.origin = MappingOrigin::Template {
                name: template.clone(),
            };
            session.mapping_changed();
            self.note = Some(format!("Applied template '{template}'."));
        }
        ui.horizontal(|ui| {
            let label = ui.label("Template name:");
            ui.add(
                egui::TextEdit::singleline(name)
                    .hint_text("e.g. CRM export")
                    .desired_width(200.0),
            )
            .labelled_by(label.id);
            if ui
                .add_enabled(self.task.is_none(), egui::Button::new("Save as template"))
                .clicked()
            {
                let dir = deps.config_dir.clone();
                let template = name.clone();
                let mut mapping = session.mapping.clone();
                mapping.headers = session.file.columns().to_vec();
                self.spawn(&ctx, move || {
                    Done::Saved(
                        crate::config::save_template(&templates_dir(&dir), &template, &mapping)
                            .map_err(|e| e.to_string()),
                    )
                });
            }
        });
        if let Some(note) = &self.note {
            ui.label(note);
        }
        match &self.list {
            None => {
                ui.weak("Reading the saved templates…");
            }
            Some(list) if list.is_empty() => {
                ui.weak("No saved templates yet.");
            }
            Some(list) => {
                let mut chosen = None;
                for (template, path) in list {
                    ui.horizontal(|ui| {
                        ui.label(template);
                        if ui.button(format!("Apply template {template}")).clicked() {
                            chosen = Some((template.clone(), path.clone()));
                        }
                    });
                }
                if let Some((template, path)) = chosen {
                    self.spawn(&ctx, move || {
                        Done::Loaded(
                            template,
                            Mapping::load(&path)
                                .map(Box::new)
                                .map_err(|e| e.to_string()),
                        )
                    });
                }
            }
        }
    }
}

/// Remembers the mapping used with each file, on one background thread (writes happen in the
/// order asked, never on the UI thread).
pub struct Rememberer {
    sender: Option<std::sync::mpsc::Sender<(PathBuf, PathBuf, Mapping)>>,
}

impl Default for Rememberer {
    fn default() -> Self {
        let (sender, receiver) = std::sync::mpsc::channel::<(PathBuf, PathBuf, Mapping)>();
        let spawned = std::thread::Builder::new()
            .name("mixport-remember".to_owned())
            .spawn(move || {
                while let Ok((dir, file, mapping)) = receiver.recv() {
                    // A failure only means the mapping is not restored next time.
                    let _ = memory::save(&dir, &file, &mapping);
                }
            });
        Self {
            sender: spawned.ok().map(|_| sender),
        }
    }
}

impl Rememberer {
    /// Remember `mapping` for `file` (the next opening of the file restores it).
    pub fn remember(&self, config_dir: &Path, file: &Path, mapping: &Mapping) {
        if let Some(sender) = &self.sender {
            let _ = sender.send((
                memory::memory_dir(config_dir),
                file.to_path_buf(),
                mapping.clone(),
            ));
        }
    }
}
