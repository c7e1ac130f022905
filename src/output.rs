//! Output files: the rule that no output may overwrite a file of the run, and writing through a
//! temporary file so that a failure never leaves a torn file behind.
//!
//! - [`check_output_paths`] is called before anything is read or sent. It refuses an output path
//!   that is the input file, the mapping, or any other file of the run (the same file by device
//!   and inode after following links, so a hard link or a symlink to the input is caught too), and
//!   two outputs that would land in the same file.
//! - [`AtomicFile`] writes into a temporary file in the target's folder and renames it over the
//!   target only when [`AtomicFile::commit`] is called: until then the old file (if any) is
//!   untouched, and a failed or abandoned write removes the temporary file. Targets that are not
//!   regular files (`/dev/stdout`, a FIFO) are written directly.
//!
//! Every user-chosen output (rejected rows, run reports, mapping templates, the app's exports)
//! goes through both.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file taking part in a run, with the words a shell uses for it (e.g. `--failed-out` on the
/// command line, "the export" in the app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFile {
    /// What the file is, for messages.
    pub role: String,
    /// The path as given.
    pub path: PathBuf,
}

impl RunFile {
    /// A file of the run with its role.
    pub fn new(role: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            role: role.into(),
            path: path.into(),
        }
    }
}

/// Why an output path is refused.
#[derive(Debug, thiserror::Error)]
pub enum OutputPathError {
    /// The output is (after links) the same file as an input or another output.
    #[error(
        "{output_role} {output} is the same file as {other_role} {other}: writing there would overwrite it. Choose another path for {output_role}."
    )]
    SameFile {
        /// The refused output's role.
        output_role: String,
        /// The refused output.
        output: PathBuf,
        /// The role of the file it collides with.
        other_role: String,
        /// The file it collides with.
        other: PathBuf,
    },
    /// The output is a folder.
    #[error("{role} {path} is a folder: give a file name inside it")]
    IsDirectory {
        /// The output's role.
        role: String,
        /// The folder.
        path: PathBuf,
    },
    /// The output's identity could not be established (e.g. a folder of the path is missing).
    #[error("{role} {path}: {source}")]
    Io {
        /// The output's role.
        role: String,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The identity of a path: the file it leads to (device and inode) when it exists, else the
/// canonical path it would be created at.
#[derive(Debug)]
enum Identity {
    /// Device and inode, read from the metadata (never by opening the file: a FIFO would block).
    #[cfg(unix)]
    Existing(u64, u64),
    #[cfg(not(unix))]
    Existing(same_file::Handle),
    New(PathBuf),
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            #[cfg(unix)]
            (Identity::Existing(a, b), Identity::Existing(c, d)) => a == c && b == d,
            #[cfg(not(unix))]
            (Identity::Existing(a), Identity::Existing(b)) => a == b,
            (Identity::New(a), Identity::New(b)) => a == b,
            _ => false,
        }
    }
}

/// Follow symbolic links from `path` as far as they lead (a dangling link leads to the path it
/// names: writing the link would create that file). Gives up after 40 links, like the kernel.
fn follow_links(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => match fs::read_link(&current) {
                Ok(target) if target.is_absolute() => current = target,
                Ok(target) => {
                    let parent = current.parent().map(Path::to_path_buf).unwrap_or_default();
                    current = parent.join(target);
                }
                Err(_) => break,
            },
            _ => break,
        }
    }
    current
}

/// Where a path that does not exist yet would be created: the canonical form of its nearest
/// existing folder plus the rest of the path (missing folders are created when writing).
fn new_file_path(path: &Path) -> io::Result<PathBuf> {
    let target = follow_links(path);
    if target.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ));
    }
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    let mut ancestor = target.as_path();
    loop {
        let candidate = if ancestor.as_os_str().is_empty() {
            Path::new(".")
        } else {
            ancestor
        };
        match fs::canonicalize(candidate) {
            Ok(existing) if existing.is_dir() => {
                let mut resolved = existing;
                resolved.extend(rest.iter().rev());
                return Ok(resolved);
            }
            Ok(existing) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is a file, not a folder", existing.display()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match (ancestor.file_name(), ancestor.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                ancestor = parent;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "no folder of the path exists",
                ));
            }
        }
    }
}

fn identity(path: &Path) -> io::Result<Identity> {
    #[cfg(unix)]
    let existing = fs::metadata(path).map(|meta| {
        use std::os::unix::fs::MetadataExt;
        Identity::Existing(meta.dev(), meta.ino())
    });
    #[cfg(not(unix))]
    let existing = same_file::Handle::from_path(path).map(Identity::Existing);
    match existing {
        Ok(identity) => Ok(identity),
        Err(e) if e.kind() == io::ErrorKind::NotFound => new_file_path(path).map(Identity::New),
        Err(e) => Err(e),
    }
}

/// Refuse any output that is (after following links) the same file as one of `inputs` or as
/// another output. Inputs that cannot be opened are left to the reader to report.
///
/// Call it before anything is read or sent.
pub fn check_output_paths(inputs: &[RunFile], outputs: &[RunFile]) -> Result<(), OutputPathError> {
    if outputs.is_empty() {
        return Ok(());
    }
    let input_ids: Vec<(&RunFile, Identity)> = inputs
        .iter()
        .filter_map(|file| identity(&file.path).ok().map(|id| (file, id)))
        .collect();
    let mut output_ids: Vec<(&RunFile, Identity)> = Vec::with_capacity(outputs.len());
    for output in outputs {
        if output.path.is_dir() {
            return Err(OutputPathError::IsDirectory {
                role: output.role.clone(),
                path: output.path.clone(),
            });
        }
        let id = identity(&output.path).map_err(|source| OutputPathError::Io {
            role: output.role.clone(),
            path: output.path.clone(),
            source,
        })?;
        let clash = input_ids
            .iter()
            .chain(output_ids.iter())
            .find(|(_, other)| *other == id);
        if let Some((other, _)) = clash {
            return Err(OutputPathError::SameFile {
                output_role: output.role.clone(),
                output: output.path.clone(),
                other_role: other.role.clone(),
                other: other.path.clone(),
            });
        }
        output_ids.push((output, id));
    }
    Ok(())
}

enum Sink {
    /// A temporary file beside the target, renamed over it on commit.
    Temporary(tempfile::NamedTempFile),
    /// A target that is not a regular file (a device, a FIFO): written in place.
    Direct(File),
}

/// A file written through a temporary file in the same folder and renamed over the target by
/// [`Self::commit`]. Dropping it without committing removes the temporary file and leaves the
/// target as it was.
pub struct AtomicFile {
    sink: Sink,
    target: PathBuf,
}

impl std::fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicFile")
            .field("target", &self.target)
            .finish()
    }
}

impl AtomicFile {
    /// Start writing `path` (creating its folder). A symbolic link is followed: the file it
    /// leads to is replaced, the link stays.
    pub fn create(path: &Path) -> io::Result<Self> {
        let target = follow_links(path);
        if let Ok(meta) = fs::metadata(&target) {
            if meta.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a folder, not a file",
                ));
            }
            if !meta.is_file() {
                let file = fs::OpenOptions::new().write(true).open(&target)?;
                return Ok(Self {
                    sink: Sink::Direct(file),
                    target,
                });
            }
        }
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Like a plain create: 0666 less the umask, or the permissions of the file replaced.
            let mode = fs::metadata(&target).map_or(0o666, |m| m.permissions().mode() & 0o7777);
            builder.permissions(fs::Permissions::from_mode(mode));
        }
        let temp = builder.tempfile_in(&dir)?;
        Ok(Self {
            sink: Sink::Temporary(temp),
            target,
        })
    }

    /// The file that [`Self::commit`] replaces.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flush, sync and rename the temporary file over the target.
    pub fn commit(self) -> io::Result<()> {
        match self.sink {
            Sink::Direct(mut file) => file.flush(),
            Sink::Temporary(mut temp) => {
                temp.flush()?;
                temp.as_file().sync_all()?;
                temp.persist(&self.target).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Temporary(temp) => temp.write(buf),
            Sink::Direct(file) => file.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::Temporary(temp) => temp.write_all(buf),
            Sink::Direct(file) => file.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Temporary(temp) => temp.flush(),
            Sink::Direct(file) => file.flush(),
        }
    }
}

/// Write `bytes` to `path` through a temporary file: the target is either left as it was or
/// holds exactly `bytes`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_output_that_is_the_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        fs::write(&input, "a,b\n1,2\n").unwrap();
        let inputs = [RunFile::new("the input file", &input)];
        let err = check_output_paths(&inputs, &[RunFile::new("--failed-out", &input)]).unwrap_err();
        assert!(matches!(err, OutputPathError::SameFile { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("--failed-out") && text.contains("the input file"),
            "{text}"
        );
        // Through another spelling of the path, a symlink and a hard link.
        let dotted = dir.path().join(".").join("in.csv");
        assert!(check_output_paths(&inputs, &[RunFile::new("o", &dotted)]).is_err());
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(check_output_paths(&inputs, &[RunFile::new("o", &link)]).is_err());
            let hard = dir.path().join("hard.csv");
            fs::hard_link(&input, &hard).unwrap();
            assert!(check_output_paths(&inputs, &[RunFile::new("o", &hard)]).is_err());
        }
        // Other paths are fine; an unreadable input is left to the reader.
        let ok = [
            RunFile::new("--failed-out", dir.path().join("rejected.csv")),
            RunFile::new("--report", dir.path().join("report.json")),
        ];
        check_output_paths(&inputs, &ok).unwrap();
        check_output_paths(&[RunFile::new("in", dir.path().join("missing"))], &ok).unwrap();
        assert_eq!(fs::read_to_string(&input).unwrap(), "a,b\n1,2\n");
    }

    #[test]
    fn two_outputs_into_one_file_are_refused_even_before_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("out.csv");
        let b = dir.path().join("sub").join("..").join("out.csv");
        fs::create_dir(dir.path().join("sub")).unwrap();
        let err = check_output_paths(
            &[],
            &[
                RunFile::new("--failed-out", &a),
                RunFile::new("--report", &b),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("--report"), "{err}");
        #[cfg(unix)]
        {
            // A dangling link to the input-to-be of another output.
            let link = dir.path().join("dangling");
            std::os::unix::fs::symlink(dir.path().join("target.csv"), &link).unwrap();
            let target = dir.path().join("target.csv");
            assert!(
                check_output_paths(&[], &[RunFile::new("a", &link), RunFile::new("b", &target)])
                    .is_err()
            );
        }
        let err = check_output_paths(&[], &[RunFile::new("--report", dir.path())]).unwrap_err();
        assert!(matches!(err, OutputPathError::IsDirectory { .. }));
        // Missing folders are fine (they are created), a file used as a folder is not.
        let deep = dir.path().join("no/such/dir/r.json");
        check_output_paths(&[], &[RunFile::new("--report", &deep)]).unwrap();
        fs::write(dir.path().join("plain"), "x").unwrap();
        let under_file = dir.path().join("plain/r.json");
        let err = check_output_paths(&[], &[RunFile::new("--report", &under_file)]).unwrap_err();
        assert!(matches!(err, OutputPathError::Io { .. }), "{err}");
    }

    #[test]
    fn an_atomic_file_replaces_the_target_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, "old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "old",
            "untouched until commit"
        );
        assert_eq!(files(dir.path()).len(), 2, "a temporary file beside it");
        file.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(files(dir.path()), vec!["report.json"]);
        // Abandoned: the temporary file goes, the target stays.
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"torn").unwrap();
        drop(file);
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(files(dir.path()), vec!["report.json"]);
        // A new file in a new folder.
        write_atomically(&dir.path().join("a/b.txt"), b"x").unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("a/b.txt")).unwrap(), "x");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_devices_written_in_place() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        write_atomically(Path::new("/dev/null"), b"gone").unwrap();
        let err = write_atomically(Path::new("/dev/full"), b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28), "ENOSPC: {err}");
    }
}
