//! The File step's header row: which row of the file holds the column names, said in plain
//! words whenever it is not the first row, and the first rows of the file as written (the
//! title rows too) to pick another one from, or to say that the file has no row of names.
//!
//! Choosing opens the file again through the same session path as every other reading
//! setting ([`crate::session::open`] with [`SourceOptions::header_row`] set), so the columns,
//! the preview and the suggested mapping all follow the row chosen.

use egui::RichText;

use crate::session::OpenedFile;
use crate::source::{Format, RawHead, SourceOptions};

/// The most columns of the rows as written drawn side by side.
const SHOWN_COLUMNS: usize = 30;

/// Draw the header-row section for `file`, whose rows as written are `raw` (or why they could
/// not be read). Returns the new reading settings when the user chose another row or said that
/// the file has (or has no) row of column names.
pub fn ui(
    ui: &mut egui::Ui,
    file: &OpenedFile,
    raw: &Result<RawHead, String>,
) -> Option<SourceOptions> {
    let sniff = &file.sniff;
    if !matches!(sniff.format, Format::Csv | Format::Xlsx) {
        return None;
    }
    let chosen_by_user = file.options.header_row.is_some() || file.options.has_header.is_some();
    let summary = summary(sniff.has_header, sniff.header_row, chosen_by_user);
    if sniff.header_row > 1 || !sniff.has_header {
        ui.label(RichText::new(summary).strong());
    } else {
        ui.label(summary);
    }
    let mut options = None;
    egui::CollapsingHeader::new("Choose the row with the column names")
        .id_salt("header-row")
        .default_open(sniff.header_row > 1 || !sniff.has_header)
        .show(ui, |ui| {
            let mut has_header = sniff.has_header;
            if ui
                .checkbox(&mut has_header, "The file has a row of column names")
                .on_hover_text("Untick when every row holds values: the columns are then numbered.")
                .changed()
            {
                options = Some(SourceOptions {
                    has_header: Some(has_header),
                    ..file.options.clone()
                });
            }
            match raw {
                Ok(head) if head.rows.is_empty() => {
                    ui.weak("The first rows of the file could not be shown.");
                }
                Ok(head) => {
                    ui.weak(
                        "The first rows of the file as written. Click a row's number to use its \
                         values as the column names.",
                    );
                    if let Some(row) = rows(ui, head, sniff.has_header, sniff.header_row) {
                        options = Some(SourceOptions {
                            header_row: Some(usize::try_from(row).unwrap_or(usize::MAX)),
                            has_header: Some(true),
                            ..file.options.clone()
                        });
                    }
                }
                Err(message) => {
                    ui.weak(format!(
                        "The first rows of the file could not be shown: {message}"
                    ));
                }
            }
        });
    options
}

/// Which row holds the column names, in words.
fn summary(has_header: bool, header_row: u64, chosen_by_user: bool) -> String {
    let above = header_row.saturating_sub(1);
    let skipped = match above {
        0 => String::new(),
        1 => "; the row above (a title, a note or a blank row) is skipped".to_owned(),
        n => format!("; the {n} rows above (a title, notes or blank rows) are skipped"),
    };
    let how = if chosen_by_user {
        ", as you chose."
    } else if above > 0 {
        ". If that is wrong, choose the row with the column names below."
    } else {
        "."
    };
    if has_header {
        format!("Column names are on row {header_row}{skipped}{how}")
    } else {
        format!(
            "This file has no row of column names: its columns are numbered, and the values \
             start on row {header_row}{skipped}{how}"
        )
    }
}

/// The rows as written, the header row marked. Returns the number of the row clicked.
fn rows(ui: &mut egui::Ui, head: &RawHead, has_header: bool, header_row: u64) -> Option<u64> {
    let width = head
        .rows
        .iter()
        .map(|r| r.cells.len())
        .max()
        .unwrap_or(0)
        .min(SHOWN_COLUMNS);
    let mut clicked = None;
    egui::ScrollArea::both()
        .id_salt("raw-rows")
        .max_height(170.0)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            egui::Grid::new("raw-rows-grid")
                .striped(true)
                .spacing([12.0, 4.0])
                .show(ui, |ui| {
                    let mut next = 1;
                    for raw in &head.rows {
                        // Blank sheet rows are not read: say where they are.
                        if raw.row > next {
                            ui.weak(if raw.row - next == 1 {
                                format!("Row {next}")
                            } else {
                                format!("Rows {next}–{}", raw.row - 1)
                            });
                            ui.weak("blank");
                            ui.end_row();
                        }
                        next = raw.row + 1;
                        let is_header = has_header && raw.row == header_row;
                        let label = format!("Row {}", raw.row);
                        if ui
                            .selectable_label(is_header, label)
                            .on_hover_text(format!(
                                "Use the values of row {} as the column names",
                                raw.row
                            ))
                            .clicked()
                            && !is_header
                        {
                            clicked = Some(raw.row);
                        }
                        let role = if is_header {
                            RichText::new("column names").strong()
                        } else if raw.row < header_row {
                            RichText::new("skipped").weak()
                        } else {
                            RichText::new("")
                        };
                        ui.label(role);
                        for index in 0..width {
                            let text = raw.cells.get(index).map(String::as_str).unwrap_or("");
                            let text = RichText::new(text);
                            ui.label(if is_header {
                                text.strong()
                            } else if raw.row < header_row {
                                text.weak()
                            } else {
                                text
                            });
                        }
                        ui.end_row();
                    }
                });
            if head.cut {
                ui.weak("(More rows follow; very long rows are not shown here.)");
            }
        });
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_which_row_and_what_is_skipped() {
        assert_eq!(summary(true, 1, false), "Column names are on row 1.");
        assert_eq!(
            summary(true, 3, false),
            "Column names are on row 3; the 2 rows above (a title, notes or blank rows) are \
             skipped. If that is wrong, choose the row with the column names below."
        );
        assert_eq!(
            summary(true, 2, true),
            "Column names are on row 2; the row above (a title, a note or a blank row) is \
             skipped, as you chose."
        );
        assert!(summary(false, 1, true).starts_with("This file has no row of column names"));
    }
}
