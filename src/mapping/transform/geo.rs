//! Where: the country (resolved to an ISO code), city, region and IP.

use crate::mapping::typing::write_json_string;
use crate::source::Record;
use crate::validate::{Issue, IssueKind};

use super::cells::{CellText, cell_text, push_invalid_utf8, shorten};
use super::resolve::CountryLookup;
use super::{Transformed, Transformer};

impl Transformer {
    /// Write `mp_country_code`, `$city`, `$region` and `ip` when mapped and present. Returns the
    /// number of properties written.
    pub(super) fn write_geo(&mut self, record: &Record, out: &mut Transformed) -> usize {
        let row = record.row;
        let mut count = 0;
        if self.country.is_some() {
            count += self.write_country(record, out);
        }
        for (index, key, field) in [
            (self.city, &b",\"$city\":"[..], "properties.$city"),
            (self.region, &b",\"$region\":"[..], "properties.$region"),
            (self.ip, &b",\"ip\":"[..], "properties.ip"),
        ] {
            let Some(index) = index else { continue };
            match cell_text(record.cells.get(index), &mut self.scratch) {
                CellText::Text(s) => {
                    let s = s.trim();
                    if !s.is_empty() {
                        out.json.extend_from_slice(key);
                        write_json_string(s, &mut out.json);
                        count += 1;
                    }
                }
                CellText::Invalid => {
                    push_invalid_utf8(out, row, field, &self.columns[index]);
                }
                CellText::Empty => {}
            }
        }
        count
    }

    /// Write `mp_country_code` when the country resolves; returns the number of properties written.
    fn write_country(&mut self, record: &Record, out: &mut Transformed) -> usize {
        let row = record.row;
        let Some(spec) = self.country.as_mut() else {
            return 0;
        };
        let text = match cell_text(record.cells.get(spec.index), &mut self.scratch) {
            CellText::Text(s) => s.trim(),
            CellText::Invalid => {
                push_invalid_utf8(out, row, "properties.mp_country_code", &spec.column);
                return 0;
            }
            CellText::Empty => return 0,
        };
        if text.is_empty() {
            return 0;
        }
        let lookup = spec.lookup(text);
        match lookup {
            CountryLookup::Code(code) => {
                out.json.extend_from_slice(b",\"mp_country_code\":\"");
                out.json.extend_from_slice(code.as_bytes());
                out.json.push(b'"');
                1
            }
            CountryLookup::Skip => 0,
            CountryLookup::Unknown => {
                out.issues.push(Issue {
                    kind: IssueKind::UnknownCountry,
                    field: "properties.mp_country_code".to_owned(),
                    column: Some(spec.column.clone()),
                    row,
                    message: format!(
                        "row {row}: country '{}' (column '{}') is not a country Mixport knows; the event is sent without a country. Add an override for this value in the mapping.",
                        shorten(text),
                        spec.column
                    ),
                });
                0
            }
        }
    }
}
