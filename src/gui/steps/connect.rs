//! Step 4, Connect: saved connections by name (secrets only in the keychain), add, edit,
//! delete, and "Test connection". A service account may also keep the project's token, which
//! user profiles need (every profile record carries it); it is kept in the keychain too.

use egui::RichText;

use crate::config::{Connection as SavedConnection, ConnectionKind, Region};
use crate::credentials::SecretString;
use crate::gui::AppDeps;
use crate::gui::state::Session;
use crate::gui::words::{self, REGIONS, region_name};
use crate::gui::worker::Task;
use crate::session::connection::{self as connections, ActiveConnection};

/// The name of the project token field of a service account.
pub const PROJECT_TOKEN_FIELD: &str = "Project token (for user profiles)";

/// The result of "Test connection", in plain words.
pub type ConnectionTest = Result<String, String>;

/// The add/edit form. The secret field starts empty and is never filled from the keychain.
#[derive(Debug, Clone)]
pub struct ConnectionForm {
    /// When editing: the name being edited.
    pub editing: Option<String>,
    /// Name.
    pub name: String,
    /// Region.
    pub region: Region,
    /// Project id.
    pub project_id: String,
    /// Kind.
    pub kind: ConnectionKind,
    /// Service account username.
    pub username: String,
    /// The secret as typed (cleared once saved).
    pub secret: String,
    /// Keep the secret only for this session (never written anywhere).
    pub session_only: bool,
    /// Whether a secret is known for the connection being edited (an empty field keeps it).
    pub has_secret: bool,
    /// A service account's project token as typed (for user profiles; cleared once saved).
    pub project_token: String,
    /// Whether a project token is kept for the connection being edited (an empty field keeps
    /// it).
    pub has_project_token: bool,
}

impl ConnectionForm {
    fn new(session_only: bool) -> Self {
        Self {
            editing: None,
            name: String::new(),
            region: Region::Us,
            project_id: String::new(),
            kind: ConnectionKind::ServiceAccount,
            username: String::new(),
            secret: String::new(),
            session_only,
            has_secret: false,
            project_token: String::new(),
            has_project_token: false,
        }
    }

    fn edit(
        saved: &SavedConnection,
        session_only: bool,
        has_secret: bool,
        has_project_token: bool,
    ) -> Self {
        Self {
            editing: Some(saved.name.clone()),
            name: saved.name.clone(),
            region: saved.region,
            project_id: saved.project_id.clone().unwrap_or_default(),
            kind: saved.kind,
            username: saved.username.clone().unwrap_or_default(),
            secret: String::new(),
            session_only,
            has_secret,
            project_token: String::new(),
            has_project_token,
        }
    }
}

/// The Connect step.
pub struct ConnectStep {
    connections: Vec<SavedConnection>,
    /// The open add/edit form.
    pub form: Option<ConnectionForm>,
    message: Option<(bool, String)>,
    testing: Option<Task<ConnectionTest>>,
    /// The number of refused runs when the last test was made: a run Mixpanel refused since
    /// makes that answer stale, so it is no longer shown.
    tested_version: u64,
    history_update: Option<Task<()>>,
    test_result: Option<ConnectionTest>,
}

impl ConnectStep {
    /// The step with the saved connections from the config folder.
    pub fn new(deps: &AppDeps) -> Self {
        let (connections, message) = match connections::load_connections(&deps.config_dir) {
            Ok(list) => (list, None),
            Err(e) => (Vec::new(), Some((false, e.to_string()))),
        };
        Self {
            connections,
            form: None,
            message,
            testing: None,
            test_result: None,
            tested_version: 0,
            history_update: None,
        }
    }

    /// The last "Test connection" answer.
    pub fn test_result(&self) -> Option<&ConnectionTest> {
        self.test_result.as_ref()
    }

    /// Apply a finished connection test, and the run history's note that a connection was
    /// saved again (then the Import step looks for a resumable run anew).
    pub fn poll(&mut self, ctx: &egui::Context, session: &mut Session) {
        if let Some(task) = self.history_update.as_mut() {
            task.drain(ctx, |()| {});
            if task.is_finished() {
                self.history_update = None;
                session.connection_version += 1;
            }
        }
        if let Some(task) = self.testing.as_mut() {
            let mut result = None;
            task.drain(ctx, |r| result = Some(r));
            if result.is_some() {
                self.test_result = result;
                self.testing = None;
            } else if task.is_finished() {
                self.test_result = Some(Err("The test stopped unexpectedly.".to_owned()));
                self.testing = None;
            }
        }
    }

    /// Draw the step.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &mut AppDeps) {
        if let Some(problem) = deps.secrets.keychain_problem() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "No keychain is available on this computer: secrets can be used for this session only, and are never written to disk.",
            )
            .on_hover_text(problem);
        }
        if let Some((ok, message)) = &self.message {
            let color = if *ok {
                ui.visuals().text_color()
            } else {
                ui.visuals().error_fg_color
            };
            ui.colored_label(color, message);
        }
        egui::ScrollArea::vertical()
            .id_salt("connect-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                self.list(ui, session, deps);
                ui.add_space(8.0);
                if self.form.is_some() {
                    self.form_ui(ui, session, deps);
                } else if ui.button("Add a connection").clicked() {
                    self.form = Some(ConnectionForm::new(
                        deps.secrets.keychain_problem().is_some(),
                    ));
                    self.message = None;
                }
                ui.add_space(8.0);
                self.active_ui(ui, session, deps);
            });
    }

    fn list(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &mut AppDeps) {
        if self.connections.is_empty() {
            ui.label("No saved connections yet. Add one with your project's details from Mixpanel's project settings.");
            return;
        }
        ui.label(RichText::new("Saved connections").strong());
        let mut action = None;
        // One group per connection: what it is on the first line, what to do on the second, so
        // that long names never push the buttons out of a narrow window.
        for saved in &self.connections {
            let active = session
                .connection
                .as_ref()
                .is_some_and(|c| c.saved.name == saved.name);
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(if active {
                        RichText::new(format!("{} (in use)", saved.name)).strong()
                    } else {
                        RichText::new(&saved.name).strong()
                    });
                    ui.label(region_name(saved.region));
                    if let Some(project) = &saved.project_id {
                        ui.label(format!("Project {project}"));
                    }
                    ui.label(match saved.kind {
                        ConnectionKind::ServiceAccount => format!(
                            "{} {}",
                            words::kind_name(saved.kind),
                            saved.username.clone().unwrap_or_default()
                        ),
                        ConnectionKind::ProjectToken => words::kind_name(saved.kind).to_owned(),
                    });
                });
                ui.horizontal_wrapped(|ui| {
                    if ui
                        .add_enabled(!active, egui::Button::new(format!("Use {}", saved.name)))
                        .clicked()
                    {
                        action = Some(("use", saved.clone()));
                    }
                    if ui.button(format!("Edit {}", saved.name)).clicked() {
                        action = Some(("edit", saved.clone()));
                    }
                    if ui.button(format!("Delete {}", saved.name)).clicked() {
                        action = Some(("delete", saved.clone()));
                    }
                });
            });
        }
        match action {
            Some(("use", saved)) => self.use_connection(saved, session, deps),
            Some(("edit", saved)) => {
                self.form = Some(ConnectionForm::edit(
                    &saved,
                    deps.secrets.is_session_only(&saved.name)
                        || deps.secrets.keychain_problem().is_some(),
                    deps.secrets.get(&saved.name).ok().flatten().is_some(),
                    deps.secrets
                        .project_token(&saved.name)
                        .ok()
                        .flatten()
                        .is_some(),
                ));
                self.message = None;
            }
            Some((_, saved)) => {
                let deleted = deps
                    .secrets
                    .delete_connection(&deps.config_dir, &saved.name);
                if deleted.is_ok() {
                    self.connections.retain(|c| c.name != saved.name);
                }
                if session
                    .connection
                    .as_ref()
                    .is_some_and(|c| c.saved.name == saved.name)
                {
                    session.connection = None;
                    session.connection_version += 1;
                }
                self.message = Some(match deleted {
                    Ok(()) => (
                        true,
                        format!("Deleted connection '{}' and its secret.", saved.name),
                    ),
                    Err(e) => (false, e.to_string()),
                });
            }
            None => {}
        }
    }

    /// Save a service-account connection named "Demo project" for this session only and use it
    /// (the screenshot demo).
    pub fn add_demo_connection(
        &mut self,
        session: &mut Session,
        deps: &mut AppDeps,
        user: &str,
        secret: &str,
        project: &str,
        token: Option<&str>,
    ) {
        let saved = SavedConnection {
            name: "Demo project".to_owned(),
            region: Region::Us,
            project_id: Some(project.to_owned()),
            kind: ConnectionKind::ServiceAccount,
            username: Some(user.to_owned()),
        };
        match deps.secrets.save_connection(
            &deps.config_dir,
            saved.clone(),
            SecretString::new(secret),
            true,
            None,
        ) {
            Ok(()) => {
                if let Some(token) = token
                    && let Err(e) = deps.secrets.save_project_token(
                        &saved.name,
                        Some(SecretString::new(token)),
                        true,
                    )
                {
                    self.message = Some((false, e.to_string()));
                }
                self.connections.retain(|c| c.name != saved.name);
                self.connections.push(saved.clone());
                self.use_connection(saved, session, deps);
            }
            Err(e) => self.message = Some((false, e.to_string())),
        }
    }

    /// Use the saved connection named `name`, if it exists (resuming an import).
    pub fn use_by_name(&mut self, name: &str, session: &mut Session, deps: &AppDeps) {
        if let Some(saved) = self.connections.iter().find(|c| c.name == name).cloned() {
            self.use_connection(saved, session, deps);
        } else {
            self.message = Some((
                false,
                format!("The connection '{name}' of the interrupted import no longer exists."),
            ));
        }
    }

    fn use_connection(&mut self, saved: SavedConnection, session: &mut Session, deps: &AppDeps) {
        self.test_result = None;
        match deps.secrets.get(&saved.name) {
            Ok(Some(secret)) => {
                self.message = Some((true, format!("Using '{}'.", saved.name)));
                // A service account's project token (for user profiles), when one is saved.
                let project_token = deps.secrets.project_token(&saved.name).ok().flatten();
                self.test_result = None;
                session.connection = Some(ActiveConnection {
                    saved,
                    secret,
                    project_token,
                });
                session.connection_version += 1;
            }
            Ok(None) => {
                let message = if deps.secrets.keychain_problem().is_some() {
                    format!(
                        "The secret of '{}' was kept for an earlier session only (there is no keychain): enter it again below.",
                        saved.name
                    )
                } else {
                    format!(
                        "The secret of '{}' is not in the keychain: enter it again below.",
                        saved.name
                    )
                };
                self.message = Some((false, message));
                self.form = Some(ConnectionForm::edit(
                    &saved,
                    deps.secrets.keychain_problem().is_some(),
                    false,
                    deps.secrets
                        .project_token(&saved.name)
                        .ok()
                        .flatten()
                        .is_some(),
                ));
            }
            Err(e) => self.message = Some((false, e.to_string())),
        }
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &mut AppDeps) {
        let keychain_ok = deps.secrets.keychain_problem().is_none();
        let Some(form) = self.form.as_mut() else {
            return;
        };
        let mut save = false;
        let mut cancel = false;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(
                RichText::new(match &form.editing {
                    Some(name) => format!("Edit connection '{name}'"),
                    None => "New connection".to_owned(),
                })
                .strong(),
            );
            egui::Grid::new("connection-form")
                .num_columns(2)
                .show(ui, |ui| {
                    let label = ui.label("Connection name");
                    ui.add(egui::TextEdit::singleline(&mut form.name).hint_text("e.g. Production"))
                        .labelled_by(label.id);
                    ui.end_row();

                    let label = ui.label("Region");
                    egui::ComboBox::from_id_salt("region")
                        .selected_text(region_name(form.region))
                        .show_ui(ui, |ui| {
                            for (code, name) in REGIONS {
                                ui.selectable_value(&mut form.region, code, name);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                    ui.end_row();

                    let label = ui.label("Project ID");
                    ui.add(
                        egui::TextEdit::singleline(&mut form.project_id).hint_text("e.g. 3141592"),
                    )
                    .labelled_by(label.id);
                    ui.end_row();

                    ui.label("Sign in with");
                    ui.horizontal(|ui| {
                        ui.radio_value(
                            &mut form.kind,
                            ConnectionKind::ServiceAccount,
                            "Service account",
                        );
                        ui.radio_value(
                            &mut form.kind,
                            ConnectionKind::ProjectToken,
                            "Project token",
                        );
                    });
                    ui.end_row();

                    if form.kind == ConnectionKind::ServiceAccount {
                        let label = ui.label("Service account username");
                        ui.add(
                            egui::TextEdit::singleline(&mut form.username)
                                .hint_text("name.123abc.mp-service-account"),
                        )
                        .labelled_by(label.id);
                        ui.end_row();
                    }

                    let secret_name = match form.kind {
                        ConnectionKind::ServiceAccount => "Service account secret",
                        ConnectionKind::ProjectToken => "Project token",
                    };
                    let label = ui.label(secret_name);
                    let hint = if form.editing.is_some() && form.has_secret {
                        "leave empty to keep the saved one"
                    } else {
                        "paste it here"
                    };
                    ui.add(
                        egui::TextEdit::singleline(&mut form.secret)
                            .password(true)
                            .hint_text(hint),
                    )
                    .labelled_by(label.id);
                    ui.end_row();

                    if form.kind == ConnectionKind::ServiceAccount {
                        let label = ui.label(PROJECT_TOKEN_FIELD);
                        let hint = if form.has_project_token {
                            "leave empty to keep the saved one"
                        } else {
                            "optional"
                        };
                        ui.add(
                            egui::TextEdit::singleline(&mut form.project_token)
                                .password(true)
                                .hint_text(hint),
                        )
                        .labelled_by(label.id);
                        ui.end_row();
                        ui.label("");
                        ui.add(
                            egui::Label::new(
                                RichText::new(
                                    "Optional: needed to update user profiles, which carry the project's token. Find it in Mixpanel's Project Settings, under Access Keys (Project Token).",
                                )
                                .weak(),
                            )
                            .wrap(),
                        );
                        ui.end_row();
                    }
                });
            if keychain_ok {
                let mut remember = !form.session_only;
                ui.checkbox(&mut remember, "Remember the secret in the keychain");
                form.session_only = !remember;
            } else {
                form.session_only = true;
                ui.weak("Use for this session only: the secret is forgotten when Mixport closes.");
            }
            ui.horizontal(|ui| {
                save = ui.button("Save connection").clicked();
                cancel = ui.button("Cancel").clicked();
            });
        });
        if cancel {
            self.form = None;
            return;
        }
        if save {
            match self.save_form(deps) {
                Ok(saved) => {
                    let name = saved.name.clone();
                    self.form = None;
                    // Imports this connection's old settings refused may be resumed now.
                    let runs_dir = deps.runs_dir.clone();
                    let changed = name.clone();
                    self.history_update = Some(Task::spawn(ui.ctx(), "history", move |reporter| {
                        crate::session::history::connection_saved(&runs_dir, &changed);
                        reporter.send(());
                    }));
                    self.use_connection(saved, session, deps);
                    self.message = Some((
                        true,
                        format!("Saved connection '{name}'. Its secret will not be shown again."),
                    ));
                }
                Err(e) => self.message = Some((false, e)),
            }
        }
    }

    fn save_form(&mut self, deps: &mut AppDeps) -> Result<SavedConnection, String> {
        let Some(form) = self.form.as_mut() else {
            return Err("Nothing to save.".to_owned());
        };
        let name = form.name.trim().to_owned();
        let renamed_from = form.editing.clone().filter(|old| *old != name);
        if (form.editing.is_none() || renamed_from.is_some())
            && self.connections.iter().any(|c| c.name == name)
        {
            return Err(format!(
                "A connection named '{name}' exists already. Choose another name."
            ));
        }
        let project_id = form.project_id.trim().to_owned();
        let saved = SavedConnection {
            name: name.clone(),
            region: form.region,
            project_id: (!project_id.is_empty()).then_some(project_id),
            kind: form.kind,
            username: (form.kind == ConnectionKind::ServiceAccount)
                .then(|| form.username.trim().to_owned()),
        };
        saved.validate().map_err(|e| e.to_string())?;
        let typed = form.secret.trim().to_owned();
        let secret = if typed.is_empty() {
            // Keep the existing secret (moved to the new name when renamed).
            let old_name = form.editing.clone().unwrap_or_else(|| name.clone());
            match deps.secrets.get(&old_name).map_err(|e| e.to_string())? {
                Some(existing) => existing,
                None => return Err("Enter the secret (none is saved yet).".to_owned()),
            }
        } else {
            SecretString::new(typed)
        };
        deps.secrets
            .save_connection(
                &deps.config_dir,
                saved.clone(),
                secret,
                form.session_only,
                renamed_from.as_deref(),
            )
            .map_err(|e| e.to_string())?;
        form.secret.clear();
        let token = form.project_token.trim().to_owned();
        if saved.kind == ConnectionKind::ServiceAccount && !token.is_empty() {
            deps.secrets
                .save_project_token(&name, Some(SecretString::new(token)), form.session_only)
                .map_err(|e| e.to_string())?;
        }
        form.project_token.clear();
        let editing = form.editing.clone();
        self.connections
            .retain(|c| Some(&c.name) != editing.as_ref() && c.name != name);
        self.connections.push(saved.clone());
        self.connections.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(saved)
    }

    fn active_ui(&mut self, ui: &mut egui::Ui, session: &mut Session, deps: &AppDeps) {
        let Some(connection) = session.connection.as_ref() else {
            return;
        };
        let kind = session.file.as_ref().map(|fs| fs.kind());
        if kind.is_some_and(|kind| connection.lacks_project_token(kind)) {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                words::missing_project_token(&connection.saved.name),
            );
        }
        ui.separator();
        ui.label(
            RichText::new(format!(
                "Importing into project {} ({}) with '{}'",
                connection.saved.project_id.clone().unwrap_or_default(),
                region_name(connection.saved.region),
                connection.saved.name
            ))
            .strong(),
        );
        ui.horizontal(|ui| {
            let testing = self.testing.is_some();
            if ui
                .add_enabled(!testing, egui::Button::new("Test connection"))
                .clicked()
            {
                self.test_result = None;
                self.tested_version = session.refusals;
                let connection = connection.clone();
                let api_base = deps.api_base.clone();
                self.testing = Some(Task::spawn(ui.ctx(), "test-connection", move |reporter| {
                    let answer = match connections::test(&connection, api_base.as_deref()) {
                        Ok(check) => words::connection_test(&connection, &check),
                        Err(e) => Err(format!("The connection cannot be used: {e}.")),
                    };
                    reporter.send(answer);
                }));
            }
            if testing {
                ui.spinner();
                ui.label("Asking Mixpanel…");
            }
        });
        if self.tested_version != session.refusals {
            self.test_result = None;
        }
        match &self.test_result {
            Some(Ok(message)) => {
                ui.colored_label(egui::Color32::from_rgb(60, 160, 80), message.clone());
            }
            Some(Err(message)) => {
                ui.colored_label(ui.visuals().error_fg_color, message);
            }
            None => {}
        }
    }
}
