//! `$insert_id`: deriving deterministic ids (the rule an id must meet is
//! [`crate::validate::check_insert_id`]).
//!
//! Mixpanel deduplicates events by `(event, distinct_id, time, $insert_id)`. A derived id is a
//! hash of exactly those fields plus the row's content, so importing the same file twice (or
//! resending a batch after a crash) never creates duplicates, while two different rows that share
//! event, user and time still get different ids.
//!
//! # The recipes (stable: changing them changes every derived id; tests pin them)
//! [`row_fingerprint`] is XXH3-128 (seed 0) over:
//! `b"mixport-row-v1"`, the number of cells as u64 little-endian, each cell encoded as below, the
//! number of extra fields as u64 LE, then each extra field as its name (length as u64 LE, then
//! the UTF-8 bytes) followed by its cell. A cell is a tag byte and its content:
//! `0` missing (no content); `1` text and `2` invalid-UTF-8 text: length as u64 LE, then the
//! bytes; `3` JSON value: its compact `serde_json` text, then a `0x00` byte (JSON text never
//! contains one). The row number is not part of it: an exact duplicate row is the same event and
//! gets the same id (the check warns about duplicates).
//!
//! [`derive_insert_id`] is XXH3-128 (seed 0) over: `b"mixport-insert-id-v1"`, the event name's
//! length as u64 LE and its UTF-8 bytes, the distinct_id's length as u64 LE and its bytes, the
//! time in milliseconds as i64 LE, the fingerprint as u128 LE; written as 32 lower-case hex
//! digits (most significant first).
//!
//! # Generations
//! A corrected re-import must not reuse the insert ids of the events it replaces (Mixpanel may
//! drop them as duplicates of the deleted ones), so the mapping carries an insert-id
//! *generation*. [`salt_fingerprint`] folds it into the row fingerprint before
//! [`derive_insert_id`]: generation 0 leaves the fingerprint as it is (ids of earlier runs stay
//! the same); generation N > 0 replaces it by XXH3-128 (seed 0) over
//! `b"mixport-insert-id-generation-v1"`, N as u32 LE, and the fingerprint as u128 LE. An id taken
//! from a column is, in generation N > 0, replaced by a derived id whose fingerprint is the
//! salted XXH3-128 of the column's value.

use std::io;

use xxhash_rust::xxh3::Xxh3;

use crate::source::{Cell, Record};

/// A 128-bit hash of the record's content: every cell with its kind, and the extra fields with
/// their names; not the row number (see the module docs for the exact recipe).
pub fn row_fingerprint(record: &Record) -> u128 {
    let mut hasher = Xxh3::new();
    hasher.update(b"mixport-row-v1");
    hasher.update(&(record.cells.len() as u64).to_le_bytes());
    for cell in &record.cells {
        hash_cell(&mut hasher, cell);
    }
    hasher.update(&(record.extra.len() as u64).to_le_bytes());
    for (name, cell) in &record.extra {
        hash_bytes(&mut hasher, name.as_bytes());
        hash_cell(&mut hasher, cell);
    }
    hasher.digest128()
}

fn hash_bytes(hasher: &mut Xxh3, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn hash_cell(hasher: &mut Xxh3, cell: &Cell) {
    match cell {
        Cell::Missing => hasher.update(&[0]),
        Cell::Text(text) => {
            hasher.update(&[1]);
            hash_bytes(hasher, text.as_bytes());
        }
        Cell::InvalidUtf8(text) => {
            hasher.update(&[2]);
            hash_bytes(hasher, text.as_bytes());
        }
        Cell::Json(value) => {
            hasher.update(&[3]);
            // Writing into a hasher cannot fail, and serializing a `Value` has no other error
            // source (its map keys are strings).
            let _ = serde_json::to_writer(HashWriter(hasher), value);
            hasher.update(&[0]);
        }
    }
}

/// Feeds written bytes into the hasher (no buffer).
struct HashWriter<'a>(&'a mut Xxh3);

impl io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Fold an insert-id generation into a row fingerprint (see the module docs). Generation 0
/// returns the fingerprint unchanged.
pub fn salt_fingerprint(fingerprint: u128, generation: u32) -> u128 {
    if generation == 0 {
        return fingerprint;
    }
    let mut hasher = Xxh3::new();
    hasher.update(b"mixport-insert-id-generation-v1");
    hasher.update(&generation.to_le_bytes());
    hasher.update(&fingerprint.to_le_bytes());
    hasher.digest128()
}

/// The fingerprint that stands for an insert id taken from a column, in generation N > 0.
pub fn column_id_fingerprint(value: &str, generation: u32) -> u128 {
    salt_fingerprint(xxhash_rust::xxh3::xxh3_128(value.as_bytes()), generation)
}

/// A deterministic `$insert_id`: 32 lower-case hex digits (valid per [`crate::validate::check_insert_id`]),
/// the same on every platform and version (see the module docs for the exact recipe).
pub fn derive_insert_id(event: &str, distinct_id: &str, time_ms: i64, fingerprint: u128) -> String {
    let hex = derive_insert_id_hex(event, distinct_id, time_ms, fingerprint);
    // ok: the bytes are ASCII hex digits.
    String::from_utf8_lossy(&hex).into_owned()
}

/// A valid `$insert_id` for a value Mixpanel would refuse (longer than 36 bytes, or characters
/// outside `[A-Za-z0-9-]`): 32 lower-case hex digits of XXH3-128 (seed 0) over
/// `b"mixport-insert-id-value-v1"`, the value's length as u64 LE and its UTF-8 bytes. It depends
/// on the value alone, so two rows with the same source ID still share one (Mixpanel still
/// deduplicates them) and re-importing the file gives the same IDs.
pub fn hash_insert_id(value: &str) -> [u8; 32] {
    let mut hasher = Xxh3::new();
    hasher.update(b"mixport-insert-id-value-v1");
    hash_bytes(&mut hasher, value.as_bytes());
    hex32(hasher.digest128())
}

fn hex32(hash: u128) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 32];
    for (i, digit) in hex.iter_mut().enumerate() {
        *digit = HEX[((hash >> (124 - 4 * i)) & 0xf) as usize];
    }
    hex
}

/// [`derive_insert_id`] as ASCII bytes on the stack, for writers that want no allocation.
pub fn derive_insert_id_hex(
    event: &str,
    distinct_id: &str,
    time_ms: i64,
    fingerprint: u128,
) -> [u8; 32] {
    let mut hasher = Xxh3::new();
    hasher.update(b"mixport-insert-id-v1");
    hash_bytes(&mut hasher, event.as_bytes());
    hash_bytes(&mut hasher, distinct_id.as_bytes());
    hasher.update(&time_ms.to_le_bytes());
    hasher.update(&fingerprint.to_le_bytes());
    hex32(hasher.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{IssueKind, check_insert_id};
    use serde_json::json;

    fn record(cells: Vec<Cell>) -> Record {
        Record {
            row: 2,
            cells,
            ..Record::default()
        }
    }

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    #[test]
    fn column_ids_follow_mixpanel_rules() {
        assert_eq!(check_insert_id("a1b2-C3"), Ok(()));
        assert_eq!(
            check_insert_id("550e8400-e29b-41d4-a716-446655440000"),
            Ok(())
        );
        assert_eq!(check_insert_id(&"a".repeat(36)), Ok(()));
        assert_eq!(
            check_insert_id(&"a".repeat(37)),
            Err(IssueKind::InsertIdTooLong)
        );
        assert_eq!(check_insert_id(""), Err(IssueKind::BannedInsertId));
        assert_eq!(check_insert_id("   "), Err(IssueKind::BannedInsertId));
        for banned in [
            "null",
            "NULL",
            "undefined",
            "0",
            "-1",
            "none",
            "anon",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(
                check_insert_id(banned),
                Err(IssueKind::BannedInsertId),
                "{banned}"
            );
        }
        for bad in ["abc_def", "abc def", " abc", "abc.def", "ünï", "a/b", "a:b"] {
            assert_eq!(
                check_insert_id(bad),
                Err(IssueKind::InsertIdBadCharacters),
                "{bad}"
            );
        }
        // Length is in bytes: 19 two-byte characters are too long.
        assert_eq!(
            check_insert_id(&"é".repeat(19)),
            Err(IssueKind::InsertIdTooLong)
        );
    }

    #[test]
    fn fingerprint_separates_cells_and_kinds() {
        let ab_c = row_fingerprint(&record(vec![text("ab"), text("c")]));
        let a_bc = row_fingerprint(&record(vec![text("a"), text("bc")]));
        assert_ne!(ab_c, a_bc);
        assert_ne!(
            row_fingerprint(&record(vec![text("1")])),
            row_fingerprint(&record(vec![Cell::Json(json!(1))]))
        );
        assert_ne!(
            row_fingerprint(&record(vec![text("")])),
            row_fingerprint(&record(vec![Cell::Missing]))
        );
        assert_ne!(
            row_fingerprint(&record(vec![text("x")])),
            row_fingerprint(&record(vec![Cell::InvalidUtf8("x".into())]))
        );
        assert_ne!(
            row_fingerprint(&record(vec![Cell::Json(json!(["a", "bc"]))])),
            row_fingerprint(&record(vec![Cell::Json(json!(["ab", "c"]))]))
        );
        assert_ne!(
            row_fingerprint(&record(vec![Cell::Json(json!(1)), Cell::Json(json!(2))])),
            row_fingerprint(&record(vec![Cell::Json(json!(12))]))
        );
        // Extras count, with their names.
        let mut with_extra = record(vec![text("a")]);
        with_extra.extra.push(("k".into(), text("v")));
        let mut other_name = record(vec![text("a")]);
        other_name.extra.push(("kv".into(), text("")));
        assert_ne!(
            row_fingerprint(&with_extra),
            row_fingerprint(&record(vec![text("a")]))
        );
        assert_ne!(row_fingerprint(&with_extra), row_fingerprint(&other_name));
        // A cell moved into the extras is a different row.
        assert_ne!(
            row_fingerprint(&record(vec![text("a"), text("v")])),
            row_fingerprint(&with_extra)
        );
    }

    #[test]
    fn fingerprint_ignores_row_position_and_flags() {
        let a = record(vec![text("x"), Cell::Json(json!({"k": [1, 2.5, null]}))]);
        let mut b = a.clone();
        b.row = 999;
        b.byte_offset = 12345;
        b.ragged = Some(3);
        assert_eq!(row_fingerprint(&a), row_fingerprint(&b));
    }

    #[test]
    fn fingerprint_recipe_is_pinned() {
        let mut row = record(vec![
            text("Purchase"),
            Cell::Missing,
            Cell::InvalidUtf8("a\u{fffd}".into()),
            Cell::Json(json!({"n": 1.5, "b": true})),
        ]);
        row.extra.push(("column_5".into(), text("x")));
        // The recipe, spelled out byte by byte.
        let mut bytes = b"mixport-row-v1".to_vec();
        bytes.extend_from_slice(&4u64.to_le_bytes());
        bytes.push(1);
        bytes.extend_from_slice(&8u64.to_le_bytes());
        bytes.extend_from_slice(b"Purchase");
        bytes.push(0);
        bytes.push(2);
        bytes.extend_from_slice(&4u64.to_le_bytes());
        bytes.extend_from_slice("a\u{fffd}".as_bytes());
        bytes.push(3);
        bytes.extend_from_slice(br#"{"n":1.5,"b":true}"#);
        bytes.push(0);
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&8u64.to_le_bytes());
        bytes.extend_from_slice(b"column_5");
        bytes.push(1);
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(b"x");
        let fingerprint = row_fingerprint(&row);
        assert_eq!(fingerprint, xxhash_rust::xxh3::xxh3_128(&bytes));
        assert_eq!(format!("{fingerprint:032x}"), PINNED_FINGERPRINT);
    }

    /// Fixed results of the recipes: if one of these changes, every derived id changes and
    /// re-imports would duplicate events. Never update them without a new recipe version.
    const PINNED_FINGERPRINT: &str = "339a424d61698cc009f3b3956da8f9ba";
    const PINNED_ID: &str = "66b9cce2464c1401279edde9ed1974bc";

    #[test]
    fn derived_id_recipe_is_pinned() {
        let fingerprint = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        let id = derive_insert_id("Purchase", "user-42", 1_709_647_620_123, fingerprint);
        let mut bytes = b"mixport-insert-id-v1".to_vec();
        bytes.extend_from_slice(&8u64.to_le_bytes());
        bytes.extend_from_slice(b"Purchase");
        bytes.extend_from_slice(&7u64.to_le_bytes());
        bytes.extend_from_slice(b"user-42");
        bytes.extend_from_slice(&1_709_647_620_123i64.to_le_bytes());
        bytes.extend_from_slice(&fingerprint.to_le_bytes());
        assert_eq!(id, format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes)));
        assert_eq!(id, PINNED_ID);
    }

    #[test]
    fn hashed_value_recipe_is_pinned() {
        let value = "ajs-next-1700000000000-5f0c8e2e-1b2c-4d5e";
        let mut bytes = b"mixport-insert-id-value-v1".to_vec();
        bytes.extend_from_slice(&(value.len() as u64).to_le_bytes());
        bytes.extend_from_slice(value.as_bytes());
        let hex = hash_insert_id(value);
        assert_eq!(
            std::str::from_utf8(&hex).unwrap(),
            format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes))
        );
        assert_eq!(std::str::from_utf8(&hex).unwrap(), PINNED_VALUE_HASH);
        assert_eq!(check_insert_id(std::str::from_utf8(&hex).unwrap()), Ok(()));
    }

    /// Never update without a new recipe version: re-imports would duplicate events.
    const PINNED_VALUE_HASH: &str = "eae5d145db79da72e2b77d7146a86300";

    #[test]
    fn derived_ids_are_valid_and_sensitive_to_every_input() {
        let base = derive_insert_id("e", "u", 1, 7);
        assert_eq!(base.len(), 32);
        assert!(
            base.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(check_insert_id(&base), Ok(()));
        assert_eq!(base, derive_insert_id("e", "u", 1, 7), "deterministic");
        assert_ne!(base, derive_insert_id("f", "u", 1, 7));
        assert_ne!(base, derive_insert_id("e", "v", 1, 7));
        assert_ne!(base, derive_insert_id("e", "u", 2, 7));
        assert_ne!(base, derive_insert_id("e", "u", 1, 8));
        // Field boundaries matter.
        assert_ne!(
            derive_insert_id("ab", "c", 1, 7),
            derive_insert_id("a", "bc", 1, 7)
        );
        assert_eq!(&derive_insert_id_hex("e", "u", 1, 7)[..], base.as_bytes());
    }

    #[test]
    fn generations_salt_ids_and_generation_zero_keeps_them() {
        let fingerprint = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        assert_eq!(salt_fingerprint(fingerprint, 0), fingerprint);
        let g1 = salt_fingerprint(fingerprint, 1);
        let mut bytes = b"mixport-insert-id-generation-v1".to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&fingerprint.to_le_bytes());
        assert_eq!(g1, xxhash_rust::xxh3::xxh3_128(&bytes));
        assert_ne!(g1, salt_fingerprint(fingerprint, 2));
        // Generation 0 is today's id, pinned above.
        assert_eq!(
            derive_insert_id(
                "Purchase",
                "user-42",
                1_709_647_620_123,
                salt_fingerprint(fingerprint, 0)
            ),
            PINNED_ID
        );
        assert_eq!(
            derive_insert_id("Purchase", "user-42", 1_709_647_620_123, g1),
            PINNED_ID_GENERATION_1
        );
        assert_ne!(
            column_id_fingerprint("abc", 1),
            column_id_fingerprint("abc", 2)
        );
    }

    const PINNED_ID_GENERATION_1: &str = "e7530796a1c6fde1c70c7015c049cd2c";

    proptest::proptest! {
        #[test]
        fn check_never_panics_and_derived_ids_always_pass(s in "\\PC{0,50}", t in proptest::num::i64::ANY, f in proptest::num::u128::ANY) {
            let _ = check_insert_id(&s);
            let id = derive_insert_id(&s, &s, t, f);
            proptest::prop_assert_eq!(check_insert_id(&id), Ok(()));
        }
    }
}
