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
    /// Outside quotes (a quote here opens a quoted field only at the start of a field).
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of the quotes, or the first of a doubled quote.
    QuoteInQuoted,
}

/// See the module docs.
///
/// Records are written straight into `out`; only the complete ones (`out[..record_start]`) are
/// handed out, so a record that turns out too large can still be taken back and replaced by its
/// marker. Each byte is copied once on the way through (chunk → `out`), and the scan stops only
/// at quotes and line ends.
pub(crate) struct CsvGuard<R> {
    inner: R,
    delimiter: u8,
    state: State,
    /// The byte before the scan position, outside quotes (`\n` at the start of a record).
    prev: u8,
    /// Where the current (incomplete) record starts in `out`; everything before it is complete.
    record_start: usize,
    /// The current record's size so far (also past the cap; `out` holds at most the cap).
    record_bytes: u64,
    /// Line where the current record started (1-based).
    record_line: u64,
    /// Current line (1-based).
    line: u64,
    /// Line where the open quoted field started.
    quote_line: u64,
    /// Complete records to hand out, then the current record; and how much was handed out.
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
            state: State::Unquoted,
            prev: b'\n',
            record_start: 0,
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

    /// Append bytes of the current record, holding at most the cap.
    fn push(&mut self, bytes: &[u8]) {
        self.record_bytes += bytes.len() as u64;
        let held = self.out.len() - self.record_start;
        let room = MAX_RECORD_BYTES.saturating_sub(held);
        self.out.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The current record is complete: hand it out, or its marker when it is too large.
    fn end_record(&mut self) {
        if self.record_bytes > MAX_RECORD_BYTES as u64 {
            let marker = Marker::TooLarge {
                line: self.record_line,
                bytes: self.record_bytes,
            };
            self.out.truncate(self.record_start);
            self.out.extend_from_slice(marker.encode().as_bytes());
        }
        self.record_start = self.out.len();
        self.record_bytes = 0;
        self.record_line = self.line;
    }

    /// Run the grammar over `bytes` (a chunk of the input). Quoted runs are found with `memchr`,
    /// unquoted ones with `memchr2` (a quote or a line end), and copied in spans.
    fn feed(&mut self, bytes: &[u8]) {
        // Start of the bytes not yet pushed.
        let mut span = 0;
        let mut i = 0;
        while i < bytes.len() {
            if self.state == State::QuoteInQuoted {
                if bytes[i] == b'"' {
                    // A doubled quote: text inside the quotes.
                    self.state = State::Quoted;
                    i += 1;
                    continue;
                }
                self.state = State::Unquoted;
                self.prev = b'"';
            }
            let rest = &bytes[i..];
            if self.state == State::Quoted {
                let run = memchr::memchr(b'"', rest).unwrap_or(rest.len());
                self.line += memchr::memchr_iter(b'\n', &rest[..run]).count() as u64;
                i += run;
                if run < rest.len() {
                    i += 1;
                    self.state = State::QuoteInQuoted;
                }
                continue;
            }
            let Some(run) = memchr::memchr2(b'"', b'\n', rest) else {
                self.prev = rest[rest.len() - 1];
                break;
            };
            let before = if run > 0 { rest[run - 1] } else { self.prev };
            i += run + 1;
            if rest[run] == b'\n' {
                self.line += 1;
                self.push(&bytes[span..i]);
                span = i;
                self.end_record();
                self.prev = b'\n';
            } else {
                // A quote opens a quoted field at the start of a field; elsewhere it is text.
                if before == self.delimiter || before == b'\n' {
                    self.quote_line = self.line;
                    self.state = State::Quoted;
                }
                self.prev = b'"';
            }
        }
        self.push(&bytes[span..]);
    }

    fn finish(&mut self) {
        if self.state == State::Quoted {
            // A file that ends with a line break has no line after it.
            let ends_with_line_break =
                self.out.len() > self.record_start && self.out.last() == Some(&b'\n');
            let last_line = if ends_with_line_break {
                self.line - 1
            } else {
                self.line
            };
            let marker = Marker::UnclosedQuote {
                line: self.quote_line,
                lines: last_line.saturating_sub(self.quote_line) + 1,
            };
            self.out.truncate(self.record_start);
            self.out.extend_from_slice(marker.encode().as_bytes());
            self.record_start = self.out.len();
            self.record_bytes = 0;
        } else if self.record_bytes > 0 {
            self.end_record();
        }
        self.state = State::Unquoted;
    }
}

impl<R: Read> Read for CsvGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.record_start {
            // Everything complete was handed out: keep only the current record.
            if self.out_pos > 0 {
                self.out.drain(..self.out_pos);
                self.record_start = 0;
                self.out_pos = 0;
            }
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
        let n = buf.len().min(self.record_start - self.out_pos);
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

    /// Reads of any size (here one byte at a time) give the same output as one big read.
    #[test]
    fn records_split_across_reads_pass_through_the_same() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = first;
                self.0 = rest;
                Ok(1)
            }
        }
        for text in [
            &b"a,b\n1,2\n"[..],
            b"a,b\r\n\"x,\ny\",\"he said \"\"hi\"\"\"\r\n3,4",
            b"5\" screen,x\n\n\nlast",
            b"\"q\"\"\",\"\"\n\"\",x\"y\n",
            b"a,b\n1,2\n\"open,3\n4,5\n",
        ] {
            let mut slow = Vec::new();
            CsvGuard::new(OneByte(text), b',')
                .read_to_end(&mut slow)
                .unwrap();
            assert_eq!(slow, guard(text), "{}", String::from_utf8_lossy(text));
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
