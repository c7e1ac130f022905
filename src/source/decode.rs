//! Text encodings: detecting the encoding of a file's head, decoding the head for sniffing, and
//! wrapping a byte stream so that it yields UTF-8 while streaming.

use std::io::{self, Read};

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::TextEncoding;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16BE_BOM: &[u8] = b"\xFE\xFF";

/// The encoding announced by a byte-order mark at the start of `head`, if any.
pub(crate) fn encoding_from_bom(head: &[u8]) -> Option<TextEncoding> {
    if head.starts_with(UTF8_BOM) {
        Some(TextEncoding::Utf8Bom)
    } else if head.starts_with(UTF16LE_BOM) {
        Some(TextEncoding::Utf16Le)
    } else if head.starts_with(UTF16BE_BOM) {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

/// The length of the BOM of `encoding` if `head` starts with it, else 0.
pub(crate) fn bom_len(head: &[u8], encoding: TextEncoding) -> usize {
    let bom = match encoding {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => UTF8_BOM,
        TextEncoding::Utf16Le => UTF16LE_BOM,
        TextEncoding::Utf16Be => UTF16BE_BOM,
        TextEncoding::Windows1252 => return 0,
    };
    if head.starts_with(bom) { bom.len() } else { 0 }
}

/// How well a BOM-less head fits UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Utf8Fit {
    /// Valid multi-byte sequences (non-ASCII characters).
    pub(crate) multibyte_chars: usize,
    /// Invalid byte sequences (a sequence cut by the end of a head that does not reach the end of
    /// the file does not count).
    pub(crate) invalid_sequences: usize,
}

/// Count valid multi-byte characters and invalid sequences in `bytes`.
pub(crate) fn utf8_fit(bytes: &[u8], at_eof: bool) -> Utf8Fit {
    let mut fit = Utf8Fit::default();
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                fit.multibyte_chars += count_multibyte(valid);
                return fit;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                // ok: `valid_up_to` guarantees this prefix is valid UTF-8.
                fit.multibyte_chars += count_multibyte(std::str::from_utf8(valid).unwrap_or(""));
                match e.error_len() {
                    Some(len) => {
                        fit.invalid_sequences += 1;
                        rest = &after[len..];
                    }
                    None => {
                        // The bytes end in the middle of a sequence: only an error at the true end.
                        if at_eof {
                            fit.invalid_sequences += 1;
                        }
                        return fit;
                    }
                }
            }
        }
    }
}

fn count_multibyte(text: &str) -> usize {
    if text.is_ascii() {
        0
    } else {
        text.chars().filter(|c| !c.is_ascii()).count()
    }
}

/// The result of choosing an encoding for a BOM-less head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodingGuess {
    /// The encoding chosen.
    pub(crate) encoding: TextEncoding,
    /// A remark for [`super::Sniff::notes`], when there is something to say.
    pub(crate) note: Option<String>,
}

/// Choose between UTF-8 and Windows-1252 for a head without a BOM.
///
/// A head that is valid UTF-8 is UTF-8. A head with invalid sequences is Windows-1252, unless it
/// also has more valid multi-byte UTF-8 characters than invalid sequences: then it is a UTF-8 file
/// with a few bad cells (those cells are flagged while reading).
pub(crate) fn guess_text_encoding(head: &[u8], at_eof: bool) -> EncodingGuess {
    let fit = utf8_fit(head, at_eof);
    if fit.invalid_sequences == 0 {
        EncodingGuess {
            encoding: TextEncoding::Utf8,
            note: None,
        }
    } else if fit.multibyte_chars > fit.invalid_sequences {
        EncodingGuess {
            encoding: TextEncoding::Utf8,
            note: Some(format!(
                "read as UTF-8, but {} byte sequence(s) near the start are not valid UTF-8: those \
                 cells are marked invalid. Choose Windows-1252 if accented letters look wrong.",
                fit.invalid_sequences
            )),
        }
    } else {
        EncodingGuess {
            encoding: TextEncoding::Windows1252,
            note: Some(
                "not valid UTF-8: read as Windows-1252 (Western European). Choose another \
                 encoding if accented letters look wrong."
                    .to_string(),
            ),
        }
    }
}

/// The `encoding_rs` encoding for the encodings that are decoded while streaming.
fn transcoding(encoding: TextEncoding) -> Option<&'static Encoding> {
    match encoding {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => None,
        TextEncoding::Utf16Le => Some(UTF_16LE),
        TextEncoding::Utf16Be => Some(UTF_16BE),
        TextEncoding::Windows1252 => Some(WINDOWS_1252),
    }
}

/// Decode a head (after its BOM) to text for sniffing. UTF-8 is decoded lossily (invalid bytes
/// become U+FFFD). A character cut by the end of a head that is not the end of the file is
/// dropped.
pub(crate) fn decode_head(bytes: &[u8], encoding: TextEncoding, at_eof: bool) -> String {
    let mut bytes = bytes;
    match encoding {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => {
            if !at_eof
                && let Err(e) = std::str::from_utf8(bytes)
                && e.error_len().is_none()
            {
                bytes = &bytes[..e.valid_up_to()];
            }
            String::from_utf8_lossy(bytes).into_owned()
        }
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            if !at_eof {
                bytes = &bytes[..bytes.len() & !1];
                // Drop a high surrogate whose pair lies beyond the head.
                if let [.., a, b] = bytes {
                    let unit = if encoding == TextEncoding::Utf16Le {
                        u16::from_le_bytes([*a, *b])
                    } else {
                        u16::from_be_bytes([*a, *b])
                    };
                    if (0xD800..0xDC00).contains(&unit) {
                        bytes = &bytes[..bytes.len() - 2];
                    }
                }
            }
            let enc = transcoding(encoding).unwrap_or(UTF_16LE);
            enc.decode_without_bom_handling(bytes).0.into_owned()
        }
        TextEncoding::Windows1252 => WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Wrap a raw byte stream so that it yields UTF-8: skips the BOM of `encoding` if present, and
/// transcodes UTF-16 and Windows-1252. UTF-8 bytes pass through untouched (invalid bytes are
/// dealt with per cell by the readers).
pub(crate) fn text_stream(
    mut raw: Box<dyn Read + Send>,
    encoding: TextEncoding,
) -> io::Result<Box<dyn Read + Send>> {
    // Read just enough to see the BOM, then put those bytes back in front of the stream.
    let mut start = Vec::with_capacity(3);
    (&mut raw).take(3).read_to_end(&mut start)?;
    let skip = bom_len(&start, encoding);
    let rest = io::Cursor::new(start[skip..].to_vec()).chain(raw);
    Ok(match transcoding(encoding) {
        None => Box::new(rest),
        Some(enc) => Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .bom_sniffing(false)
                .build(rest),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_detection() {
        assert_eq!(
            encoding_from_bom(b"\xEF\xBB\xBFa"),
            Some(TextEncoding::Utf8Bom)
        );
        assert_eq!(
            encoding_from_bom(b"\xFF\xFEa\0"),
            Some(TextEncoding::Utf16Le)
        );
        assert_eq!(
            encoding_from_bom(b"\xFE\xFF\0a"),
            Some(TextEncoding::Utf16Be)
        );
        assert_eq!(encoding_from_bom(b"abc"), None);
    }

    #[test]
    fn utf8_cut_at_head_end_is_not_invalid() {
        // "é" is C3 A9: a head cut after C3 is fine unless the file really ends there.
        assert_eq!(utf8_fit(b"caf\xC3", false).invalid_sequences, 0);
        assert_eq!(utf8_fit(b"caf\xC3", true).invalid_sequences, 1);
        assert_eq!(
            guess_text_encoding(b"name\ncaf\xC3", false).encoding,
            TextEncoding::Utf8
        );
        assert_eq!(decode_head(b"caf\xC3", TextEncoding::Utf8, false), "caf");
    }

    #[test]
    fn windows_1252_is_chosen_for_latin1_bytes() {
        let guess = guess_text_encoding(b"name\ncaf\xE9\nna\xEFve\n", true);
        assert_eq!(guess.encoding, TextEncoding::Windows1252);
        assert!(guess.note.unwrap().contains("Windows-1252"));
        assert_eq!(
            decode_head(b"caf\xE9", TextEncoding::Windows1252, true),
            "café"
        );
    }

    #[test]
    fn mostly_utf8_with_one_bad_byte_stays_utf8() {
        let mut bytes = "a\ncafé\nnaïve\nüber\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"bad\xFF\n");
        let guess = guess_text_encoding(&bytes, true);
        assert_eq!(guess.encoding, TextEncoding::Utf8);
        assert!(guess.note.unwrap().contains("not valid UTF-8"));
    }

    #[test]
    fn utf16_head_drops_half_characters() {
        let mut bytes: Vec<u8> = "ab".encode_utf16().flat_map(u16::to_le_bytes).collect();
        bytes.push(b'c');
        assert_eq!(decode_head(&bytes, TextEncoding::Utf16Le, false), "ab");
        let emoji: Vec<u8> = "a😀".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode_head(&emoji[..4], TextEncoding::Utf16Be, false), "a");
        assert_eq!(decode_head(&emoji, TextEncoding::Utf16Be, true), "a😀");
    }

    #[test]
    fn streams_decode_and_skip_boms() {
        let read = |bytes: Vec<u8>, enc| {
            let mut out = String::new();
            text_stream(Box::new(io::Cursor::new(bytes)), enc)
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            out
        };
        let mut le = vec![0xFF, 0xFE];
        le.extend("hé,x".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(read(le, TextEncoding::Utf16Le), "hé,x");
        let mut be = vec![0xFE, 0xFF];
        be.extend("hé".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(read(be, TextEncoding::Utf16Be), "hé");
        assert_eq!(
            read(b"\xEF\xBB\xBFab".to_vec(), TextEncoding::Utf8Bom),
            "ab"
        );
        assert_eq!(read(b"ab".to_vec(), TextEncoding::Utf8), "ab");
        assert_eq!(read(b"caf\xE9".to_vec(), TextEncoding::Windows1252), "café");
    }
}
