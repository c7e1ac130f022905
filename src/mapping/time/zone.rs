//! The source time zone: UTC aliases and IANA zones, with a per-day offset cache.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{LocalResult, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

use super::civil::Fields;

/// Number of cached local days (a power of two) for zones with DST.
pub(super) const ZONE_CACHE_DAYS: usize = 4096;
/// Marks an empty cache slot (no real local day number has these high bits).
pub(super) const EMPTY_SLOT: u64 = (i32::MIN as u32 as u64) << 32;

/// The zone of values without an offset.
pub(super) enum Zone {
    /// UTC (also `GMT`, `Etc/UTC`, `Z` and an empty name): no tz lookups at all.
    Utc,
    /// An IANA zone, with a direct-mapped cache of local days that have a single UTC offset.
    Tz {
        tz: Tz,
        /// Slot `day & (len - 1)` holds `(day as i32) << 32 | (offset_secs as i32 as u32)`.
        /// Atomic so the parser stays `Sync`; a slot is one 64-bit word, so reads are consistent.
        day_offsets: Box<[AtomicU64]>,
    },
}

impl Zone {
    pub(super) fn new_tz(tz: Tz) -> Self {
        Zone::Tz {
            tz,
            day_offsets: (0..ZONE_CACHE_DAYS)
                .map(|_| AtomicU64::new(EMPTY_SLOT))
                .collect(),
        }
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Zone::Utc => "UTC",
            Zone::Tz { tz, .. } => tz.name(),
        }
    }
}

impl Clone for Zone {
    fn clone(&self) -> Self {
        match self {
            Zone::Utc => Zone::Utc,
            Zone::Tz { tz, day_offsets } => Zone::Tz {
                tz: *tz,
                day_offsets: day_offsets
                    .iter()
                    .map(|slot| AtomicU64::new(slot.load(Ordering::Relaxed)))
                    .collect(),
            },
        }
    }
}

/// The UTC offset (seconds east) of a local time in `tz`: cached per local day when the whole
/// day has one offset; `None` for a local time skipped by a DST change. An ambiguous local time
/// (clocks moved back) takes the earlier instant, i.e. the larger offset.
pub(super) fn zone_offset(
    tz: Tz,
    day_offsets: &[AtomicU64],
    days: i64,
    fields: &Fields,
) -> Option<i32> {
    let slot = &day_offsets[(days as usize) & (day_offsets.len() - 1)];
    let entry = slot.load(Ordering::Relaxed);
    if (entry >> 32) as u32 as i32 as i64 == days && entry != EMPTY_SLOT {
        return Some(entry as u32 as i32);
    }
    let date = NaiveDate::from_ymd_opt(fields.year, fields.month, fields.day)?;
    let offset_at = |hour, minute, second| -> LocalResult<i32> {
        match date.and_hms_opt(hour, minute, second) {
            Some(local) => tz
                .offset_from_local_datetime(&local)
                .map(|offset| offset.fix().local_minus_utc()),
            None => LocalResult::None,
        }
    };
    // Cache the day when it starts and ends on the same single offset (no transition inside).
    if let (LocalResult::Single(start), LocalResult::Single(end)) =
        (offset_at(0, 0, 0), offset_at(23, 59, 59))
        && start == end
        && i32::try_from(days).is_ok()
    {
        slot.store(
            ((days as i32 as u32 as u64) << 32) | (start as u32 as u64),
            Ordering::Relaxed,
        );
        return Some(start);
    }
    match offset_at(fields.hour, fields.minute, fields.second) {
        LocalResult::Single(offset) => Some(offset),
        LocalResult::Ambiguous(a, b) => Some(a.max(b)),
        LocalResult::None => None,
    }
}

/// Resolve a zone name: UTC aliases, an exact IANA name, or an IANA name ignoring case.
pub(super) fn resolve_zone(name: &str) -> Option<Zone> {
    let name = name.trim();
    if name.is_empty()
        || [
            "UTC",
            "Etc/UTC",
            "GMT",
            "Etc/GMT",
            "Z",
            "Zulu",
            "UCT",
            "Etc/UCT",
            "Universal",
        ]
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(name))
    {
        return Some(Zone::Utc);
    }
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(Zone::new_tz(tz));
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name))
        .map(|tz| Zone::new_tz(*tz))
}

/// Whether `name` is a time zone [`TimeParser::new`] accepts.
pub fn is_known_time_zone(name: &str) -> bool {
    resolve_zone(name).is_some()
}

/// Every IANA zone name, sorted, for a searchable picker.
pub fn time_zone_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    names.sort_unstable();
    names
}
