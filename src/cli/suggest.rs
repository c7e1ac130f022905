//! `mixport suggest FILE [-o MAPPING.json]`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mixport suggest`.
#[derive(Debug, clap::Args)]
pub struct SuggestArgs {
    /// The events file (CSV, TSV, JSON, NDJSON, XLSX; optionally gzipped).
    pub file: PathBuf,
    /// Write the mapping here instead of printing it.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Suggest a mapping for events or user profiles (default: whichever the file looks like).
    #[command(flatten)]
    pub kind: super::KindArgs,
    /// How to read the file.
    #[command(flatten)]
    pub source: super::SourceArgs,
}

/// Run `mixport suggest`: print the suggested mapping as JSON (stdout or `-o`), and how sure
/// each guess is on stderr.
pub fn run(args: SuggestArgs) -> ExitCode {
    if let Err(message) = super::guard_outputs(&args.file, None, &[("-o", args.output.as_deref())])
    {
        return super::fail(message);
    }
    let opened = match super::input::read_head(&args.file, &args.source) {
        Ok(v) => v,
        Err(message) => return super::fail(message),
    };
    let suggestion = crate::session::prepare::suggest(&opened);
    let mut mapping = suggestion.mapping.clone();
    if let Some(kind) = args.kind.kind() {
        crate::session::prepare::set_kind(&mut mapping, kind, &opened);
    }
    let json = match serde_json::to_string_pretty(&mapping) {
        Ok(j) => j,
        Err(e) => return super::fail(format!("cannot print the mapping: {e}")),
    };
    if let Some(preset) = suggestion.preset {
        eprintln!(
            "{}: fields mapped as {} writes them",
            preset.label(),
            preset.name()
        );
    }
    if opened.sniff.skip_rows > 0 {
        eprintln!(
            "header row: row {} (the row(s) above it are skipped; use --header-row N to choose another)",
            opened.sniff.header_row
        );
    }
    match (&suggestion.profiles.reason, mapping.kind) {
        (Some(reason), crate::mapping::ImportKind::Profiles) => {
            eprintln!("user profiles: {reason} (pass --events for events)");
        }
        (Some(reason), crate::mapping::ImportKind::Events) => {
            eprintln!("events, as asked; the file looks like user profiles: {reason}");
        }
        (None, crate::mapping::ImportKind::Profiles) => {
            eprintln!("user profiles, as asked");
        }
        (None, crate::mapping::ImportKind::Events) => {}
    }
    if mapping.kind == crate::mapping::ImportKind::Profiles {
        let profiles = &suggestion.profiles;
        for guess in std::iter::once(&profiles.id).chain(&profiles.fields) {
            match &guess.column {
                Some(column) => eprintln!(
                    "{:<28} <- '{}' ({:.0}% sure: {})",
                    guess.property,
                    column,
                    guess.confidence * 100.0,
                    guess.reason
                ),
                None => eprintln!("{:<28} <- nothing: {}", guess.property, guess.reason),
            }
        }
        for (field, column) in [
            (
                "$country_code",
                mapping.country.as_ref().map(|c| c.column.as_str()),
            ),
            ("$city", mapping.city.as_deref()),
            ("$region", mapping.region.as_deref()),
        ] {
            if let Some(column) = column {
                eprintln!("{field:<28} <- '{column}'");
            }
        }
    }
    let event_guesses = if mapping.kind == crate::mapping::ImportKind::Events {
        &suggestion.fields[..]
    } else {
        &[]
    };
    for guess in event_guesses {
        // With simplified ID merge the user column is sent as $user_id.
        let field = if guess.field == crate::mapping::suggest::Field::User
            && mapping.distinct_id.is_none()
            && mapping.user_id.is_some()
        {
            "properties.$user_id"
        } else {
            guess.field.mixpanel_field()
        };
        if let Some(column) = &guess.column {
            eprintln!(
                "{:<28} <- '{}' ({:.0}% sure: {})",
                field,
                column,
                guess.confidence * 100.0,
                guess.reason
            );
        } else {
            eprintln!(
                "{:<28} <- nothing: {}",
                guess.field.mixpanel_field(),
                guess.reason
            );
        }
    }
    for note in &suggestion.notes {
        eprintln!("note: {note}");
    }
    if suggestion.blank_countries > 0 {
        eprintln!(
            "note: {} of the first rows {} no country: sent without one",
            suggestion.blank_countries,
            if suggestion.blank_countries == 1 {
                "has"
            } else {
                "have"
            }
        );
    }
    if let Some(example) = &suggestion.ambiguous_day_order {
        eprintln!(
            "note: dates such as '{example}' could be day/month or month/day: set \"time\": {{\"day_order\": \"day_first\"}} or \"month_first\" in the mapping."
        );
    }
    let unresolved: Vec<&str> = suggestion
        .countries
        .iter()
        .filter(|c| c.code.is_none())
        .map(|c| c.value.as_str())
        .collect();
    if !unresolved.is_empty() {
        eprintln!(
            "note: unknown country values (add \"overrides\" in the mapping): {}",
            unresolved.join(", ")
        );
    }
    match &args.output {
        Some(path) => {
            if let Err(e) = crate::output::write_atomically(path, (json + "\n").as_bytes()) {
                return super::fail(format!(
                    "{}: cannot write: {e}. Choose a folder you can write to.",
                    path.display()
                ));
            }
            eprintln!("mapping written to {}", path.display());
        }
        None => println!("{json}"),
    }
    ExitCode::from(super::EXIT_OK)
}
