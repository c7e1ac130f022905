//! A guard in front of the CSV parser: bounded memory on any row, and an unclosed quote that is
//! reported instead of silently swallowing the rest of the file.
//!
//! [`CsvGuard`] reads the decoded text and follows the CSV grammar just enough to find where each
//! record ends (fields, quotes, escaped quotes, line ends). It passes each record through whole,
//! except:
//!
//! - a record longer than [`MAX_RECORD_BYTES`] is not buffered past the cap: the rest of it is
//!   skipped, and a one-field marker record takes its place;
//! - a quote still open at the end of the file becomes a marker record that says on which line
//!   the quote opened and how many lines it swallowed.
//!
//! The record reader turns a marker into a row with an error (counted as read and rejected), and
//! reading goes on. The marker is a field that cannot occur in text (it starts with a NUL and a
//! private-use character).

use std::io::{self, Read};

use super::MAX_RECORD_BYTES;

/// The start of a marker record.
const MARKER: &str = "\0\u{F8FF}mixport:";

/// What a marker record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Marker {
    /// The record (starting on `line`) is larger than the cap: `bytes` is its size.
    TooLarge { line: u64, bytes: u64 },
    /// A quote opened on `line` is never closed: it runs to the end of the file over `lines`.
    UnclosedQuote { line: u64, lines: u64 },
}

impl Marker {
    fn encode(&self) -> String {
        match self {
            Marker::TooLarge { line, bytes } => format!("{MARKER}too-large:{line}:{bytes}\n"),
            Marker::UnclosedQuote { line, lines } => {
                format!("{MARKER}unclosed-quote:{line}:{lines}\n")
            }
        }
    }

    /// The marker a record's first field holds, if any.
    pub(crate) fn decode(field: &[u8]) -> Option<Marker> {
        let rest = field.strip_prefix(MARKER.as_bytes())?;
        let text = std::str::from_utf8(rest).ok()?;
        let mut parts = text.split(':');
        let kind = parts.next()?;
        let a: u64 = parts.next()?.parse().ok()?;
        let b: u64 = parts.next()?.parse().ok()?;
        match kind {
            "too-large" => Some(Marker::TooLarge { line: a, bytes: b }),
            "unclosed-quote" => Some(Marker::UnclosedQuote { line: a, lines: b }),
            _ => None,
        }
    }

    /// The row's error, in words.
    pub(crate) fn message(&self) -> String {
        match self {
            Marker::TooLarge { line, bytes } => format!(
                "this row (from line {line}) is {:.1} MB, more than the {} MB a row may have: it \
                 was skipped. A quote that is never closed, or a whole file on one line, does \
                 this; fix the row or split the file",
                *bytes as f64 / 1e6,
                MAX_RECORD_BYTES / (1024 * 1024)
            ),
            Marker::UnclosedQuote { line, lines } => format!(
                "a quote opened on line {line} is never closed: it swallows {lines} line(s) up to \
                 the end of the file. Close the quote (or double a quote that is part of the \
                 text) and check the file again"
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StartField,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of the quotes, or the first of a doubled quote.
    QuoteInQuoted,
}

/// See the module docs.
pub(crate) struct CsvGuard<R> {
    inner: R,
    delimiter: u8,
    state: State,
    /// The current record's bytes (at most the cap).
    record: Vec<u8>,
    /// The current record's size so far (also past the cap).
    record_bytes: u64,
    /// Line where the current record started (1-based).
    record_line: u64,
    /// Current line (1-based).
    line: u64,
    /// Line where the open quoted field started.
    quote_line: u64,
    /// Bytes ready to hand out, and how many were handed out.
    out: Vec<u8>,
    out_pos: usize,
    chunk: Vec<u8>,
    eof: bool,
}

impl<R: Read> CsvGuard<R> {
    pub(crate) fn new(inner: R, delimiter: u8) -> Self {
        Self {
            inner,
            delimiter,
            state: State::StartField,
            record: Vec::new(),
            record_bytes: 0,
            record_line: 1,
            line: 1,
            quote_line: 1,
            out: Vec::new(),
            out_pos: 0,
            chunk: vec![0; 64 * 1024],
            eof: false,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.record_bytes += bytes.len() as u64;
        let room = MAX_RECORD_BYTES.saturating_sub(self.record.len());
        self.record
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn end_record(&mut self) {
        if self.record_bytes > MAX_RECORD_BYTES as u64 {
            let marker = Marker::TooLarge {
                line: self.record_line,
                bytes: self.record_bytes,
            };
            self.out.extend_from_slice(marker.encode().as_bytes());
        } else {
            self.out.extend_from_slice(&self.record);
        }
        self.record.clear();
        self.record_bytes = 0;
        self.record_line = self.line;
    }

    /// Run the grammar over `bytes` (a chunk of the input). Runs of ordinary bytes are found
    /// with `memchr` and copied whole.
    fn feed(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            let special = match self.state {
                State::Quoted => memchr::memchr(b'"', rest),
                _ => memchr::memchr3(self.delimiter, b'"', b'\n', rest),
            };
            let run = special.unwrap_or(rest.len());
            if run > 0 {
                let plain = &rest[..run];
                match self.state {
                    State::Quoted => {
                        self.line += memchr::memchr_iter(b'\n', plain).count() as u64;
                    }
                    State::StartField | State::QuoteInQuoted => self.state = State::Unquoted,
                    State::Unquoted => {}
                }
                self.push(plain);
                i += run;
            }
            if special.is_none() {
                break;
            }
            let byte = bytes[i];
            i += 1;
            self.push(&[byte]);
            if byte == b'\n' {
                self.line += 1;
            }
            self.state = match (self.state, byte) {
                (State::Quoted, _) => State::QuoteInQuoted,
                (State::QuoteInQuoted, b'"') => State::Quoted,
                (State::StartField, b'"') => {
                    self.quote_line = self.line;
                    State::Quoted
                }
                (_, b'\n') => {
                    self.end_record();
                    State::StartField
                }
                (_, b) if b == self.delimiter => State::StartField,
                // A quote inside an unquoted field is text.
                (_, _) => State::Unquoted,
            };
        }
    }

    fn finish(&mut self) {
        if self.state == State::Quoted {
            // A file that ends with a line break has no line after it.
            let last_line = if self.record.last() == Some(&b'\n') {
                self.line - 1
            } else {
                self.line
            };
            let marker = Marker::UnclosedQuote {
                line: self.quote_line,
                lines: last_line.saturating_sub(self.quote_line) + 1,
            };
            self.record.clear();
            self.record_bytes = 0;
            self.out.extend_from_slice(marker.encode().as_bytes());
        } else if self.record_bytes > 0 {
            self.end_record();
        }
        self.state = State::StartField;
    }
}

impl<R: Read> Read for CsvGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            if self.eof {
                return Ok(0);
            }
            let mut chunk = std::mem::take(&mut self.chunk);
            let n = match self.inner.read(&mut chunk) {
                Ok(n) => n,
                Err(e) => {
                    self.chunk = chunk;
                    return Err(e);
                }
            };
            if n == 0 {
                self.eof = true;
                self.finish();
            } else {
                self.feed(&chunk[..n]);
            }
            self.chunk = chunk;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        CsvGuard::new(text, b',').read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn ordinary_csv_passes_through_unchanged() {
        for text in [
            &b"a,b\n1,2\n"[..],
            b"a,b\r\n\"x,\ny\",\"he said \"\"hi\"\"\"\r\n3,4",
            b"5\" screen,x\n\n\nlast",
            b"",
        ] {
            assert_eq!(guard(text), text, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn an_unclosed_quote_becomes_a_marker_naming_its_line() {
        let out = guard(b"a,b\n1,2\n\"open,3\n4,5\n6,7\n");
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(text.starts_with("a,b\n1,2\n"), "{text}");
        let marker = Marker::decode(text.lines().nth(2).unwrap().as_bytes()).unwrap();
        assert_eq!(marker, Marker::UnclosedQuote { line: 3, lines: 3 });
        assert!(marker.message().contains("line 3"));
    }

    #[test]
    fn a_huge_record_is_replaced_and_reading_goes_on() {
        let mut text = b"a,b\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
        text.extend_from_slice(b",y\n1,2\n");
        let out = guard(&text);
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        assert_eq!(lines[0], b"a,b");
        assert_eq!(
            Marker::decode(lines[1]),
            Some(Marker::TooLarge {
                line: 2,
                bytes: MAX_RECORD_BYTES as u64 + 13
            })
        );
        assert_eq!(lines[2], b"1,2");
    }
}
