//! Known export schemas: files exported by other analytics tools, recognised by their columns.
//!
//! Each preset names, for every Mixpanel field, the columns that tool writes it to (compared
//! after folding, so `messageId`, `message_id` and `context.ip` / `context_ip` match). When a
//! file has a preset's signature columns, those choices replace the generic guesses, and the
//! Map step says so ("Looks like a Segment export"). Nested containers (`properties`,
//! `event_properties`, `context`, `geo`, GA4's `event_params`) are flattened by the JSON reader;
//! the preset names the flattened columns.

use serde::{Deserialize, Serialize};

use crate::mapping::synonyms::fold;

use super::Field;

/// A recognised export schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Segment (raw JSON or a warehouse table).
    Segment,
    /// Amplitude's export API.
    Amplitude,
    /// Google Analytics 4's BigQuery export.
    Ga4BigQuery,
    /// PostHog's event export.
    PostHog,
    /// Heap (Heap Connect tables).
    Heap,
    /// Mixpanel's own raw export.
    MixpanelExport,
}

impl Preset {
    /// Every preset, most specific first.
    pub const ALL: [Preset; 6] = [
        Preset::MixpanelExport,
        Preset::Ga4BigQuery,
        Preset::Amplitude,
        Preset::PostHog,
        Preset::Segment,
        Preset::Heap,
    ];

    /// The tool's name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Segment => "Segment",
            Preset::Amplitude => "Amplitude",
            Preset::Ga4BigQuery => "Google Analytics 4 (BigQuery)",
            Preset::PostHog => "PostHog",
            Preset::Heap => "Heap",
            Preset::MixpanelExport => "Mixpanel raw",
        }
    }

    /// What the Map step shows: "Looks like a Segment export".
    pub fn label(self) -> String {
        format!("Looks like a {} export", self.name())
    }

    /// Folded column names that must all be present (any one of each group).
    fn signature(self) -> &'static [&'static [&'static str]] {
        match self {
            Preset::Segment => &[
                &["anonymousid"],
                &["messageid", "id"],
                &["event", "eventtext"],
                &["timestamp", "originaltimestamp", "receivedat"],
            ],
            Preset::Amplitude => &[
                &["eventtype"],
                &["deviceid", "amplitudeid"],
                &["eventtime", "clienteventtime"],
            ],
            Preset::Ga4BigQuery => &[&["eventname"], &["eventtimestamp"], &["userpseudoid"]],
            Preset::PostHog => &[&["event"], &["distinctid"], &["uuid"], &["timestamp"]],
            Preset::Heap => &[&["eventid"], &["userid"], &["sessionid"], &["time"]],
            Preset::MixpanelExport => &[
                &["event"],
                &["time"],
                &["distinctid"],
                &["mpprocessingtimems"],
            ],
        }
    }

    /// Folded candidate columns for a field, best first (empty: the preset has none).
    fn columns(self, field: Field) -> &'static [&'static str] {
        use Field::*;
        match (self, field) {
            (Preset::Segment, Event) => &["event", "eventtext"],
            (Preset::Segment, User) => &["userid"],
            (Preset::Segment, Time) => &["timestamp", "originaltimestamp", "receivedat"],
            (Preset::Segment, InsertId) => &["messageid", "id"],
            (Preset::Segment, Country) => &["contextlocationcountry"],
            (Preset::Segment, City) => &["contextlocationcity"],
            (Preset::Segment, Region) => &["contextlocationregion"],
            (Preset::Segment, Ip) => &["contextip"],
            (Preset::Amplitude, Event) => &["eventtype"],
            (Preset::Amplitude, User) => &["userid"],
            (Preset::Amplitude, Time) => &["eventtime", "clienteventtime"],
            (Preset::Amplitude, InsertId) => &["insertid", "uuid"],
            (Preset::Amplitude, Country) => &["country"],
            (Preset::Amplitude, City) => &["city"],
            (Preset::Amplitude, Region) => &["region"],
            (Preset::Amplitude, Ip) => &["ipaddress"],
            (Preset::Ga4BigQuery, Event) => &["eventname"],
            (Preset::Ga4BigQuery, User) => &["userid"],
            (Preset::Ga4BigQuery, Time) => &["eventtimestamp"],
            (Preset::Ga4BigQuery, Country) => &["geocountry"],
            (Preset::Ga4BigQuery, City) => &["geocity"],
            (Preset::Ga4BigQuery, Region) => &["georegion"],
            (Preset::PostHog, Event) => &["event"],
            (Preset::PostHog, User) => &["distinctid"],
            (Preset::PostHog, Time) => &["timestamp"],
            (Preset::PostHog, InsertId) => &["uuid"],
            (Preset::PostHog, Country) => &["geoipcountrycode", "propertiesgeoipcountrycode"],
            (Preset::PostHog, City) => &["geoipcityname", "propertiesgeoipcityname"],
            (Preset::PostHog, Region) => {
                &["geoipsubdivision1name", "propertiesgeoipsubdivision1name"]
            }
            (Preset::PostHog, Ip) => &["ip", "propertiesip"],
            (Preset::Heap, Event) => &["eventtablename", "eventname", "type"],
            (Preset::Heap, User) => &["userid"],
            (Preset::Heap, Time) => &["time"],
            (Preset::Heap, InsertId) => &["eventid"],
            (Preset::Heap, Country) => &["country"],
            (Preset::Heap, City) => &["city"],
            (Preset::Heap, Region) => &["region"],
            (Preset::Heap, Ip) => &["ip"],
            (Preset::MixpanelExport, Event) => &["event"],
            (Preset::MixpanelExport, User) => &["distinctid"],
            (Preset::MixpanelExport, Time) => &["time"],
            (Preset::MixpanelExport, InsertId) => &["insertid"],
            (Preset::MixpanelExport, Country) => &["mpcountrycode"],
            (Preset::MixpanelExport, City) => &["city"],
            (Preset::MixpanelExport, Region) => &["region"],
            _ => &[],
        }
    }

    /// Simplified ID merge: the user column is sent as `$user_id` (not `distinct_id`) and this
    /// column as `$device_id`, as the tool's own Mixpanel integration does.
    fn device_column(self) -> &'static [&'static str] {
        match self {
            Preset::Segment => &["anonymousid"],
            Preset::Amplitude => &["deviceid"],
            Preset::Ga4BigQuery => &["userpseudoid"],
            _ => &[],
        }
    }

    /// Detect the preset of a file from its columns.
    pub fn detect(columns: &[String]) -> Option<Preset> {
        let folded: Vec<String> = columns.iter().map(|c| fold(c)).collect();
        Preset::ALL.into_iter().find(|preset| {
            preset
                .signature()
                .iter()
                .all(|group| group.iter().any(|name| folded.iter().any(|f| f == name)))
        })
    }

    /// The column this preset maps `field` to, if the file has one.
    pub(super) fn column_for(self, field: Field, columns: &[String]) -> Option<usize> {
        find(self.columns(field), columns)
    }

    /// The device-ID column, when the preset sends users with simplified ID merge.
    pub(super) fn device_for(self, columns: &[String]) -> Option<usize> {
        find(self.device_column(), columns)
    }
}

fn find(candidates: &[&str], columns: &[String]) -> Option<usize> {
    candidates
        .iter()
        .find_map(|name| columns.iter().position(|c| fold(c) == *name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn detects_each_schema() {
        let cases = [
            (
                Preset::Segment,
                cols(&[
                    "messageId",
                    "anonymousId",
                    "userId",
                    "event",
                    "timestamp",
                    "type",
                ]),
            ),
            (
                Preset::Segment,
                cols(&[
                    "id",
                    "anonymous_id",
                    "user_id",
                    "event",
                    "received_at",
                    "context_ip",
                ]),
            ),
            (
                Preset::Amplitude,
                cols(&[
                    "event_type",
                    "user_id",
                    "device_id",
                    "event_time",
                    "$insert_id",
                ]),
            ),
            (
                Preset::Ga4BigQuery,
                cols(&[
                    "event_name",
                    "event_timestamp",
                    "user_pseudo_id",
                    "geo.country",
                ]),
            ),
            (
                Preset::PostHog,
                cols(&["uuid", "event", "distinct_id", "timestamp", "$ip"]),
            ),
            (
                Preset::Heap,
                cols(&[
                    "event_id",
                    "user_id",
                    "session_id",
                    "time",
                    "event_table_name",
                ]),
            ),
            (
                Preset::MixpanelExport,
                cols(&[
                    "event",
                    "time",
                    "distinct_id",
                    "$insert_id",
                    "mp_processing_time_ms",
                ]),
            ),
        ];
        for (preset, columns) in cases {
            assert_eq!(Preset::detect(&columns), Some(preset), "{columns:?}");
        }
        assert_eq!(Preset::detect(&cols(&["event", "user_id", "time"])), None);
        // Mixpanel's own field names in a CSV are not an export of Mixpanel's.
        assert_eq!(
            Preset::detect(&cols(&["$insert_id", "event", "distinct_id", "time"])),
            None
        );
    }

    #[test]
    fn columns_are_found_by_folded_name() {
        let columns = cols(&["messageId", "anonymousId", "userId", "event", "timestamp"]);
        assert_eq!(
            Preset::Segment.column_for(Field::InsertId, &columns),
            Some(0)
        );
        assert_eq!(Preset::Segment.device_for(&columns), Some(1));
        assert_eq!(Preset::Segment.column_for(Field::User, &columns), Some(2));
        assert_eq!(Preset::Segment.label(), "Looks like a Segment export");
    }
}
