//! Step 1, File: choose a file (dialog, path, drop, recent, sample), see what was sniffed, change
//! it, and preview the first rows.

use std::path::{Path, PathBuf};

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use crate::config::ConfigStore;
use crate::gui::AppDeps;
use crate::gui::state::Session;
use crate::gui::worker::Task;
use crate::session::file::HEAD_ROWS;
use crate::session::{OpenedFile, Prepared, cell_text};
use crate::source::{Format, RawHead, SourceOptions, TextEncoding, is_header_row_note};

mod header_row;

/// A file read and its first mapping prepared, on a worker thread.
pub struct Loaded {
    /// The file.
    pub file: OpenedFile,
    /// Its first mapping.
    pub prepared: Prepared,
    /// Its first rows as written (title rows and header included), or why they could not be
    /// read.
    pub raw_head: Result<RawHead, String>,
    /// The recent files, with this one first.
    pub recent: Vec<PathBuf>,
}

/// A finished load.
type LoadResult = Result<Box<Loaded>, String>;

/// Read a file's head and prepare its mapping (remembered, template or suggestion); put it
/// first among the recent files. Blocks: runs on a worker thread.
fn load(path: &Path, options: &SourceOptions, config_dir: &Path) -> LoadResult {
    let memory_dir = crate::session::memory::memory_dir(config_dir);
    let file = crate::session::prepare::open_as_last_read(path, options, &memory_dir)
        .map_err(|e| e.to_string())?;
    let raw_head = crate::session::file::raw_head(&file).map_err(|e| e.to_string());
    let remembered = crate::session::prepare::remembered_for(&memory_dir, &file);
    let store = ConfigStore::at(config_dir);
    let templates_dir = store.templates_dir(&store.load().unwrap_or_default());
    let prepared = crate::session::initial_mapping(&file, remembered, Some(&templates_dir));
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    // Failing to remember a recent file is not worth bothering the user.
    let recent = store
        .remember_recent_file(absolute)
        .map(|c| existing(c.recent_files))
        .unwrap_or_default();
    Ok(Box::new(Loaded {
        file,
        prepared,
        raw_head,
        recent,
    }))
}

fn existing(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.into_iter().filter(|p| p.is_file()).collect()
}

/// The File step.
pub struct FileStep {
    /// The "Open a file by path" field.
    pub path_text: String,
    loading: Option<(PathBuf, Task<LoadResult>)>,
    error: Option<String>,
    dialog_note: Option<String>,
    recent: Vec<PathBuf>,
    recent_task: Option<Task<Vec<PathBuf>>>,
    /// A file was asked for since the last frame: the app starts a new session.
    opened: bool,
    /// The sample customers file, when it is installed beside the events sample.
    customers_sample: Option<PathBuf>,
}

impl FileStep {
    /// A File step; the recent files are read in the background on the first frame.
    pub fn new(deps: &AppDeps) -> Self {
        Self {
            customers_sample: crate::gui::customers_sample(deps.sample_file.as_deref()),
            path_text: String::new(),
            loading: None,
            error: None,
            dialog_note: None,
            recent: Vec::new(),
            recent_task: None,
            opened: false,
        }
    }

    /// Whether a file is being read.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// The file being read, while it is.
    pub fn loading_path(&self) -> Option<&Path> {
        self.loading.as_ref().map(|(path, _)| path.as_path())
    }

    /// Whether a file was asked for since the last call (the app then drops the old session).
    pub fn take_opened(&mut self) -> bool {
        std::mem::take(&mut self.opened)
    }

    /// Start reading `path` in the background with `options`.
    pub fn open(
        &mut self,
        ctx: &egui::Context,
        path: PathBuf,
        options: SourceOptions,
        deps: &AppDeps,
    ) {
        self.error = None;
        self.dialog_note = None;
        self.opened = true;
        self.path_text = path.display().to_string();
        let for_worker = path.clone();
        let config_dir = deps.config_dir.clone();
        let task = Task::spawn(ctx, "load", move |reporter| {
            reporter.send(load(&for_worker, &options, &config_dir));
        });
        self.loading = Some((path, task));
    }

    /// Files dropped onto the window are opened (the first one), unless `locked`.
    pub fn handle_dropped_files(&mut self, ctx: &egui::Context, deps: &AppDeps, locked: bool) {
        let dropped = ctx.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()));
        if let Some(path) = dropped {
            if locked {
                self.error = Some(LOCKED.to_owned());
            } else {
                self.open(ctx, path, SourceOptions::default(), deps);
            }
        }
    }

    /// Apply finished background work. Returns the loaded file when one finished loading.
    pub fn poll(&mut self, ctx: &egui::Context, deps: &AppDeps) -> Option<Box<Loaded>> {
        if self.recent_task.is_none() && self.recent.is_empty() {
            let config_dir = deps.config_dir.clone();
            self.recent_task = Some(Task::spawn(ctx, "recent", move |reporter| {
                let recent = ConfigStore::at(&config_dir)
                    .load()
                    .map(|c| existing(c.recent_files))
                    .unwrap_or_default();
                reporter.send(recent);
            }));
        }
        if let Some(task) = self.recent_task.as_mut() {
            let mut got = None;
            task.drain(ctx, |recent| got = Some(recent));
            if let Some(recent) = got {
                self.recent = recent;
            }
        }
        let (path, task) = self.loading.as_mut()?;
        let mut outcome = None;
        task.drain(ctx, |result| outcome = Some(result));
        let finished = task.is_finished();
        let path = path.clone();
        match outcome {
            Some(Ok(loaded)) => {
                self.loading = None;
                self.recent = loaded.recent.clone();
                Some(loaded)
            }
            Some(Err(message)) => {
                self.loading = None;
                self.error = Some(message);
                None
            }
            None => {
                if finished {
                    self.loading = None;
                    self.error = Some(format!(
                        "{}: reading stopped unexpectedly. Try again.",
                        path.display()
                    ));
                }
                None
            }
        }
    }

    /// Draw the step. `locked`: an import is running, so no other file may be opened.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut Session,
        deps: &mut AppDeps,
        locked: bool,
    ) {
        let ctx = ui.ctx().clone();
        if locked {
            ui.colored_label(ui.visuals().warn_fg_color, LOCKED);
        }
        ui.add_enabled_ui(!locked, |ui| self.chooser(ui, &ctx, deps));
        if let Some((path, _)) = &self.loading {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Reading {}…", path.display()));
            });
        }
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if let Some(fs) = session.file.as_ref() {
            let file = &fs.file;
            ui.separator();
            let changed = ui
                .add_enabled_ui(!locked, |ui| {
                    let settings = sniff_settings(ui, file);
                    ui.separator();
                    let header = header_row::ui(ui, file, &fs.raw_head);
                    settings.or(header)
                })
                .inner;
            if let Some(options) = changed {
                let path = file.sniff.path.clone();
                self.open(&ctx, path, options, deps);
            }
            ui.separator();
            preview_table(ui, file);
        } else if !self.is_loading() {
            ui.add_space(24.0);
            ui.vertical_centered(|ui| {
                ui.label(RichText::new("Drop a file anywhere on this window").size(18.0));
                ui.weak("CSV, TSV, JSON, NDJSON or Excel (.xlsx), optionally gzipped");
            });
        }
    }

    fn chooser(&mut self, ui: &mut egui::Ui, ctx: &egui::Context, deps: &mut AppDeps) {
        ui.horizontal(|ui| {
            if ui.button("Choose file…").clicked() {
                match deps.file_dialog.pick_file("Choose an events file") {
                    Some(path) => self.open(ctx, path, SourceOptions::default(), deps),
                    None => {
                        self.dialog_note = Some(
                            "No file was chosen. If no dialog appeared, your desktop has no file \
                             dialog service: type the file's path below or drop the file on this window."
                                .to_owned(),
                        );
                    }
                }
            }
            let sample = deps.sample_file.clone();
            if ui
                .add_enabled(sample.is_some(), egui::Button::new("Try with sample data"))
                .on_disabled_hover_text("The sample file was not found next to the app.")
                .clicked()
                && let Some(path) = sample
            {
                self.open(ctx, path, SourceOptions::default(), deps);
            }
            if let Some(path) = self.customers_sample.clone()
                && ui
                    .button("Try with sample customers")
                    .on_hover_text("A small file of customers, imported as user profiles")
                    .clicked()
            {
                self.open(ctx, path, SourceOptions::default(), deps);
            }
        });
        if let Some(note) = &self.dialog_note {
            ui.label(note);
        }
        ui.horizontal(|ui| {
            let label = ui.label("Open a file by path:");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.path_text)
                        .hint_text("/path/to/events.csv")
                        .desired_width(420.0),
                )
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let open = ui.button("Open").clicked();
            if (enter || open) && !self.path_text.trim().is_empty() {
                let path = PathBuf::from(self.path_text.trim());
                self.open(ctx, path, SourceOptions::default(), deps);
            }
        });
        if !self.recent.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label("Recent:");
                let mut chosen = None;
                for path in self.recent.iter().take(6) {
                    let name = file_name(path);
                    if ui
                        .link(name)
                        .on_hover_text(path.display().to_string())
                        .clicked()
                    {
                        chosen = Some(path.clone());
                    }
                }
                if let Some(path) = chosen {
                    self.open(ctx, path, SourceOptions::default(), deps);
                }
            });
        }
    }
}

/// Why no file can be opened during an import.
const LOCKED: &str =
    "An import is running: cancel it in the Import step before opening another file.";

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Display name of a format.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "CSV (delimited text)",
        Format::Json => "JSON array",
        Format::Ndjson => "NDJSON (one object per line)",
        Format::Xlsx => "Excel workbook",
    }
}

/// Display name of an encoding.
pub fn encoding_name(encoding: TextEncoding) -> &'static str {
    match encoding {
        TextEncoding::Utf8 => "UTF-8",
        TextEncoding::Utf8Bom => "UTF-8 with BOM",
        TextEncoding::Utf16Le => "UTF-16 LE",
        TextEncoding::Utf16Be => "UTF-16 BE",
        TextEncoding::Windows1252 => "Windows-1252",
    }
}

/// Display name of a delimiter byte.
pub fn delimiter_name(delimiter: u8) -> String {
    match delimiter {
        b',' => "comma ( , )".to_owned(),
        b';' => "semicolon ( ; )".to_owned(),
        b'\t' => "tab".to_owned(),
        b'|' => "pipe ( | )".to_owned(),
        other => format!("'{}'", other as char),
    }
}

/// The sniff result as editable settings. Returns new options when the user changed one.
fn sniff_settings(ui: &mut egui::Ui, loaded: &OpenedFile) -> Option<SourceOptions> {
    let sniff = &loaded.sniff;
    let mut options = loaded.options.clone();
    let mut changed = false;
    ui.label(
        RichText::new(format!(
            "{}: {} bytes{}, {} columns, read in {} ms",
            file_name(&sniff.path),
            sniff.file_size,
            if sniff.compression == crate::source::Compression::Gzip {
                " (gzip)"
            } else {
                ""
            },
            sniff.columns.len(),
            loaded.load_ms
        ))
        .strong(),
    );
    ui.horizontal_wrapped(|ui| {
        let mut format = sniff.format;
        labeled_combo(ui, "Format", format_name(format), |ui| {
            for f in [Format::Csv, Format::Json, Format::Ndjson, Format::Xlsx] {
                ui.selectable_value(&mut format, f, format_name(f));
            }
        });
        if format != sniff.format {
            options.format = Some(format);
            changed = true;
        }
        if sniff.format != Format::Xlsx {
            let mut encoding = sniff.encoding;
            labeled_combo(ui, "Encoding", encoding_name(encoding), |ui| {
                for e in [
                    TextEncoding::Utf8,
                    TextEncoding::Utf8Bom,
                    TextEncoding::Utf16Le,
                    TextEncoding::Utf16Be,
                    TextEncoding::Windows1252,
                ] {
                    ui.selectable_value(&mut encoding, e, encoding_name(e));
                }
            });
            if encoding != sniff.encoding {
                options.encoding = Some(encoding);
                changed = true;
            }
        }
        if sniff.format == Format::Csv {
            let mut delimiter = sniff.delimiter;
            labeled_combo(ui, "Delimiter", delimiter_name(delimiter), |ui| {
                for d in [b',', b';', b'\t', b'|'] {
                    ui.selectable_value(&mut delimiter, d, delimiter_name(d));
                }
            });
            if delimiter != sniff.delimiter {
                options.delimiter = Some(delimiter);
                changed = true;
            }
        }
        if sniff.format == Format::Xlsx && !sniff.sheets.is_empty() {
            let mut sheet = sniff.sheet.clone().unwrap_or_default();
            labeled_combo(ui, "Sheet", sheet.clone(), |ui| {
                for s in &sniff.sheets {
                    ui.selectable_value(&mut sheet, s.clone(), s);
                }
            });
            if Some(&sheet) != sniff.sheet.as_ref() {
                options.sheet = Some(sheet);
                changed = true;
            }
        }
    });
    // The header row has its own section below.
    for note in sniff.notes.iter().filter(|n| !is_header_row_note(n)) {
        ui.weak(format!("Note: {note}"));
    }
    changed.then_some(options)
}

/// A combo box with its label in front, named by that label for screen readers.
pub fn labeled_combo(
    ui: &mut egui::Ui,
    label: &str,
    selected: impl Into<String>,
    add_contents: impl FnOnce(&mut egui::Ui),
) -> egui::Response {
    let label_response = ui.label(format!("{label}:"));
    egui::ComboBox::from_id_salt(("combo", label))
        .selected_text(selected.into())
        .show_ui(ui, add_contents)
        .response
        .labelled_by(label_response.id)
}

/// The first rows, drawn only where visible.
fn preview_table(ui: &mut egui::Ui, loaded: &OpenedFile) {
    let columns = &loaded.sniff.columns;
    let rows = &loaded.head;
    ui.label(format!(
        "Preview: the first {} rows, {} column{}{}",
        rows.len(),
        columns.len(),
        if columns.len() == 1 { "" } else { "s" },
        if rows.len() >= HEAD_ROWS {
            " (the whole file is read by the check and the import)"
        } else {
            ""
        }
    ));
    egui::ScrollArea::horizontal()
        .id_salt("preview-h")
        .show(ui, |ui| {
            let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
            let mut table = TableBuilder::new(ui)
                .id_salt("preview")
                .striped(true)
                .resizable(true)
                .min_scrolled_height(120.0)
                .column(Column::exact(56.0));
            for _ in columns {
                table = table.column(Column::initial(130.0).at_least(50.0).clip(true));
            }
            table
                .header(row_height + 4.0, |mut header| {
                    header.col(|ui| {
                        ui.weak("#");
                    });
                    for name in columns {
                        header.col(|ui| {
                            ui.strong(name);
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_height, rows.len(), |mut row| {
                        let Some(record) = rows.get(row.index()) else {
                            return;
                        };
                        row.col(|ui| {
                            ui.weak(record.row.to_string());
                        });
                        for i in 0..columns.len() {
                            row.col(|ui| {
                                let text = record.cells.get(i).map(cell_text).unwrap_or_default();
                                ui.label(text);
                            });
                        }
                    });
                });
        });
}
