//! How the app words the engine's typed answers for someone who is not an engineer: in plain
//! language, naming the control to use. The command line words the same data its own way.

use crate::config::{ConnectionKind, Region};
use crate::mapping::suggest::Field;
use crate::mapping::{ImportKind, MappingError, RequiredField};
use crate::mixpanel::client::{ConnectionCheck, ConnectionStatus};
use crate::pipeline::rejected::RejectionOrigin;
use crate::session::Blocker;
use crate::session::connection::ActiveConnection;
use crate::session::run::{RunCounts, RunEnd, RunKind, RunRecord};

/// The regions a project can live in, with display names.
pub const REGIONS: [(Region, &str); 3] = [
    (Region::Us, "United States (US)"),
    (Region::Eu, "European Union (EU)"),
    (Region::In, "India (IN)"),
];

/// Display name of a region.
pub fn region_name(region: Region) -> &'static str {
    REGIONS
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, n)| *n)
        .unwrap_or("Unknown region")
}

/// Display name of a region given by its code (`us`, `eu`, `in`).
pub fn region_code_name(code: &str) -> &'static str {
    code.parse::<Region>()
        .map(region_name)
        .unwrap_or("Unknown region")
}

/// Display name of a connection kind.
pub fn kind_name(kind: ConnectionKind) -> &'static str {
    match kind {
        ConnectionKind::ServiceAccount => "Service account",
        ConnectionKind::ProjectToken => "Project token",
    }
}

/// What each row of a file becomes, as the Map step's choice names it.
pub fn import_kind_name(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Events => "Events",
        ImportKind::Profiles => "User profiles",
    }
}

/// What a run sent, as the history's Kind column names it.
pub fn run_kind_name(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Events => "Events",
        RunKind::Profiles => "User profiles",
    }
}

/// What one row becomes, counted: "1 event", "12 user profiles" (with thousands separators).
pub fn count_of(kind: ImportKind, n: u64) -> String {
    match kind {
        ImportKind::Events => plural(n, "event", "events"),
        ImportKind::Profiles => plural(n, "user profile", "user profiles"),
    }
}

/// The short noun of what one row becomes, singular or plural by `n`: event(s), profile(s).
pub fn short_noun(kind: ImportKind, n: u64) -> &'static str {
    match (kind, n == 1) {
        (ImportKind::Events, true) => "event",
        (ImportKind::Events, false) => "events",
        (ImportKind::Profiles, true) => "profile",
        (ImportKind::Profiles, false) => "profiles",
    }
}

/// The Map step's name for a suggestion field.
pub fn field_label(field: Field) -> &'static str {
    match field {
        Field::Event => "Event name",
        Field::User => "User ID",
        Field::Time => "Time",
        Field::InsertId => "Insert ID",
        Field::Country => "Country",
        Field::City => "City",
        Field::Region => "Region",
        Field::Ip => "IP",
    }
}

/// Who refused a row, for a group title.
pub fn origin_name(origin: RejectionOrigin) -> &'static str {
    match origin {
        RejectionOrigin::Check => "Refused by the check (not sent)",
        RejectionOrigin::Mixpanel => "Refused by Mixpanel",
        RejectionOrigin::NotDelivered => "Not delivered (can be sent again)",
        RejectionOrigin::NotFound => "Accepted, but not found in Mixpanel's export",
    }
}

/// What blocks the check, and where to answer it.
pub fn blocker(blocker: &Blocker) -> String {
    match blocker {
        Blocker::DayOrder { column, example } => day_order_question(column, example),
        Blocker::Mapping(error) => mapping_error(error),
    }
}

fn day_order_question(column: &str, example: &str) -> String {
    format!(
        "Dates such as '{example}' in column '{column}' could be day/month or month/day: choose the order under Time (Day first or Month first)."
    )
}

/// A mapping error in the app's words, naming the control that fixes it.
pub fn mapping_error(error: &MappingError) -> String {
    match error {
        MappingError::UnknownColumn { field, column } => format!(
            "The column '{column}' chosen for {} is not in this file: pick another column under Mixpanel fields.",
            mixpanel_field_name(field)
        ),
        MappingError::Unmapped {
            field: RequiredField::Event,
        } => "Choose the column with the event name under Mixpanel fields, or choose “Same name for all” and type a name.".to_owned(),
        MappingError::Unmapped {
            field: RequiredField::User,
        } => "Choose the User ID column under Mixpanel fields, or tick “Accept events with an empty user ID”.".to_owned(),
        MappingError::Unmapped {
            field: RequiredField::Time,
        } => "Choose the Time column under Mixpanel fields: every event needs the time it happened.".to_owned(),
        MappingError::Unmapped {
            field: RequiredField::ProfileUser,
        } => "Choose the User ID column: Mixport never creates a profile without it.".to_owned(),
        MappingError::UnknownTimeZone(zone) => format!(
            "'{zone}' is not a time zone Mixport knows: pick one with “Search time zones” under Time."
        ),
        MappingError::BadTimePattern { pattern, message } => format!(
            "The custom time pattern '{pattern}' does not work ({message}): fix it under Time, or pick another time format."
        ),
        MappingError::AmbiguousDayOrder { column, example } => {
            day_order_question(column, example)
        }
        MappingError::BadCountryOverride { value, code } => format!(
            "The country chosen for '{value}' ('{code}') is not a country: pick it again under Countries."
        ),
        MappingError::Template { path, message } => {
            format!("The template {path} cannot be used: {message}")
        }
    }
}

/// A rejected row's field for a group title in Review: the name the Map step gives it, with the
/// field as Mixpanel spells it beside (`Time (properties.time)`); a plain property as itself.
pub fn rejected_field(field: &str) -> String {
    let bare = field.strip_prefix("properties.").unwrap_or(field);
    match mixpanel_field_name(bare) {
        name if name == bare => field.to_owned(),
        name => format!("{name} ({field})"),
    }
}

/// A Mixpanel field as the Map step names it.
fn mixpanel_field_name(field: &str) -> &str {
    match field {
        "event" => "Event name",
        "distinct_id" => "User ID",
        "$user_id" => "the user ID ($user_id)",
        "$device_id" => "the device ID",
        "time" => "Time",
        "$insert_id" => "Insert ID",
        "mp_country_code" => "Country",
        "$city" => "City",
        "$region" => "Region",
        "ip" => "IP",
        "$distinct_id" => "User ID",
        "$email" => "E-mail",
        "$name" => "Full name",
        "$first_name" => "First name",
        "$last_name" => "Last name",
        "$phone" => "Phone",
        "$avatar" => "Picture",
        "$created" => "Sign-up date",
        "$country_code" => "Country",
        other => other,
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The project a run went to, in words.
pub fn run_project(record: &RunRecord) -> String {
    let project = match &record.project_id {
        Some(id) => format!("project {id}"),
        None => "the token's project".to_owned(),
    };
    match &record.connection {
        Some(name) => format!("{project} (connection '{name}')"),
        None => project,
    }
}

/// One line per kind of row that was not imported, for the end of a run of `kind` (empty parts
/// left out).
pub fn counts_detail(counts: &RunCounts, kind: RunKind) -> Vec<String> {
    let kind = kind.import_kind();
    let was = |n: u64| {
        format!(
            "{} {}",
            count_of(kind, n),
            if n == 1 { "was" } else { "were" }
        )
    };
    let mut parts = Vec::new();
    if counts.already_sent > 0 {
        parts.push(format!(
            "{} skipped because an earlier run had already sent them",
            plural(counts.already_sent, "row was", "rows were")
        ));
    }
    if counts.rejected_by_check > 0 {
        parts.push(format!(
            "{} not sent because the check refused them",
            plural(counts.rejected_by_check, "row was", "rows were")
        ));
    }
    if counts.rejected_by_mixpanel > 0 {
        parts.push(format!(
            "{} refused by Mixpanel",
            was(counts.rejected_by_mixpanel)
        ));
    }
    if counts.not_delivered > 0 {
        parts.push(format!(
            "{} not delivered after every retry",
            was(counts.not_delivered)
        ));
    }
    if counts.not_sent > 0 {
        parts.push(format!(
            "{} not sent",
            plural(counts.not_sent, "row was", "rows were")
        ));
    }
    parts
}

/// The headline of a run's end (of a run of `kind`).
pub fn run_headline(end: &RunEnd, kind: RunKind) -> &'static str {
    match end {
        RunEnd::Undelivered if kind == RunKind::Profiles => {
            "The import ended, but some profiles were not delivered."
        }
        RunEnd::Finished => "The import is finished.",
        RunEnd::Cancelled => "The import was cancelled.",
        RunEnd::Refused { .. } => "Mixpanel refused the connection: the import stopped.",
        RunEnd::NotMixpanel { .. } => "The server is not Mixpanel: the import stopped.",
        RunEnd::Redirected { .. } => "The server sent the import elsewhere: the import stopped.",
        RunEnd::Unreachable { .. } => "Mixpanel could not be reached: the import stopped.",
        RunEnd::Undelivered => "The import ended, but some events were not delivered.",
        RunEnd::FileBroken { .. } => "The file could not be read to its end: the import stopped.",
        RunEnd::Interrupted => "The import did not finish (Mixport was closed or stopped).",
    }
}

/// Why no saved connection can read a run back from Mixpanel, and how to add one, in the app's
/// words (the Connect step, not environment variables).
pub fn no_export_connection(why: &crate::session::verify::NoExportConnection) -> String {
    use crate::session::verify::NoExportConnection;
    let how = "In Mixpanel, open Organization Settings > Service Accounts and add one with the Owner or Admin role on the project; then add it in the Connect step (sign in with: Service account).";
    match why {
        NoExportConnection::ProjectToken => format!(
            "a project token cannot read events back from Mixpanel: that needs a service account. {how}"
        ),
        NoExportConnection::NoServiceAccount { project, region } => format!(
            "no saved service account can read project {project} ({region} region) back. {how}"
        ),
    }
}

/// The banner over every step while the open file corrects an earlier run.
pub fn correction_banner(run_id: &str, generation: u32, label: &str) -> String {
    format!(
        "Correcting run {run_id}: this file is imported with new insert IDs (insert-ID generation {generation}) and the label \"{label}\", so Mixpanel keeps every corrected event. Check it, then import it as usual."
    )
}

/// How a run ended, in two or three words (the history's Outcome column).
pub fn run_short(end: &RunEnd) -> &'static str {
    match end {
        RunEnd::Finished => "Finished",
        RunEnd::Cancelled => "Cancelled",
        RunEnd::Refused { .. } => "Refused by Mixpanel",
        RunEnd::NotMixpanel { .. } => "Server not Mixpanel",
        RunEnd::Redirected { .. } => "Redirected",
        RunEnd::Unreachable { .. } => "Not reachable",
        RunEnd::Undelivered => "Partly delivered",
        RunEnd::FileBroken { .. } => "File broken",
        RunEnd::Interrupted => "Did not finish",
    }
}

/// The offer to resume a run from an earlier session, in one sentence.
pub fn unfinished_run(record: &RunRecord) -> String {
    let what = format!(
        "An import of {} into {}",
        record.file_name(),
        run_project(record)
    );
    let sent = count_of(
        record.kind.import_kind(),
        record.counts.imported + record.counts.already_sent,
    );
    match &record.end {
        RunEnd::Interrupted => format!(
            "{what} did not finish: Mixport was closed or stopped during it. Resuming sends only the rows Mixpanel did not acknowledge."
        ),
        RunEnd::Cancelled => format!("{what} was cancelled after {sent}."),
        RunEnd::Refused { .. } => format!(
            "{what} was refused by Mixpanel after {sent}; its connection was saved again since."
        ),
        other => format!(
            "{what} stopped ({}) after {sent}.",
            run_short(other).to_lowercase()
        ),
    }
}

/// One sentence saying what was sent, what was not, and what to do.
pub fn run_outcome(record: &RunRecord) -> String {
    run_outcome_at(record, false)
}

/// [`run_outcome`] as the Review step says it (`on_review`): the refused rows are listed below,
/// not "in Review".
pub fn run_outcome_at(record: &RunRecord, on_review: bool) -> String {
    if record.end == RunEnd::Interrupted {
        // The process stopped before it could count: only the journal knows what got through.
        return format!(
            "The import into {} stopped without a count (Mixport was closed or stopped). Start it again from the same file: the rows Mixpanel acknowledged are skipped.",
            run_project(record)
        );
    }
    let c = &record.counts;
    let kind = record.kind.import_kind();
    let sent = format!(
        "{} {} imported into {}",
        count_of(kind, c.imported),
        if c.imported == 1 { "was" } else { "were" },
        run_project(record)
    );
    let rest = counts_detail(c, record.kind);
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!("; {}", rest.join("; "))
    };
    let todo = match &record.end {
        RunEnd::Finished if c.rejected_by_check + c.rejected_by_mixpanel > 0 && on_review => {
            " The refused rows are listed below: export them to fix and import again.".to_owned()
        }
        RunEnd::Finished if c.rejected_by_check + c.rejected_by_mixpanel > 0 => {
            " The refused rows are listed in Review, where you can export them to fix and import again."
                .to_owned()
        }
        RunEnd::Finished => String::new(),
        RunEnd::Cancelled | RunEnd::Interrupted => {
            " Start the import again to send the rest: rows already sent are skipped.".to_owned()
        }
        RunEnd::Refused {
            status,
            service_account: true,
            project_id,
            ..
        } => format!(
            " Mixpanel answered HTTP {status}: the service account's username or secret is wrong, or it is not a member of project {} (Owner or Admin). Fix the connection in Connect (Edit), then start the import again: rows already sent are skipped.",
            project_id.as_deref().unwrap_or("?")
        ),
        RunEnd::Refused {
            status,
            service_account: false,
            ..
        } => format!(
            " Mixpanel answered HTTP {status}: the project token is wrong, or belongs to a project in another region. Copy it again from the project's settings, fix the connection in Connect (Edit), then start the import again."
        ),
        RunEnd::NotMixpanel { status, .. } => format!(
            " The server answered HTTP {status}, which Mixpanel's import never does: check the connection's region (and the server address), then start the import again."
        ),
        RunEnd::Redirected { status, location } => format!(
            " The server answered HTTP {status} pointing to {location}; Mixport never follows such a redirect. Check the connection's region (and the server address), then start the import again."
        ),
        RunEnd::Unreachable { host, detail } => format!(
            " No connection to {host} succeeded ({detail}). Check your internet connection, proxy or firewall, then start the import again: rows already sent are skipped."
        ),
        RunEnd::Undelivered => {
            " Mixpanel or the network kept failing for those: start the import again later to send them (rows already sent are skipped).".to_owned()
        }
        RunEnd::FileBroken { message } => format!(
            " The file broke off: {message}. Repair or export the file again, then import it."
        ),
    };
    format!("{sent}{rest}.{todo}")
}

/// Why a user-profile import cannot go through the connection `name` (a service account
/// without the project's token), and what to do.
pub fn missing_project_token(name: &str) -> String {
    format!(
        "The connection '{name}' has no project token. Mixpanel needs the project's token to update user profiles: in the Connect step, click “Edit {name}”, paste the token into “Project token (for user profiles)” and save. You find it in Mixpanel's Project Settings, under Access Keys (Project Token)."
    )
}

/// The answer to "Test connection", in plain words: `Ok` when the connection works (or cannot
/// be checked before sending), `Err` saying what is wrong and what to do.
pub fn connection_test(
    connection: &ActiveConnection,
    check: &ConnectionCheck,
) -> Result<String, String> {
    let saved = &connection.saved;
    let project = saved.project_id.clone().unwrap_or_default();
    let region = region_name(saved.region);
    let user = saved.username.clone().unwrap_or_default();
    match check.status {
        ConnectionStatus::Verified => Ok(match &check.project_name {
            Some(name) => format!(
                "Connected: the service account '{user}' can see project {project} (\"{name}\") in the {region} region."
            ),
            None => format!(
                "Connected: the service account '{user}' can see project {project} in the {region} region."
            ),
        }),
        ConnectionStatus::NotCheckable => Ok(
            "A project token cannot be checked without sending data: the first batch of the import checks it, and the import stops at once if Mixpanel refuses it."
                .to_owned(),
        ),
        ConnectionStatus::ProjectNotVisible => Err(format!(
            "Wrong project: the service account works, but project {project} is not among the projects it can see. Check the Project ID, and that the service account is a member of that project (Owner or Admin)."
        )),
        ConnectionStatus::Refused => Err(
            "Bad credentials: Mixpanel refused the service account's username or secret. Copy them again from your organisation's service accounts in Mixpanel, then Edit this connection."
                .to_owned(),
        ),
        ConnectionStatus::Unreachable => Err(format!(
            "No network: Mixpanel could not be reached ({}). Check your internet connection, proxy or firewall, then try again.",
            check.detail
        )),
        ConnectionStatus::NotMixpanel => Err(format!(
            "This server is not Mixpanel: the address answered, but not as Mixpanel's API does ({}). Check the region.",
            check.detail
        )),
        ConnectionStatus::ServerTrouble => Err(format!(
            "Mixpanel is busy or having trouble ({}). The connection may be right: try again in a few minutes.",
            check.detail
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_fields_are_named_as_the_map_step_names_them() {
        assert_eq!(rejected_field("properties.time"), "Time (properties.time)");
        assert_eq!(
            rejected_field("properties.distinct_id"),
            "User ID (properties.distinct_id)"
        );
        assert_eq!(rejected_field("event"), "Event name (event)");
        assert_eq!(rejected_field("$created"), "Sign-up date ($created)");
        assert_eq!(rejected_field("properties.plan"), "properties.plan");
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(809_997), "809,997");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_profiles_run_is_told_in_profiles() {
        let record = RunRecord {
            id: "r".into(),
            kind: RunKind::Profiles,
            file: "customers.csv".into(),
            options: Default::default(),
            mapping: Default::default(),
            connection: Some("Prod".into()),
            connection_identity: String::new(),
            project_id: Some("42".into()),
            region: "us".into(),
            label: None,
            started_at: String::new(),
            finished_at: String::new(),
            end: RunEnd::Finished,
            counts: RunCounts {
                rows: 20,
                imported: 16,
                rejected_by_check: 3,
                rejected_by_mixpanel: 1,
                ..RunCounts::default()
            },
            resumed: false,
            connection_changed: false,
            rejected_file: None,
            report_file: None,
            journal_id: None,
        };
        let text = run_outcome(&record);
        assert!(
            text.starts_with("16 user profiles were imported into project 42"),
            "{text}"
        );
        assert!(
            text.contains("1 user profile was refused by Mixpanel"),
            "{text}"
        );
        assert!(!text.contains("event"), "{text}");
        let cancelled = RunRecord {
            end: RunEnd::Cancelled,
            ..record
        };
        assert!(unfinished_run(&cancelled).contains("after 16 user profiles"));
        assert_eq!(
            run_headline(&RunEnd::Undelivered, RunKind::Profiles),
            "The import ended, but some profiles were not delivered."
        );
    }

    #[test]
    fn no_flag_or_json_key_reaches_the_app() {
        let errors = [
            MappingError::Unmapped {
                field: RequiredField::Event,
            },
            MappingError::Unmapped {
                field: RequiredField::User,
            },
            MappingError::Unmapped {
                field: RequiredField::Time,
            },
            MappingError::AmbiguousDayOrder {
                column: "when".into(),
                example: "03/04/2024".into(),
            },
            MappingError::UnknownColumn {
                field: "distinct_id".into(),
                column: "x".into(),
            },
        ];
        for e in &errors {
            let text = mapping_error(e);
            for jargon in ["--", "{\"", "day_order", "mixport ", "allow_missing_user"] {
                assert!(!text.contains(jargon), "{text}");
            }
        }
    }
}
