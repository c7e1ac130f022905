//! Opening the file on disk: path checks, byte counting for progress, gzip detection and the
//! mapping of I/O failures to [`SourceError`]s that name the file and the row.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use super::{Compression, SourceError};

/// The gzip magic bytes.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The zip local-file-header magic (`PK\x03\x04`), which starts every `.xlsx`.
pub(crate) const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";

/// Shared state between a counting reader deep in the stack and the record reader on top.
#[derive(Debug, Clone, Default)]
pub(crate) struct InputProgress {
    /// Bytes of the file on disk consumed so far (for Excel: the furthest position read).
    bytes: Arc<AtomicU64>,
    /// Set when reading the file itself failed (as opposed to decompressing what was read).
    file_failed: Arc<AtomicBool>,
}

impl InputProgress {
    /// Bytes of the file on disk consumed so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// Wraps the `File` and counts the bytes read from disk.
pub(crate) struct CountingReader<R> {
    inner: R,
    progress: InputProgress,
    position: u64,
}

impl<R> CountingReader<R> {
    pub(crate) fn new(inner: R, progress: InputProgress) -> Self {
        CountingReader {
            inner,
            progress,
            position: 0,
        }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.position += n as u64;
                self.progress
                    .bytes
                    .fetch_max(self.position, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.progress.file_failed.store(true, Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }
}

impl<R: Seek> Seek for CountingReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let position = self.inner.seek(pos)?;
        self.position = position;
        Ok(position)
    }
}

/// What the error mapping needs to know about an open input.
#[derive(Debug, Clone)]
pub(crate) struct InputContext {
    /// The file, for messages.
    pub(crate) path: PathBuf,
    /// Whether the bytes pass through a gzip decoder.
    pub(crate) gzip: bool,
    /// Shared with the counting reader.
    pub(crate) progress: InputProgress,
}

impl InputContext {
    /// Turn an I/O error met after `row` (the last row read, 0 if none) into a [`SourceError`]:
    /// a failure of the gzip decoder becomes [`SourceError::BadGzip`], a failure of the disk
    /// stays [`SourceError::Io`].
    pub(crate) fn io_error(&self, error: io::Error, row: u64) -> SourceError {
        if self.gzip && !self.progress.file_failed.load(Ordering::Relaxed) {
            SourceError::BadGzip {
                path: self.path.clone(),
                row,
            }
        } else {
            SourceError::Io {
                path: self.path.clone(),
                source: error,
            }
        }
    }
}

/// Check that `path` is a readable regular file and return its size.
pub(crate) fn check_path(path: &Path) -> Result<u64, SourceError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(SourceError::IsDirectory {
            path: path.to_path_buf(),
        }),
        Ok(meta) if !meta.is_file() => Err(SourceError::NotRegularFile {
            path: path.to_path_buf(),
            what: special_file_kind(&meta),
        }),
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(SourceError::NotFound {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(SourceError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// What a path that is neither a file nor a folder is, in words.
fn special_file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    let _ = meta;
    "not a file"
}

/// Open the file itself.
pub(crate) fn open_file(path: &Path) -> Result<File, SourceError> {
    File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => SourceError::NotFound {
            path: path.to_path_buf(),
        },
        _ if path.is_dir() => SourceError::IsDirectory {
            path: path.to_path_buf(),
        },
        _ => SourceError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })
}

/// Read the first bytes of the raw file (before any decompression), up to `n`.
pub(crate) fn read_magic(path: &Path, n: usize) -> Result<Vec<u8>, SourceError> {
    let file = open_file(path)?;
    let mut magic = Vec::with_capacity(n);
    file.take(n as u64)
        .read_to_end(&mut magic)
        .map_err(|e| SourceError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    Ok(magic)
}

/// Open `path` as a byte stream, decompressed when `compression` says gzip, counting the bytes
/// read from disk.
pub(crate) fn open_stream(
    path: &Path,
    compression: Compression,
) -> Result<(Box<dyn Read + Send>, InputContext), SourceError> {
    let file = open_file(path)?;
    let progress = InputProgress::default();
    let counting = CountingReader::new(file, progress.clone());
    let context = InputContext {
        path: path.to_path_buf(),
        gzip: compression == Compression::Gzip,
        progress,
    };
    let stream: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(counting),
        Compression::Gzip => Box::new(MultiGzDecoder::new(io::BufReader::with_capacity(
            64 * 1024,
            counting,
        ))),
    };
    Ok((stream, context))
}

/// Read up to `limit` bytes from `stream`. Returns the bytes and whether the stream ended.
pub(crate) fn read_head(
    stream: &mut dyn Read,
    limit: usize,
    context: &InputContext,
) -> Result<(Vec<u8>, bool), SourceError> {
    let mut head = vec![0u8; limit];
    let mut filled = 0;
    let mut at_eof = false;
    while filled < limit {
        match stream.read(&mut head[filled..]) {
            Ok(0) => {
                at_eof = true;
                break;
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(context.io_error(e, 0)),
        }
    }
    head.truncate(filled);
    Ok((head, at_eof))
}
