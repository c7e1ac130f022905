//! Streaming JSON arrays and NDJSON into [`Record`]s.
//!
//! A JSON array is never parsed whole: a small byte-level splitter finds each element's bytes
//! (tracking nesting depth and strings), and each element is parsed on its own with
//! `serde_json::from_slice`. A malformed element or line yields a [`Record`] with `error` set, and
//! reading goes on; only a structure broken beyond recovery (an unclosed array or element) stops
//! the file with [`SourceError::Syntax`].

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use serde_json::{Map, Value};

use super::head::{HEAD_BYTES, empty};
use super::input::{InputContext, InputProgress};
use super::{Cell, Format, MAX_RECORD_BYTES, Record, RecordReader, Sniff, SourceError};

/// How many records of the head are looked at for the column names.
pub(crate) const HEAD_RECORDS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Before the opening `[`.
    Start,
    /// Between elements.
    Inside,
    /// After the closing `]`.
    Done,
}

/// Streams the records of a JSON array or an NDJSON file.
pub(crate) struct JsonRecordReader {
    input: BufReader<Box<dyn Read + Send>>,
    lines: bool,
    state: ArrayState,
    /// The bytes of the current element or line.
    buffer: Vec<u8>,
    /// Bytes of the decoded stream consumed so far.
    offset: u64,
    /// Elements (array) or lines (NDJSON) seen so far.
    index: u64,
    columns: HashMap<String, usize>,
    column_count: usize,
    context: InputContext,
    /// Set when the element just scanned was larger than [`MAX_RECORD_BYTES`]: its size.
    too_large: Option<u64>,
    /// How many records were Mixpanel-shaped (`{"event", "properties"}`) and flattened.
    pub(crate) flattened: u64,
}

impl JsonRecordReader {
    /// Read `text` (UTF-8) as a JSON array (`format` Json) or NDJSON, with the given columns.
    pub(crate) fn new(
        text: Box<dyn Read + Send>,
        format: Format,
        columns: &[String],
        context: InputContext,
    ) -> Self {
        JsonRecordReader {
            input: BufReader::with_capacity(256 * 1024, text),
            lines: format == Format::Ndjson,
            state: ArrayState::Start,
            buffer: Vec::new(),
            offset: 0,
            index: 0,
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, name)| (name.clone(), i))
                .collect(),
            column_count: columns.len(),
            context,
            flattened: 0,
            too_large: None,
        }
    }

    fn syntax(&self, row: u64, message: String) -> SourceError {
        SourceError::Syntax {
            path: self.context.path.clone(),
            row,
            byte_offset: self.offset,
            message,
        }
    }

    fn io(&self, error: io::Error) -> SourceError {
        self.context.io_error(error, self.index)
    }

    /// Peek at the next non-whitespace byte, consuming the whitespace before it.
    fn peek_non_space(&mut self) -> Result<Option<u8>, SourceError> {
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            };
            if chunk.is_empty() {
                return Ok(None);
            }
            match chunk.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let byte = chunk[i];
                    self.input.consume(i);
                    self.offset += i as u64;
                    return Ok(Some(byte));
                }
                None => {
                    let n = chunk.len();
                    self.input.consume(n);
                    self.offset += n as u64;
                }
            }
        }
    }

    fn consume_one(&mut self) {
        self.input.consume(1);
        self.offset += 1;
    }

    /// Find the next array element and copy its bytes into `buffer`. Returns its start offset.
    fn next_element(&mut self) -> Result<Option<u64>, SourceError> {
        loop {
            match self.state {
                ArrayState::Done => return Ok(None),
                ArrayState::Start => match self.peek_non_space()? {
                    None => return Ok(None),
                    Some(b'[') => {
                        self.consume_one();
                        self.state = ArrayState::Inside;
                    }
                    Some(other) => {
                        return Err(self.syntax(
                            1,
                            format!(
                                "a JSON array must start with '[', found '{}'. Choose NDJSON or CSV \
                                 if the file is not one JSON array.",
                                char::from(other)
                            ),
                        ));
                    }
                },
                ArrayState::Inside => match self.peek_non_space()? {
                    None => {
                        return Err(self.syntax(
                            self.index,
                            "the JSON array is not closed: ']' is missing at the end of the file. \
                             The file may be cut short: export it again."
                                .to_string(),
                        ));
                    }
                    Some(b']') => {
                        self.consume_one();
                        self.state = ArrayState::Done;
                        return Ok(None);
                    }
                    Some(b',') => self.consume_one(),
                    Some(b'}') => {
                        return Err(self.syntax(
                            self.index + 1,
                            "unexpected '}' between array elements: the brackets do not match"
                                .to_string(),
                        ));
                    }
                    Some(_) => return self.scan_element().map(Some),
                },
            }
        }
    }

    /// Copy one element's bytes into `buffer`: up to its matching closing bracket, or for a bare
    /// value up to the next `,` or `]` outside strings. An element larger than
    /// [`MAX_RECORD_BYTES`] is scanned to its end without being kept (`too_large` is then set).
    fn scan_element(&mut self) -> Result<u64, SourceError> {
        self.too_large = None;
        let start = self.offset;
        self.index += 1;
        self.buffer.clear();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.context.io_error(e, self.index - 1)),
            };
            if chunk.is_empty() {
                return Err(SourceError::Syntax {
                    path: self.context.path.clone(),
                    row: self.index,
                    byte_offset: start,
                    message: "the file ends inside this element: a closing '}', ']' or '\"' is \
                              missing. The file may be cut short: export it again."
                        .to_string(),
                });
            }
            let mut end = None;
            for (i, &byte) in chunk.iter().enumerate() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if byte == b'\\' {
                        escaped = true;
                    } else if byte == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match byte {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    b',' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(chunk.len());
            match &mut self.too_large {
                Some(bytes) => *bytes += take as u64,
                None if self.buffer.len() + take > MAX_RECORD_BYTES => {
                    self.too_large = Some((self.buffer.len() + take) as u64);
                    self.buffer = Vec::new();
                }
                None => self.buffer.extend_from_slice(&chunk[..take]),
            }
            self.input.consume(take);
            self.offset += take as u64;
            if end.is_some() {
                return Ok(start);
            }
        }
    }

    /// Copy the next non-blank line into `buffer`. Returns its start offset and whether it was
    /// too long (then `buffer` holds only its beginning).
    fn next_line(&mut self) -> Result<Option<(u64, bool)>, SourceError> {
        loop {
            let start = self.offset;
            self.buffer.clear();
            let mut read_any = false;
            let mut too_long = false;
            loop {
                let chunk = match self.input.fill_buf() {
                    Ok(chunk) => chunk,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(self.context.io_error(e, self.index)),
                };
                if chunk.is_empty() {
                    break;
                }
                read_any = true;
                let (take, consumed, done) = match memchr::memchr(b'\n', chunk) {
                    Some(i) => (i, i + 1, true),
                    None => (chunk.len(), chunk.len(), false),
                };
                let room = MAX_RECORD_BYTES.saturating_sub(self.buffer.len());
                too_long |= take > room;
                self.buffer.extend_from_slice(&chunk[..take.min(room)]);
                self.input.consume(consumed);
                self.offset += consumed as u64;
                if done {
                    break;
                }
            }
            if !read_any {
                return Ok(None);
            }
            self.index += 1;
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((start, too_long)));
        }
    }

    /// Parse `buffer` and spread the object over the record's cells.
    fn fill_record(&mut self, record: &mut Record) {
        record.row = self.index;
        record.extra.clear();
        record.ragged = None;
        record.error = None;
        record.cells.clear();
        record.cells.resize(self.column_count, Cell::Missing);
        let what = if self.lines { "line" } else { "element" };
        let parsed = match std::str::from_utf8(&self.buffer) {
            Ok(_) => serde_json::from_slice::<Value>(&self.buffer).map(|value| (value, false)),
            Err(_) => serde_json::from_str::<Value>(&String::from_utf8_lossy(&self.buffer))
                .map(|value| (value, true)),
        };
        match parsed {
            Ok((Value::Object(object), lossy)) => self.place_object(object, lossy, record),
            Ok((other, _)) => {
                record.error = Some(format!(
                    "this {what} is a JSON {} where an object like {{\"event\": …}} was expected",
                    json_kind(&other)
                ));
            }
            Err(e) => {
                record.error = Some(format!(
                    "this {what} is not valid JSON ({e}): fix or remove it, the other {what}s are \
                     read"
                ));
            }
        }
    }

    fn place_object(&mut self, object: Map<String, Value>, lossy: bool, record: &mut Record) {
        let mixpanel_shaped =
            object.contains_key("event") && object.get("properties").is_some_and(Value::is_object);
        if mixpanel_shaped {
            self.flattened += 1;
        }
        for (key, value) in object {
            if mixpanel_shaped && key == "properties" {
                if let Value::Object(properties) = value {
                    for (key, value) in properties {
                        self.place(key, value, lossy, record);
                    }
                }
            } else if SPREAD_CONTAINERS.contains(&key.as_str()) && is_container(&value) {
                self.flattened += 1;
                self.spread(value, lossy, record);
            } else if DOTTED_CONTAINERS.contains(&key.as_str()) && value.is_object() {
                self.flattened += 1;
                self.place_dotted(key, value, lossy, record, 1);
            } else {
                self.place(key, value, lossy, record);
            }
        }
    }

    /// Spread a properties container into top-level keys: an object's keys as they are, or a
    /// GA4-style list of `{"key": k, "value": {"string_value": …}}` as `k: value`.
    fn spread(&self, value: Value, lossy: bool, record: &mut Record) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    self.place(key, value, lossy, record);
                }
            }
            Value::Array(items) => {
                for item in items {
                    if let Some((key, value)) = key_value_param(item) {
                        self.place(key, value, lossy, record);
                    }
                }
            }
            _ => {}
        }
    }

    /// Flatten a nested object to dotted keys (`context.location.country`), as a column each.
    fn place_dotted(
        &self,
        prefix: String,
        value: Value,
        lossy: bool,
        record: &mut Record,
        depth: usize,
    ) {
        match value {
            Value::Object(map) if depth <= 4 => {
                for (key, value) in map {
                    self.place_dotted(format!("{prefix}.{key}"), value, lossy, record, depth + 1);
                }
            }
            other => self.place(prefix, other, lossy, record),
        }
    }

    fn place(&self, key: String, value: Value, lossy: bool, record: &mut Record) {
        let cell = match value {
            Value::String(text) if lossy && text.contains('\u{FFFD}') => Cell::InvalidUtf8(text),
            Value::String(text) => Cell::Text(text),
            other => Cell::Json(other),
        };
        match self.columns.get(&key) {
            Some(&index) if record.cells[index] == Cell::Missing => record.cells[index] = cell,
            _ => record.extra.push((key, cell)),
        }
    }
}

/// Keys of vendor exports whose content is the event's properties: spread into top-level keys
/// (Amplitude's `event_properties` and `user_properties`, GA4's `event_params` and
/// `user_properties` lists).
const SPREAD_CONTAINERS: &[&str] = &["event_properties", "user_properties", "event_params"];

/// Keys of vendor exports whose nested objects are flattened to dotted keys (Segment's
/// `context.ip`, `context.location.country`; GA4's `geo.country`, `device.category`).
const DOTTED_CONTAINERS: &[&str] = &["context", "geo", "device", "traffic_source", "app_info"];

fn is_container(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::Array(items) => items
            .iter()
            .all(|item| key_value_param(item.clone()).is_some()),
        _ => false,
    }
}

/// A GA4 parameter `{"key": "page", "value": {"string_value": "/home", "int_value": null, …}}`
/// as `("page", "/home")`: the first value that is not null.
fn key_value_param(item: Value) -> Option<(String, Value)> {
    let Value::Object(mut map) = item else {
        return None;
    };
    let Some(Value::String(key)) = map.remove("key") else {
        return None;
    };
    let value = match map.remove("value")? {
        Value::Object(typed) => typed
            .into_iter()
            .map(|(_, v)| v)
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null),
        other => other,
    };
    Some((key, value))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl JsonRecordReader {
    /// Make `record` an unreadable row with `error` (the cells all missing).
    fn unreadable(&self, record: &mut Record, error: String) {
        record.row = self.index;
        record.cells.clear();
        record.cells.resize(self.column_count, Cell::Missing);
        record.extra.clear();
        record.ragged = None;
        record.error = Some(error);
    }
}

impl RecordReader for JsonRecordReader {
    fn read_into(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        if self.lines {
            let Some((start, too_long)) = self.next_line()? else {
                return Ok(false);
            };
            record.byte_offset = start;
            if too_long {
                let error = format!(
                    "this line is longer than {} MB: split it into one event per line",
                    MAX_RECORD_BYTES / (1024 * 1024)
                );
                self.unreadable(record, error);
                return Ok(true);
            }
        } else {
            let Some(start) = self.next_element()? else {
                return Ok(false);
            };
            record.byte_offset = start;
            if let Some(bytes) = self.too_large.take() {
                let error = format!(
                    "this element is {:.1} MB, more than the {} MB a row may have: it was skipped",
                    bytes as f64 / 1e6,
                    MAX_RECORD_BYTES / (1024 * 1024)
                );
                self.unreadable(record, error);
                return Ok(true);
            }
        }
        self.fill_record(record);
        Ok(true)
    }

    fn bytes_read(&self) -> u64 {
        self.context.progress.bytes_read()
    }
}

/// Fill in the columns of a JSON sniff from the head: the keys of the first
/// [`HEAD_RECORDS`] records, in first-seen order.
pub(crate) fn sniff_json(sniff: &mut Sniff, text: String, at_eof: bool) -> Result<(), SourceError> {
    let context = InputContext {
        path: sniff.path.clone(),
        gzip: false,
        progress: InputProgress::default(),
    };
    let mut reader = JsonRecordReader::new(
        Box::new(Cursor::new(text.into_bytes())),
        sniff.format,
        &[],
        context,
    );
    let mut record = Record::default();
    let mut seen = std::collections::HashSet::new();
    let mut records = 0usize;
    while records < HEAD_RECORDS {
        match reader.read_into(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            // The head may end inside an element: that is not an error of the file.
            // Elements before a broken structure are still read; streaming reports the error.
            Err(_) if !at_eof || records > 0 => break,
            Err(e) => return Err(e),
        }
        // A record cut by the end of the head is not counted.
        if !at_eof && sniff.format == Format::Ndjson && record.error.is_some() {
            continue;
        }
        records += 1;
        for (key, _) in &record.extra {
            if seen.insert(key.clone()) {
                sniff.columns.push(key.clone());
            }
        }
    }
    if records == 0 && at_eof {
        let what = if sniff.format == Format::Json {
            "the JSON array has no elements"
        } else {
            "the file has no JSON lines"
        };
        return Err(empty(&sniff.path, what));
    }
    if records == 0 {
        sniff.notes.push(format!(
            "the first record is larger than {} KB: no columns could be found in the head",
            HEAD_BYTES / 1024
        ));
    }
    if reader.flattened > 0 {
        sniff.notes.push(
            "records hold nested properties ({\"event\": …, \"properties\": {…}}, \
             event_properties, event_params, context, geo): their keys are read as columns, as \
             Mixpanel receives them"
                .to_string(),
        );
    }
    Ok(())
}
