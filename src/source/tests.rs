//! End-to-end tests of sniffing and streaming on files written to a temporary directory.

use std::io::Write;
use std::path::PathBuf;

use super::*;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn read_all(sniff: &Sniff) -> Result<Vec<Record>, SourceError> {
    let mut reader = open(sniff)?;
    let mut records = Vec::new();
    let mut record = Record::default();
    while reader.read_into(&mut record)? {
        records.push(record.clone());
    }
    Ok(records)
}

fn sniff_bytes(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Result<Sniff, SourceError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, name, bytes);
    let sniffed = sniff(&path, &SourceOptions::default());
    (dir, sniffed)
}

fn text(cell: &Cell) -> &str {
    match cell {
        Cell::Text(text) => text,
        other => panic!("expected text, got {other:?}"),
    }
}

fn texts(record: &Record) -> Vec<&str> {
    record.cells.iter().map(text).collect()
}

#[test]
fn csv_with_header_streams_rows_with_numbers_and_offsets() {
    let (_dir, sniffed) = sniff_bytes(
        "a.csv",
        b"user,event,time\nu1,signup,2024-01-01\nu2,login,2024-01-02\n",
    );
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.format, Format::Csv);
    assert_eq!(sniffed.compression, Compression::None);
    assert_eq!(sniffed.encoding, TextEncoding::Utf8);
    assert_eq!(sniffed.delimiter, b',');
    assert!(sniffed.has_header);
    assert_eq!(sniffed.columns, ["user", "event", "time"]);
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].row, 2);
    assert_eq!(records[0].byte_offset, 16);
    assert_eq!(texts(&records[0]), ["u1", "signup", "2024-01-01"]);
    assert_eq!(records[1].row, 3);
    assert_eq!(records[1].ragged, None);
}

#[test]
fn csv_each_delimiter_from_a_file() {
    for (delimiter, name) in [
        (b';', "semi"),
        (b'\t', "tab"),
        (b'|', "pipe"),
        (b',', "comma"),
    ] {
        let d = char::from(delimiter);
        let content = format!("id{d}name{d}amount\n1{d}Ann{d}3.5\n2{d}Bob{d}4\n");
        let (_dir, sniffed) = sniff_bytes(&format!("{name}.txt"), content.as_bytes());
        let sniffed = sniffed.unwrap();
        assert_eq!(sniffed.delimiter, delimiter, "{name}");
        assert_eq!(sniffed.columns, ["id", "name", "amount"], "{name}");
        let records = read_all(&sniffed).unwrap();
        assert_eq!(texts(&records[1]), ["2", "Bob", "4"], "{name}");
    }
}

#[test]
fn csv_without_header_and_with_override() {
    let (dir, sniffed) = sniff_bytes("n.csv", b"u1,42,2024-01-01\nu2,43,2024-01-02\n");
    let sniffed = sniffed.unwrap();
    assert!(!sniffed.has_header);
    assert_eq!(sniffed.columns, ["column_1", "column_2", "column_3"]);
    assert!(
        sniffed
            .notes
            .iter()
            .any(|note| note.contains("no header row"))
    );
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].row, 1);
    assert_eq!(texts(&records[0]), ["u1", "42", "2024-01-01"]);

    let options = SourceOptions {
        has_header: Some(true),
        ..Default::default()
    };
    let forced = sniff(&dir.path().join("n.csv"), &options).unwrap();
    assert!(forced.has_header);
    assert_eq!(forced.columns, ["u1", "42", "2024-01-01"]);
    let records = read_all(&forced).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].row, 2);

    let (_dir, sniffed) = sniff_bytes("h.csv", b"name,city\nAnn,Paris\n");
    let options = SourceOptions {
        has_header: Some(false),
        ..Default::default()
    };
    let forced = sniff(&sniffed.unwrap().path, &options).unwrap();
    assert_eq!(read_all(&forced).unwrap().len(), 2);
}

#[test]
fn utf8_bom_is_skipped() {
    let (_dir, sniffed) = sniff_bytes("bom.csv", b"\xEF\xBB\xBFid,name\n1,Zo\xC3\xAB\n");
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.encoding, TextEncoding::Utf8Bom);
    assert_eq!(sniffed.columns, ["id", "name"]);
    let records = read_all(&sniffed).unwrap();
    assert_eq!(texts(&records[0]), ["1", "Zoë"]);
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        bytes.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

#[test]
fn utf16_le_and_be_are_decoded() {
    for (big_endian, expected) in [
        (false, TextEncoding::Utf16Le),
        (true, TextEncoding::Utf16Be),
    ] {
        let bytes = utf16("id;city\r\n1;Zürich\r\n2;東京\r\n", big_endian);
        let (_dir, sniffed) = sniff_bytes("u16.csv", &bytes);
        let sniffed = sniffed.unwrap();
        assert_eq!(sniffed.encoding, expected);
        assert_eq!(sniffed.delimiter, b';');
        assert_eq!(sniffed.columns, ["id", "city"]);
        let records = read_all(&sniffed).unwrap();
        assert_eq!(texts(&records[0]), ["1", "Zürich"]);
        assert_eq!(texts(&records[1]), ["2", "東京"]);
    }
}

#[test]
fn windows_1252_is_detected_reported_and_decoded() {
    let (_dir, sniffed) = sniff_bytes(
        "w.csv",
        b"name,city\ncaf\xe9,Z\xfcrich\nna\xefve,M\x9archen\n",
    );
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.encoding, TextEncoding::Windows1252);
    assert!(
        sniffed
            .notes
            .iter()
            .any(|note| note.contains("Windows-1252"))
    );
    let records = read_all(&sniffed).unwrap();
    assert_eq!(texts(&records[0]), ["café", "Zürich"]);
    assert_eq!(texts(&records[1]), ["naïve", "Mšrchen"]);
}

#[test]
fn invalid_utf8_cell_does_not_fail_the_file() {
    let content = b"name,city\nZo\xC3\xAB,K\xC3\xB6ln\nbad\xFF,Li\xC3\xA8ge\nok,M\xC3\xBCnchen\n";
    let (_dir, sniffed) = sniff_bytes("bad.csv", content);
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.encoding, TextEncoding::Utf8);
    assert!(
        sniffed
            .notes
            .iter()
            .any(|note| note.contains("not valid UTF-8"))
    );
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[1].cells[0],
        Cell::InvalidUtf8("bad\u{FFFD}".to_string())
    );
    assert_eq!(records[1].cells[1], Cell::Text("Liège".to_string()));
    assert_eq!(texts(&records[2]), ["ok", "München"]);

    // Forced UTF-8 on a file that is all Windows-1252: bad cells are flagged, reading goes on.
    let options = SourceOptions {
        encoding: Some(TextEncoding::Utf8),
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "w.csv", b"name\ncaf\xe9\nplain\n");
    let records = read_all(&sniff(&path, &options).unwrap()).unwrap();
    assert!(matches!(records[0].cells[0], Cell::InvalidUtf8(_)));
    assert_eq!(records[1].cells[0], Cell::Text("plain".to_string()));
}

#[test]
fn gzip_of_each_format_is_detected_by_magic_bytes() {
    let cases: [(&[u8], Format); 3] = [
        (b"user,n\nu1,1\nu2,2\n", Format::Csv),
        (
            b"[{\"user\":\"u1\",\"n\":1},{\"user\":\"u2\",\"n\":2}]",
            Format::Json,
        ),
        (
            b"{\"user\":\"u1\",\"n\":1}\n{\"user\":\"u2\",\"n\":2}\n",
            Format::Ndjson,
        ),
    ];
    for (content, format) in cases {
        // The name says nothing about gzip: the magic bytes do.
        let (_dir, sniffed) = sniff_bytes("events.dat", &gzip(content));
        let sniffed = sniffed.unwrap();
        assert_eq!(sniffed.compression, Compression::Gzip, "{format:?}");
        assert_eq!(sniffed.format, format);
        assert_eq!(sniffed.columns, ["user", "n"]);
        let mut reader = open(&sniffed).unwrap();
        let mut record = Record::default();
        let mut users = Vec::new();
        while reader.read_into(&mut record).unwrap() {
            users.push(text(&record.cells[0]).to_string());
        }
        assert_eq!(users, ["u1", "u2"], "{format:?}");
        assert_eq!(reader.bytes_read(), sniffed.file_size);
    }
}

#[test]
fn truncated_gzip_is_reported_at_sniff_or_while_streaming() {
    // Small: the head itself is cut.
    let mut small = gzip(b"user,n\nu1,1\nu2,2\n");
    small.truncate(small.len() - 10);
    let (_dir, sniffed) = sniff_bytes("small.csv.gz", &small);
    assert!(
        matches!(sniffed, Err(SourceError::BadGzip { row: 0, .. })),
        "{sniffed:?}"
    );

    // Large: sniffing succeeds, streaming fails with the last row read.
    let mut content = String::from("user,n,note\n");
    let mut seed = 12345u64;
    for i in 0..200_000 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        content.push_str(&format!("user{i},{i},{seed:x}\n"));
    }
    let mut compressed = gzip(content.as_bytes());
    compressed.truncate(compressed.len() / 2);
    let (_dir, sniffed) = sniff_bytes("big.csv.gz", &compressed);
    let sniffed = sniffed.unwrap();
    let mut reader = open(&sniffed).unwrap();
    let mut record = Record::default();
    let mut rows = 0;
    let error = loop {
        match reader.read_into(&mut record) {
            Ok(true) => rows += 1,
            Ok(false) => panic!("a truncated gzip must not end quietly"),
            Err(e) => break e,
        }
    };
    assert!(rows > 1000);
    match error {
        SourceError::BadGzip { row, ref path } => {
            assert_eq!(row, rows + 1, "the last row read (header is row 1)");
            assert!(error.to_string().contains(&path.display().to_string()));
            assert!(error.to_string().contains("compress the file again"));
        }
        other => panic!("expected BadGzip, got {other:?}"),
    }

    // A gzip body that is corrupt (not truncated).
    let mut corrupt = gzip(b"user,n\nu1,1\nu2,2\n");
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xFF;
    corrupt[middle + 1] ^= 0xFF;
    let (_dir, sniffed) = sniff_bytes("corrupt.gz", &corrupt);
    assert!(
        matches!(sniffed, Err(SourceError::BadGzip { .. })),
        "{sniffed:?}"
    );
}

#[test]
fn empty_header_only_blank_binary_missing_and_directory_files() {
    let (_dir, sniffed) = sniff_bytes("empty.csv", b"");
    match sniffed {
        Err(SourceError::Empty { what, .. }) => assert!(what.contains("0 bytes")),
        other => panic!("{other:?}"),
    }
    let (_dir, sniffed) = sniff_bytes("header.csv", b"user,event,time\n");
    match sniffed {
        Err(SourceError::Empty { what, .. }) => assert!(what.contains("header row but no data")),
        other => panic!("{other:?}"),
    }
    let (_dir, sniffed) = sniff_bytes("blank.csv", b"\n\n  \r\n");
    assert!(
        matches!(sniffed, Err(SourceError::Empty { .. })),
        "{sniffed:?}"
    );
    let (_dir, sniffed) = sniff_bytes("empty.json", b"  [ ]  ");
    assert!(
        matches!(sniffed, Err(SourceError::Empty { .. })),
        "{sniffed:?}"
    );
    let (_dir, sniffed) = sniff_bytes("empty.gz", &gzip(b""));
    assert!(
        matches!(sniffed, Err(SourceError::Empty { .. })),
        "{sniffed:?}"
    );

    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let (_dir, sniffed) = sniff_bytes("blob.csv", &binary);
    assert!(
        matches!(sniffed, Err(SourceError::Unrecognised { .. })),
        "{sniffed:?}"
    );
    let (_dir, sniffed) = sniff_bytes("image.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    match sniffed {
        Err(e @ SourceError::Unrecognised { .. }) => assert!(e.to_string().contains("PNG")),
        other => panic!("{other:?}"),
    }

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let error = sniff(&missing, &SourceOptions::default()).unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }));
    assert!(error.to_string().contains("nope.csv"));
    let error = sniff(dir.path(), &SourceOptions::default()).unwrap_err();
    assert!(matches!(error, SourceError::IsDirectory { .. }));
}

#[test]
fn ragged_rows_are_reported_and_kept() {
    let (_dir, sniffed) = sniff_bytes("r.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8,9,10\n");
    let records = read_all(&sniffed.unwrap()).unwrap();
    assert_eq!(records[0].ragged, None);
    assert_eq!(records[1].ragged, Some(2));
    assert_eq!(
        records[1].cells,
        [
            Cell::Text("4".into()),
            Cell::Text("5".into()),
            Cell::Missing
        ]
    );
    assert_eq!(records[2].ragged, Some(5));
    assert_eq!(texts(&records[2]), ["6", "7", "8"]);
    assert_eq!(
        records[2].extra,
        [
            ("column_4".to_string(), Cell::Text("9".into())),
            ("column_5".to_string(), Cell::Text("10".into()))
        ]
    );
}

#[test]
fn reused_record_is_reset_between_rows() {
    let (_dir, sniffed) = sniff_bytes("r.csv", b"a,b,c\n1,2,3,4\n5\n6,7,8\n");
    let mut reader = open(&sniffed.unwrap()).unwrap();
    let mut record = Record::default();
    assert!(reader.read_into(&mut record).unwrap());
    assert_eq!(record.extra.len(), 1);
    assert!(reader.read_into(&mut record).unwrap());
    assert_eq!(
        record.cells,
        [Cell::Text("5".into()), Cell::Missing, Cell::Missing]
    );
    assert!(record.extra.is_empty());
    assert!(reader.read_into(&mut record).unwrap());
    assert_eq!(texts(&record), ["6", "7", "8"]);
    assert_eq!(record.ragged, None);
    assert!(!reader.read_into(&mut record).unwrap());
}

#[test]
fn duplicate_and_empty_headers_in_a_file() {
    let (_dir, sniffed) = sniff_bytes("d.csv", b"id,name,id,,name\n1,a,2,x,b\n");
    let sniffed = sniffed.unwrap();
    assert_eq!(
        sniffed.columns,
        ["id", "name", "id_2", "column_4", "name_2"]
    );
    assert_eq!(sniffed.notes.len(), 3, "{:?}", sniffed.notes);
    assert!(
        sniffed
            .notes
            .iter()
            .any(|n| n.contains("'id'") && n.contains("id_2"))
    );
    assert!(sniffed.notes.iter().any(|n| n.contains("column_4")));
}

#[test]
fn quoted_newlines_and_crlf() {
    let content = b"id,comment\r\n1,\"line one\r\nline two, with comma\"\r\n2,\"say \"\"hi\"\"\"\r\n3,plain\r\n";
    let (_dir, sniffed) = sniff_bytes("q.csv", content);
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.columns, ["id", "comment"]);
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(
        texts(&records[0]),
        ["1", "line one\r\nline two, with comma"]
    );
    assert_eq!(records[0].row, 2);
    // The quoted newline does not advance the row number: records, not lines.
    assert_eq!(records[1].row, 3);
    assert_eq!(texts(&records[1]), ["2", "say \"hi\""]);
    assert_eq!(texts(&records[2]), ["3", "plain"]);
    assert_eq!(records[2].row, 4);
    let offset = records[2].byte_offset as usize;
    assert_eq!(records[0].byte_offset, 12);
    assert!(content[offset..].starts_with(b"3,plain"));
    let offset = records[1].byte_offset as usize;
    assert!(content[offset..].starts_with(b"2,"));

    // Without a header, the first record starts at 0 and the next ones are not shifted.
    let (_dir, sniffed) = sniff_bytes("n.csv", b"1,2\r\n3,4\r\n");
    let records = read_all(&sniffed.unwrap()).unwrap();
    assert_eq!(
        records.iter().map(|r| r.byte_offset).collect::<Vec<_>>(),
        [0, 5]
    );
}

#[test]
fn json_array_streams_elements_with_nested_values() {
    let content = br#"[
  {"user": "u1", "tags": ["a", "b]"], "meta": {"k": "{not a bracket}"}, "n": 1},
  {"user": "u\"2]", "n": 2.5, "ok": true, "none": null},
  {"user": "u3", "n": tru},
  42,
  {"user": "u5", "later": "x"}
]"#;
    let (_dir, sniffed) = sniff_bytes("a.json", content);
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.format, Format::Json);
    assert_eq!(
        sniffed.columns,
        ["user", "tags", "meta", "n", "ok", "none", "later"]
    );
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0].row, 1);
    assert_eq!(records[0].cells[0], Cell::Text("u1".into()));
    assert_eq!(
        records[0].cells[1],
        Cell::Json(serde_json::json!(["a", "b]"]))
    );
    assert_eq!(
        records[0].cells[2],
        Cell::Json(serde_json::json!({"k": "{not a bracket}"}))
    );
    assert_eq!(records[0].cells[3], Cell::Json(serde_json::json!(1)));
    assert_eq!(records[0].cells[4], Cell::Missing);
    assert!(content[records[0].byte_offset as usize..].starts_with(b"{\"user\": \"u1\""));
    assert_eq!(records[1].cells[0], Cell::Text("u\"2]".into()));
    assert_eq!(records[1].cells[5], Cell::Json(serde_json::Value::Null));
    // A malformed element is a record with an error; the next ones are still read.
    assert_eq!(records[2].row, 3);
    assert!(
        records[2]
            .error
            .as_deref()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(records[2].cells.iter().all(|cell| *cell == Cell::Missing));
    assert!(records[3].error.as_deref().unwrap().contains("number"));
    assert_eq!(records[4].row, 5);
    assert_eq!(records[4].error, None);
    assert_eq!(records[4].cells[6], Cell::Text("x".into()));
}

#[test]
fn json_array_broken_structure_is_a_syntax_error_after_the_good_elements() {
    let (_dir, sniffed) = sniff_bytes("cut.json", br#"[{"a": 1}, {"a": 2}, {"a": [3"#);
    let sniffed = sniffed.unwrap();
    let mut reader = open(&sniffed).unwrap();
    let mut record = Record::default();
    assert!(reader.read_into(&mut record).unwrap());
    assert!(reader.read_into(&mut record).unwrap());
    match reader.read_into(&mut record) {
        Err(SourceError::Syntax { row, message, .. }) => {
            assert_eq!(row, 3);
            assert!(message.contains("ends inside"));
        }
        other => panic!("{other:?}"),
    }
    let (_dir, sniffed) = sniff_bytes("open.json", br#"[{"a": 1}"#);
    let mut reader = open(&sniffed.unwrap()).unwrap();
    assert!(reader.read_into(&mut record).unwrap());
    assert!(matches!(
        reader.read_into(&mut record),
        Err(SourceError::Syntax { .. })
    ));
}

#[test]
fn json_keys_beyond_the_head_go_to_extra() {
    let mut content = String::from("[");
    for i in 0..1500 {
        if i > 0 {
            content.push(',');
        }
        if i == 1200 {
            content.push_str(&format!("{{\"id\": {i}, \"late\": \"x\"}}"));
        } else {
            content.push_str(&format!("{{\"id\": {i}}}"));
        }
    }
    content.push(']');
    let (_dir, sniffed) = sniff_bytes("many.json", content.as_bytes());
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.columns, ["id"]);
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 1500);
    assert_eq!(records[1200].row, 1201);
    assert_eq!(
        records[1200].extra,
        [("late".to_string(), Cell::Text("x".into()))]
    );
}

#[test]
fn ndjson_with_a_bad_line_and_blank_lines() {
    let content = b"{\"user\": \"u1\", \"n\": 1}\n\n{\"user\": \"u2\", \"n\": }\r\n{\"user\": \"u3\", \"x\": [1]}\n   \n[1,2]\n{\"user\": \"u6\"}";
    let (_dir, sniffed) = sniff_bytes("e.ndjson", content);
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.format, Format::Ndjson);
    assert_eq!(sniffed.columns, ["user", "n", "x"]);
    let records = read_all(&sniffed).unwrap();
    let rows: Vec<u64> = records.iter().map(|r| r.row).collect();
    assert_eq!(rows, [1, 3, 4, 6, 7]);
    assert_eq!(records[0].error, None);
    assert!(
        records[1]
            .error
            .as_deref()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(records[2].cells[0], Cell::Text("u3".into()));
    assert_eq!(records[2].cells[2], Cell::Json(serde_json::json!([1])));
    assert!(records[3].error.as_deref().unwrap().contains("array"));
    assert_eq!(records[4].cells[0], Cell::Text("u6".into()));
    assert!(content[records[2].byte_offset as usize..].starts_with(b"{\"user\": \"u3\""));
}

#[test]
fn ndjson_invalid_utf8_string_becomes_an_invalid_cell() {
    let (_dir, sniffed) =
        sniff_bytes("e.ndjson", b"{\"a\": \"Zo\xC3\xAB\", \"b\": \"\xC3\xA9t\xC3\xA9\"}\n{\"a\": \"x\xFFy\", \"b\": \"ok\"}\n");
    let records = read_all(&sniffed.unwrap()).unwrap();
    assert_eq!(records[1].error, None);
    assert_eq!(records[1].cells[0], Cell::InvalidUtf8("x\u{FFFD}y".into()));
    assert_eq!(records[1].cells[1], Cell::Text("ok".into()));
}

#[test]
fn mixpanel_shaped_objects_are_flattened() {
    let content = br#"{"event": "Signup", "properties": {"distinct_id": "u1", "time": 1700000000, "plan": "pro"}}
{"event": "Login", "properties": {"distinct_id": "u2", "time": 1700000100, "device": "ios"}}
"#;
    let (_dir, sniffed) = sniff_bytes("mp.json", content);
    let sniffed = sniffed.unwrap();
    assert_eq!(
        sniffed.columns,
        ["event", "distinct_id", "time", "plan", "device"]
    );
    assert!(
        sniffed
            .notes
            .iter()
            .any(|note| note.contains("nested properties"))
    );
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records[1].cells[0], Cell::Text("Login".into()));
    assert_eq!(records[1].cells[1], Cell::Text("u2".into()));
    assert_eq!(
        records[1].cells[2],
        Cell::Json(serde_json::json!(1700000100))
    );
    assert_eq!(records[1].cells[3], Cell::Missing);
    assert_eq!(records[1].cells[4], Cell::Text("ios".into()));
}

#[test]
fn bytes_read_counts_the_file_on_disk() {
    let mut content = String::from("a,b\n");
    for i in 0..50_000 {
        content.push_str(&format!("{i},{}\n", i * 2));
    }
    let (_dir, sniffed) = sniff_bytes("big.csv", content.as_bytes());
    let sniffed = sniffed.unwrap();
    let mut reader = open(&sniffed).unwrap();
    let mut record = Record::default();
    assert!(reader.read_into(&mut record).unwrap());
    let early = reader.bytes_read();
    assert!(early > 0 && early < sniffed.file_size);
    let mut rows = 1;
    while reader.read_into(&mut record).unwrap() {
        rows += 1;
    }
    assert_eq!(rows, 50_000);
    assert_eq!(record.row, 50_001);
    assert_eq!(reader.bytes_read(), sniffed.file_size);
}

#[test]
fn windows_1252_after_a_cut_multibyte_char_at_the_head_end() {
    // A UTF-8 file whose head ends in the middle of "é": still UTF-8, no note.
    let mut content = String::from("name\n");
    while content.len() < head::HEAD_BYTES - 1 {
        content.push_str("abc\n");
    }
    content.truncate(head::HEAD_BYTES - 1);
    content.push('é');
    content.push_str("\nend\n");
    let (_dir, sniffed) = sniff_bytes("cut.csv", content.as_bytes());
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.encoding, TextEncoding::Utf8);
    assert!(
        !sniffed.notes.iter().any(|n| n.contains("UTF-8")),
        "{:?}",
        sniffed.notes
    );
}

fn write_workbook(path: &std::path::Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook};
    let mut workbook = Workbook::new();
    let date_format = XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let sheet = workbook.add_worksheet();
    sheet.set_name("Events").unwrap();
    for (column, name) in ["user", "amount", "when", "paid", "user"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, column as u16, *name).unwrap();
    }
    sheet.write_string(1, 0, "u1").unwrap();
    sheet.write_number(1, 1, 42.0).unwrap();
    let when = ExcelDateTime::parse_from_str("2024-03-05 14:30:15").unwrap();
    sheet
        .write_datetime_with_format(1, 2, &when, &date_format)
        .unwrap();
    sheet.write_boolean(1, 3, true).unwrap();
    sheet.write_string(1, 4, "dup").unwrap();
    // Row 3 is left empty; row 4 is short; row 5 is long.
    sheet.write_string(3, 0, "u2").unwrap();
    sheet.write_number(3, 1, 2.5).unwrap();
    sheet.write_string(4, 0, "u3").unwrap();
    sheet.write_string(4, 6, "far").unwrap();
    let other = workbook.add_worksheet();
    other.set_name("Other").unwrap();
    other.write_number(0, 0, 1.0).unwrap();
    other.write_number(0, 1, 2.0).unwrap();
    workbook.save(path).unwrap();
}

#[test]
fn xlsx_first_sheet_streams_typed_cells_as_text() {
    let dir = tempfile::tempdir().unwrap();
    // The extension does not matter: the zip signature does.
    let path = dir.path().join("events.bin");
    write_workbook(&path);
    let sniffed = sniff(&path, &SourceOptions::default()).unwrap();
    assert_eq!(sniffed.format, Format::Xlsx);
    assert_eq!(sniffed.sheets, ["Events", "Other"]);
    assert_eq!(sniffed.sheet.as_deref(), Some("Events"));
    assert!(sniffed.has_header);
    assert_eq!(
        sniffed.columns,
        ["user", "amount", "when", "paid", "user_2"]
    );
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].row, 2);
    assert_eq!(
        texts(&records[0]),
        ["u1", "42", "2024-03-05T14:30:15", "true", "dup"]
    );
    // Row numbers are the sheet's: the empty row 3 is skipped.
    assert_eq!(records[1].row, 4);
    assert_eq!(texts(&records[1]), ["u2", "2.5", "", "", ""]);
    assert_eq!(records[2].row, 5);
    assert_eq!(records[2].ragged, Some(7));
    assert_eq!(
        records[2].extra,
        [("column_7".to_string(), Cell::Text("far".into()))]
    );

    let options = SourceOptions {
        sheet: Some("Other".into()),
        ..Default::default()
    };
    let other = sniff(&path, &options).unwrap();
    assert!(!other.has_header);
    assert_eq!(other.columns, ["column_1", "column_2"]);
    let records = read_all(&other).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].row, 1);
    assert_eq!(texts(&records[0]), ["1", "2"]);

    let options = SourceOptions {
        sheet: Some("Missing".into()),
        ..Default::default()
    };
    let error = sniff(&path, &options).unwrap_err();
    assert!(matches!(error, SourceError::Excel { .. }));
    assert!(error.to_string().contains("Events, Other"));
}

#[test]
fn zip_that_is_not_a_workbook_is_unrecognised() {
    // A minimal zip: one stored entry "a.txt" and the central directory.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.xlsx");
    let mut zip = Vec::new();
    let name = b"a.txt";
    let data = b"hello";
    let crc = crc32(data);
    zip.extend_from_slice(b"PK\x03\x04\x0a\0\0\0\0\0\0\0\0\0");
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(name);
    zip.extend_from_slice(data);
    let central = zip.len() as u32;
    zip.extend_from_slice(b"PK\x01\x02\x14\0\x0a\0\0\0\0\0\0\0\0\0");
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&[0; 12]);
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(name);
    let central_len = zip.len() as u32 - central;
    zip.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
    zip.extend_from_slice(&central_len.to_le_bytes());
    zip.extend_from_slice(&central.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(&path, &zip).unwrap();
    let error = sniff(&path, &SourceOptions::default()).unwrap_err();
    assert!(
        matches!(error, SourceError::Unrecognised { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("not an Excel workbook"));
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn preview_reads_only_the_first_rows() {
    let (_dir, sniffed) = sniff_bytes("p.csv", b"a\nx\ny\nz\n");
    let rows = preview(&sniffed.unwrap(), 2).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].row, 3);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn exercise(bytes: &[u8]) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "fuzz", bytes);
        for options in [
            SourceOptions::default(),
            SourceOptions {
                format: Some(Format::Json),
                ..Default::default()
            },
            SourceOptions {
                format: Some(Format::Ndjson),
                ..Default::default()
            },
            SourceOptions {
                encoding: Some(TextEncoding::Utf16Be),
                ..Default::default()
            },
        ] {
            if let Ok(sniffed) = sniff(&path, &options)
                && let Ok(mut reader) = open(&sniffed)
            {
                let mut record = Record::default();
                for _ in 0..10_000 {
                    match reader.read_into(&mut record) {
                        Ok(true) => {}
                        Ok(false) | Err(_) => break,
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            exercise(&bytes);
        }

        #[test]
        fn arbitrary_text_like_bytes_never_panic(
            bytes in proptest::collection::vec(
                prop_oneof![
                    Just(b'"'), Just(b','), Just(b'\n'), Just(b'{'), Just(b'}'), Just(b'['),
                    Just(b']'), Just(b'\\'), Just(b':'), Just(b';'), Just(0xC3), Just(0xFF),
                    any::<u8>(),
                ],
                0..400,
            )
        ) {
            exercise(&bytes);
            exercise(&gzip(&bytes));
        }

        /// gzip streams that are cut short or damaged anywhere, around any bytes.
        #[test]
        fn cut_and_damaged_gzip_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..2000),
            cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
            mask in 1u8..,
        ) {
            let mut text = b"event,user_id,timestamp\n".to_vec();
            text.extend_from_slice(&bytes);
            let packed = gzip(&text);
            exercise(&packed[..cut.index(packed.len() + 1)]);
            let mut damaged = packed.clone();
            let at = flip.index(damaged.len());
            damaged[at] ^= mask;
            exercise(&damaged);
        }

        /// A real workbook cut short or with bytes changed anywhere (zip directory, XML,
        /// shared strings) is read or refused, never a panic or a hang.
        #[test]
        fn cut_and_damaged_xlsx_never_panics(
            cut in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..4),
        ) {
            let packed = workbook_bytes();
            exercise(&packed[..cut.index(packed.len() + 1)]);
            let mut damaged = packed.to_vec();
            for (at, mask) in flips {
                let at = at.index(damaged.len());
                damaged[at] ^= mask;
            }
            exercise(&damaged);
        }
    }

    /// The bytes of the test workbook, made once.
    fn workbook_bytes() -> &'static [u8] {
        static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        BYTES.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("w.xlsx");
            write_workbook(&path);
            std::fs::read(path).unwrap()
        })
    }
}

/// The issue's report: a header under a title row was read as one column named after the title.
#[test]
fn csv_title_and_blank_rows_above_the_header_are_skipped() {
    let text = "Umsatzexport März 2024 (Zeitzone: Europe/Berlin);;;\n\
                ;;;\n\
                Ereignis;Benutzer-ID;Zeitpunkt;Umsatz\n\
                Kauf;K-1;05.03.2024 14:07;12,50\n\
                Kauf;K-2;06.03.2024 09:00;3,00\n";
    let (_dir, sniffed) = sniff_bytes("export.csv", text.as_bytes());
    let sniffed = sniffed.unwrap();
    assert_eq!(sniffed.delimiter, b';');
    assert_eq!(sniffed.skip_rows, 2);
    assert_eq!(sniffed.header_row, 3);
    assert_eq!(
        sniffed.columns,
        ["Ereignis", "Benutzer-ID", "Zeitpunkt", "Umsatz"]
    );
    let hint = sniffed.timezone_hint.clone().unwrap();
    assert_eq!(hint.zone, "Europe/Berlin");
    assert!(hint.text.contains("Zeitzone"), "{}", hint.text);
    assert!(
        sniffed.notes.iter().any(|n| n.contains("row 3")),
        "{:?}",
        sniffed.notes
    );
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].row, 4);
    assert_eq!(
        texts(&records[0]),
        ["Kauf", "K-1", "05.03.2024 14:07", "12,50"]
    );
    assert_eq!(records[0].ragged, None);
}

#[test]
fn header_row_can_be_chosen() {
    let text = "Report,,\nnote: generated,,\nevent,user,time\nBuy,u1,2024-03-05\n";
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "r.csv", text.as_bytes());
    // Sniffed: the title and the note are skipped.
    let sniffed = sniff(&path, &SourceOptions::default()).unwrap();
    assert_eq!(sniffed.skip_rows, 2);
    assert_eq!(sniffed.columns, ["event", "user", "time"]);
    // Forced to row 2: the note is the header.
    let options = SourceOptions {
        header_row: Some(2),
        ..Default::default()
    };
    let forced = sniff(&path, &options).unwrap();
    assert_eq!(forced.skip_rows, 1);
    assert_eq!(forced.columns, ["note: generated", "column_2", "column_3"]);
    let records = read_all(&forced).unwrap();
    assert_eq!(records[0].row, 3);
    assert_eq!(texts(&records[0]), ["event", "user", "time"]);
    // A file that starts with its header keeps it.
    let (_d, plain) = sniff_bytes("p.csv", b"event,user,time\nBuy,u1,2024-03-05\n");
    assert_eq!(plain.unwrap().skip_rows, 0);
}

#[test]
fn title_rows_name_time_zones() {
    for (title, zone) in [
        ("Zeitzone: Europe/Berlin", "Europe/Berlin"),
        ("All times (UTC)", "UTC"),
        ("times in CET", "Europe/Berlin"),
        ("Export — timezone America/New_York", "America/New_York"),
        ("Heure de Paris (europe/paris)", "Europe/Paris"),
    ] {
        assert_eq!(
            super::head::timezone_in_text(title).as_deref(),
            Some(zone),
            "{title}"
        );
    }
    for title in ["Sales report March", "ET cetera", "Order export 2024"] {
        assert_eq!(super::head::timezone_in_text(title), None, "{title}");
    }
}

#[test]
fn xlsx_title_row_above_the_header_is_skipped() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("titled.xlsx");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet
        .write_string(0, 0, "Event export, all times in UTC")
        .unwrap();
    for (column, name) in ["event", "user_id", "time"].iter().enumerate() {
        sheet.write_string(2, column as u16, *name).unwrap();
    }
    sheet.write_string(3, 0, "Buy").unwrap();
    sheet.write_string(3, 1, "u1").unwrap();
    sheet.write_string(3, 2, "2024-03-05 10:00").unwrap();
    workbook.save(&path).unwrap();
    let sniffed = sniff(&path, &SourceOptions::default()).unwrap();
    assert_eq!(sniffed.columns, ["event", "user_id", "time"]);
    assert_eq!(sniffed.skip_rows, 1);
    assert_eq!(
        sniffed.timezone_hint.as_ref().map(|h| h.zone.as_str()),
        Some("UTC")
    );
    let records = read_all(&sniffed).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].row, 4);
    assert_eq!(texts(&records[0]), ["Buy", "u1", "2024-03-05 10:00"]);
}

/// Vendor exports nest their properties: they are flattened the way Mixpanel receives them.
#[test]
fn vendor_containers_are_flattened() {
    let ndjson = concat!(
        r#"{"event_type":"Play","user_id":"u1","event_properties":{"song":"A","secs":30},"user_properties":{"plan":"pro"}}"#,
        "\n",
        r#"{"event_name":"page_view","event_params":[{"key":"page","value":{"string_value":"/home","int_value":null}},{"key":"n","value":{"string_value":null,"int_value":3}}],"geo":{"country":"Germany","city":"Berlin"}}"#,
        "\n",
        r#"{"event":"Signup","messageId":"m1","properties":{"plan":"free"},"context":{"ip":"10.0.0.1","location":{"country":"France"}}}"#,
        "\n",
    );
    let (_dir, sniffed) = sniff_bytes("vendor.ndjson", ndjson.as_bytes());
    let sniffed = sniffed.unwrap();
    for column in [
        "event_type",
        "song",
        "secs",
        "plan",
        "page",
        "n",
        "geo.country",
        "geo.city",
        "context.ip",
        "context.location.country",
    ] {
        assert!(
            sniffed.columns.iter().any(|c| c == column),
            "{column} in {:?}",
            sniffed.columns
        );
    }
    let records = read_all(&sniffed).unwrap();
    let cell = |record: &Record, name: &str| {
        let index = sniffed.columns.iter().position(|c| c == name).unwrap();
        record.cells[index].clone()
    };
    assert_eq!(cell(&records[0], "song"), Cell::Text("A".into()));
    assert_eq!(cell(&records[0], "secs"), Cell::Json(serde_json::json!(30)));
    assert_eq!(cell(&records[1], "page"), Cell::Text("/home".into()));
    assert_eq!(cell(&records[1], "n"), Cell::Json(serde_json::json!(3)));
    assert_eq!(
        cell(&records[1], "geo.country"),
        Cell::Text("Germany".into())
    );
    assert_eq!(
        cell(&records[2], "context.location.country"),
        Cell::Text("France".into())
    );
    assert_eq!(cell(&records[2], "plan"), Cell::Text("free".into()));
}
