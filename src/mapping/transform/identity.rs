//! Who and what: the event name, the user ids, the insert id, and the head of the JSON line.

use crate::mapping::insert_id::{
    column_id_fingerprint, derive_insert_id, hash_insert_id, row_fingerprint, salt_fingerprint,
};
use crate::mapping::typing::write_json_string;
use crate::source::Record;
use crate::validate::{self, Issue, IssueKind};

use super::cells::{CellText, cell_text, itoa_i64, push_invalid_utf8, shorten};
use super::{EventFrom, Transformed, Transformer};

/// The user ids read from a record.
#[derive(Default)]
pub(super) struct UserIds {
    /// The `distinct_id` cell was unusable (a placeholder or bad bytes): already reported.
    invalid: bool,
    user_id: Option<String>,
    device_id: Option<String>,
}

impl Transformer {
    /// Read the event name into `out.event`.
    pub(super) fn read_event(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        match &self.event {
            EventFrom::Constant(name) => out.event.push_str(name),
            EventFrom::Column(index) => {
                let index = *index;
                let mut invalid = false;
                match cell_text(record.cells.get(index), &mut self.scratch) {
                    CellText::Text(s) => out.event.push_str(s.trim()),
                    CellText::Invalid => {
                        push_invalid_utf8(out, row, "event", &self.columns[index]);
                        invalid = true;
                    }
                    CellText::Empty => {}
                }
                if out.event.is_empty() && !invalid {
                    out.issues.push(Issue {
                        kind: IssueKind::EmptyEventName,
                        field: "event".to_owned(),
                        column: Some(self.columns[index].clone()),
                        row,
                        message: format!(
                            "row {row}: the event name (column '{}') is empty. Fill it in, or map the event name to a constant.",
                            self.columns[index]
                        ),
                    });
                }
            }
        }
        if validate::IDENTITY_EVENTS.contains(&out.event.as_str()) {
            out.issues.push(Issue {
                kind: IssueKind::IdentityEvent,
                field: "event".to_owned(),
                column: self.event_column(),
                row,
                message: format!(
                    "row {row}: '{}' is an identity event; projects on simplified ID merge reject it. Leave it out unless your project uses original ID merge.",
                    out.event
                ),
            });
        }
    }

    fn event_column(&self) -> Option<String> {
        match &self.event {
            EventFrom::Column(i) => Some(self.columns[*i].clone()),
            EventFrom::Constant(_) => None,
        }
    }

    fn any_user_column(&self) -> bool {
        self.distinct_id.is_some() || self.user_id.is_some() || self.device_id.is_some()
    }

    /// Read `distinct_id` (into `out.distinct_id`), `$user_id` and `$device_id`.
    pub(super) fn read_users(&mut self, record: &Record, out: &mut Transformed) -> UserIds {
        let row = record.row;
        let mut users = UserIds::default();
        if let Some(index) = self.distinct_id {
            users.invalid = self.read_user_id(record, index, "properties.distinct_id", out);
        }
        if let Some(index) = self.user_id {
            users.user_id = self.read_id_into(record, index, "properties.$user_id", out);
        }
        if let Some(index) = self.device_id {
            users.device_id = self.read_id_into(record, index, "properties.$device_id", out);
        }
        if self.any_user_column()
            && !self.allow_missing_user
            && out.distinct_id.is_empty()
            && users.user_id.is_none()
            && users.device_id.is_none()
            && !users.invalid
        {
            let column = self
                .distinct_id
                .or(self.user_id)
                .or(self.device_id)
                .map(|i| self.columns[i].clone());
            out.issues.push(Issue {
                kind: IssueKind::MissingUserId,
                field: "properties.distinct_id".to_owned(),
                column: column.clone(),
                row,
                message: format!(
                    "row {row}: the user ID (column '{}') is empty. Fill it in, or allow events without a user in the mapping.",
                    column.unwrap_or_default()
                ),
            });
        }
        users
    }

    /// Read the `distinct_id` column into `out.distinct_id`. Returns whether the cell was unusable.
    fn read_user_id(
        &mut self,
        record: &Record,
        index: usize,
        field: &str,
        out: &mut Transformed,
    ) -> bool {
        let row = record.row;
        match cell_text(record.cells.get(index), &mut self.scratch) {
            CellText::Text(s) => {
                let s = s.trim();
                if validate::is_banned_id(s) {
                    out.issues
                        .push(banned_id_issue(row, field, &self.columns[index], s));
                    out.distinct_id.push_str(s);
                    return true;
                }
                out.distinct_id.push_str(s);
                false
            }
            CellText::Invalid => {
                push_invalid_utf8(out, row, field, &self.columns[index]);
                true
            }
            CellText::Empty => false,
        }
    }

    /// Read a `$user_id` / `$device_id` column. `Some` when non-empty.
    fn read_id_into(
        &mut self,
        record: &Record,
        index: usize,
        field: &str,
        out: &mut Transformed,
    ) -> Option<String> {
        let row = record.row;
        match cell_text(record.cells.get(index), &mut self.scratch) {
            CellText::Text(s) => {
                let s = s.trim();
                if s.is_empty() {
                    return None;
                }
                if validate::is_banned_id(s) {
                    out.issues
                        .push(banned_id_issue(row, field, &self.columns[index], s));
                }
                Some(s.to_owned())
            }
            CellText::Invalid => {
                push_invalid_utf8(out, row, field, &self.columns[index]);
                None
            }
            CellText::Empty => None,
        }
    }

    /// Read (or derive) `$insert_id` into `out.insert_id`. Needs the event, user and time read.
    pub(super) fn read_insert_id(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        let Some(index) = self.insert_id else {
            self.derive_insert_id(record, out);
            return;
        };
        match cell_text(record.cells.get(index), &mut self.scratch) {
            CellText::Text(s) => {
                let s = s.trim();
                // A correction (generation N > 0): an ID from the column is replaced by one
                // derived from the column's value in this generation.
                let from_column =
                    !matches!(validate::check_insert_id(s), Err(IssueKind::BannedInsertId));
                let salted = (from_column && self.insert_id_generation > 0)
                    .then(|| column_id_fingerprint(s, self.insert_id_generation));
                match validate::check_insert_id(s) {
                    Ok(()) => out.insert_id.push_str(s),
                    Err(IssueKind::BannedInsertId) => {
                        // A placeholder never becomes an insert ID.
                        let column = self.columns[index].clone();
                        if !s.is_empty() {
                            out.issues.push(Issue {
                                kind: IssueKind::InsertIdPlaceholder,
                                field: "properties.$insert_id".to_owned(),
                                column: Some(column.clone()),
                                row,
                                message: format!(
                                    "row {row}: insert ID '{}' (column '{column}') is a placeholder, not an ID; an insert ID derived from the row's content is sent instead.",
                                    shorten(s)
                                ),
                            });
                        }
                        self.derive_insert_id(record, out);
                    }
                    Err(kind) => {
                        let column = &self.columns[index];
                        let what = if kind == IssueKind::InsertIdTooLong {
                            "is longer than the 36 bytes Mixpanel accepts"
                        } else {
                            "has characters other than letters, digits and '-', which Mixpanel refuses"
                        };
                        out.issues.push(Issue {
                            kind: IssueKind::InsertIdHashed,
                            field: "properties.$insert_id".to_owned(),
                            column: Some(column.clone()),
                            row,
                            message: format!(
                                "row {row}: insert ID '{}' (column '{column}') {what}; it is sent as a stable hash of the value, so duplicates are still removed and importing the file again gives the same IDs.",
                                shorten(s)
                            ),
                        });
                        let hashed = hash_insert_id(s);
                        // ok: hex digits are ASCII.
                        out.insert_id
                            .push_str(std::str::from_utf8(&hashed).unwrap_or_default());
                    }
                }
                if let Some(fingerprint) = salted {
                    out.insert_id.clear();
                    out.insert_id.push_str(&derive_insert_id(
                        &out.event,
                        &out.distinct_id,
                        out.time_ms,
                        fingerprint,
                    ));
                }
            }
            CellText::Invalid => {
                push_invalid_utf8(out, row, "properties.$insert_id", &self.columns[index]);
            }
            CellText::Empty => self.derive_insert_id(record, out),
        }
    }

    fn derive_insert_id(&mut self, record: &Record, out: &mut Transformed) {
        let fingerprint = salt_fingerprint(row_fingerprint(record), self.insert_id_generation);
        let id = derive_insert_id(&out.event, &out.distinct_id, out.time_ms, fingerprint);
        out.insert_id.push_str(&id);
    }

    /// Write `{"event":…,"properties":{"time":…` and the id properties. Returns how many
    /// properties were written.
    pub(super) fn write_head(&self, out: &mut Transformed, users: &UserIds) -> usize {
        let mut count = 0usize;
        let json = &mut out.json;
        json.extend_from_slice(b"{\"event\":");
        write_json_string(&out.event, json);
        json.extend_from_slice(b",\"properties\":{\"time\":");
        json.extend_from_slice(itoa_i64(out.time_ms, &mut [0u8; 20]));
        count += 1;
        if self.distinct_id.is_some() || !self.any_user_column() {
            json.extend_from_slice(b",\"distinct_id\":");
            write_json_string(&out.distinct_id, json);
            count += 1;
        }
        json.extend_from_slice(b",\"$insert_id\":");
        write_json_string(&out.insert_id, json);
        count += 1;
        if let Some(v) = &users.user_id {
            json.extend_from_slice(b",\"$user_id\":");
            write_json_string(v, json);
            count += 1;
        }
        if let Some(v) = &users.device_id {
            json.extend_from_slice(b",\"$device_id\":");
            write_json_string(v, json);
            count += 1;
        }
        count
    }
}

fn banned_id_issue(row: u64, field: &str, column: &str, value: &str) -> Issue {
    Issue {
        kind: IssueKind::BannedDistinctId,
        field: field.to_owned(),
        column: Some(column.to_owned()),
        row,
        message: format!(
            "row {row}: user ID '{value}' (column '{column}') is a placeholder Mixpanel refuses. Use the real user ID, or leave the cell empty and allow events without a user."
        ),
    }
}
