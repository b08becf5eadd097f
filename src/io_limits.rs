//! Bounded file reads, shared by everything that reads a file a user (or an attacker who
//! can write the workspace) controls: manifests, saved plans, emulator state, caches.
//!
//! Sizes are counted as bytes are read, never taken from `metadata().len()`, which is 0 for
//! devices, FIFOs and process substitution (`validate /dev/zero` once grew to 24 GB). A
//! file that is not a regular file is refused unless the caller allows it (a path named
//! explicitly on the command line, such as `<(cat m.yaml)`), and even then it is read up to
//! the same limit. Opening a FIFO that no one writes to would block for ever, so the open
//! itself is given a deadline.

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long opening a FIFO may wait for a writer.
pub const OPEN_DEADLINE: Duration = Duration::from_secs(1);

/// Whether a non-regular file (device, FIFO, socket) may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// Refused: only regular files are read (files found in directories, state files).
    Refuse,
    /// Read, within the same size limit (a path the user named explicitly).
    Allow,
}

/// Why a bounded read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitedReadError {
    #[error("cannot read `{}`: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("`{}` is larger than {} bytes", path.display(), max)]
    TooLarge { path: PathBuf, max: u64 },
    #[error("`{}` is a {kind}, not a regular file; name it explicitly to read it", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("`{}` is a FIFO that nothing writes to (waited {} ms)", path.display(), OPEN_DEADLINE.as_millis())]
    NoWriter { path: PathBuf },
}

impl LimitedReadError {
    /// The error as an `io::Error` whose message leaves the path out, for callers whose own
    /// message already names the file ("cannot read the key file F: …").
    pub fn into_io(self) -> io::Error {
        match self {
            LimitedReadError::Io { message, .. } => io::Error::other(message),
            LimitedReadError::TooLarge { max, .. } => {
                io::Error::other(format!("larger than {max} bytes"))
            }
            LimitedReadError::NotRegular { kind, .. } => {
                io::Error::other(format!("a {kind}, not a regular file"))
            }
            LimitedReadError::NoWriter { .. } => io::Error::other(format!(
                "a FIFO that nothing writes to (waited {} ms)",
                OPEN_DEADLINE.as_millis()
            )),
        }
    }
}

/// What kind of file `meta` describes, for messages; `None` for a regular file.
fn special_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("FIFO");
        }
        if t.is_char_device() {
            return Some("character device");
        }
        if t.is_block_device() {
            return Some("block device");
        }
        if t.is_socket() {
            return Some("socket");
        }
    }
    Some("special file")
}

/// Opens `path` for reading, refusing special files unless allowed; a FIFO's open is
/// bounded by [`OPEN_DEADLINE`].
pub fn open_checked(path: &Path, special: Special) -> Result<File, LimitedReadError> {
    let io_err = |e: io::Error| LimitedReadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    let kind = special_kind(&meta);
    match (kind, special) {
        (None, _) => File::open(path).map_err(io_err),
        (Some("directory"), _) => Err(LimitedReadError::NotRegular {
            path: path.to_path_buf(),
            kind: "directory",
        }),
        (Some(kind), Special::Refuse) => Err(LimitedReadError::NotRegular {
            path: path.to_path_buf(),
            kind,
        }),
        (Some("FIFO"), Special::Allow) => open_fifo(path),
        (Some(_), Special::Allow) => File::open(path).map_err(io_err),
    }
}

/// Opens a FIFO on a helper thread: `open` blocks until a writer appears. When none does
/// within the deadline, the helper is released by opening the FIFO for writing (which
/// completes its open at once) and the read is refused.
fn open_fifo(path: &Path) -> Result<File, LimitedReadError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(File::open(&owned));
    });
    match rx.recv_timeout(OPEN_DEADLINE) {
        Ok(opened) => opened.map_err(|e| LimitedReadError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(_) => {
            // Unblocks the helper's open; both ends are dropped at once.
            let _ = std::fs::OpenOptions::new().write(true).open(path);
            Err(LimitedReadError::NoWriter {
                path: path.to_path_buf(),
            })
        }
    }
}

/// Opens `path` for appending, creating it when missing. A FIFO (`--audit-log >(tee …)`)
/// is opened on a helper thread, since the open blocks until a reader appears; when none
/// does within [`OPEN_DEADLINE`], the helper is released by opening the FIFO for reading
/// and the open is refused, instead of waiting for ever on a FIFO planted in the workspace.
pub fn open_append(path: &Path) -> io::Result<File> {
    let append = |p: &Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let is_fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
        if is_fifo {
            let (tx, rx) = std::sync::mpsc::channel();
            let owned = path.to_path_buf();
            std::thread::spawn(move || {
                let _ = tx.send(append(&owned));
            });
            return match rx.recv_timeout(OPEN_DEADLINE) {
                Ok(opened) => opened,
                Err(_) => {
                    // Unblocks the helper's open; both ends are dropped at once.
                    let _ = File::open(path);
                    Err(io::Error::other(format!(
                        "a FIFO that nothing reads from (waited {} ms)",
                        OPEN_DEADLINE.as_millis()
                    )))
                }
            };
        }
    }
    append(path)
}

/// Reads all of `reader` into memory, up to `max` bytes; one byte more is an error.
pub fn read_to_end_limited(
    reader: impl Read,
    path: &Path,
    max: u64,
) -> Result<Vec<u8>, LimitedReadError> {
    let mut bytes = Vec::new();
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| LimitedReadError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if bytes.len() as u64 > max {
        return Err(LimitedReadError::TooLarge {
            path: path.to_path_buf(),
            max,
        });
    }
    Ok(bytes)
}

/// Reads a whole file of at most `max` bytes, counted as read.
pub fn read_limited(path: &Path, max: u64, special: Special) -> Result<Vec<u8>, LimitedReadError> {
    let file = open_checked(path, special)?;
    read_to_end_limited(file, path, max)
}

/// [`read_limited`] as UTF-8 text.
pub fn read_text_limited(
    path: &Path,
    max: u64,
    special: Special,
) -> Result<String, LimitedReadError> {
    let bytes = read_limited(path, max, special)?;
    String::from_utf8(bytes).map_err(|e| LimitedReadError::Io {
        path: path.to_path_buf(),
        message: format!("not UTF-8 text: {}", e.utf8_error()),
    })
}

/// Lines of a line-oriented file (a JSON-lines log), each read up to a bound: a line longer
/// than that is reported as too long and skipped without being held in memory, so one
/// damaged or hostile line (a log's torn write, a file of zeros) costs at most the bound.
pub struct BoundedLines<R> {
    reader: R,
    max_line: u64,
    line: Vec<u8>,
    number: usize,
}

/// One line from [`BoundedLines`]: its 1-based number, and its bytes without the newline
/// (`None`: it was longer than the bound).
pub type NumberedLine<'a> = (usize, Option<&'a [u8]>);

impl<R: BufRead> BoundedLines<R> {
    /// Lines of `reader`, each at most `max_line` bytes.
    pub fn new(reader: R, max_line: u64) -> BoundedLines<R> {
        BoundedLines {
            reader,
            max_line,
            line: Vec::new(),
            number: 0,
        }
    }

    /// The next line; `Ok(None)` at the end of the file.
    pub fn next_line(&mut self) -> io::Result<Option<NumberedLine<'_>>> {
        self.line.clear();
        let read = (&mut self.reader)
            .take(self.max_line.saturating_add(1))
            .read_until(b'\n', &mut self.line)?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
        } else if self.line.len() as u64 > self.max_line {
            self.skip_to_newline()?;
            return Ok(Some((self.number, None)));
        }
        Ok(Some((self.number, Some(&self.line))))
    }

    /// Consumes the rest of an overlong line, buffer by buffer.
    fn skip_to_newline(&mut self) -> io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            match buf.iter().position(|b| *b == b'\n') {
                Some(at) => {
                    self.reader.consume(at + 1);
                    return Ok(());
                }
                None => {
                    let n = buf.len();
                    self.reader.consume(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn lines_longer_than_the_bound_are_skipped_not_held() {
        let text = b"short\n0123456789abcdef\nlast without newline";
        let mut lines = BoundedLines::new(&text[..], 10);
        let mut seen = Vec::new();
        while let Some((n, line)) = lines.next_line().unwrap() {
            seen.push((n, line.map(|l| String::from_utf8_lossy(l).into_owned())));
        }
        assert_eq!(
            seen,
            [(1, Some("short".to_string())), (2, None), (3, None),]
        );
        let exact = b"0123456789\n0123456789";
        let mut lines = BoundedLines::new(&exact[..], 10);
        assert_eq!(
            lines.next_line().unwrap(),
            Some((1, Some(&b"0123456789"[..])))
        );
        assert_eq!(
            lines.next_line().unwrap(),
            Some((2, Some(&b"0123456789"[..])))
        );
        assert_eq!(lines.next_line().unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_line_costs_the_bound_not_the_file() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        // 64 MiB of zeros without a newline: read through, never held.
        let file = File::open(zero).unwrap().take(64 * 1024 * 1024);
        let mut lines = BoundedLines::new(io::BufReader::new(file), 1024);
        assert_eq!(lines.next_line().unwrap(), Some((1, None)));
        assert_eq!(lines.next_line().unwrap(), None);
        assert!(lines.line.capacity() < 4096);
    }

    #[cfg(unix)]
    #[test]
    fn appending_to_a_fifo_nobody_reads_is_refused_within_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("log");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return;
        }
        let t = Instant::now();
        let refused = open_append(&fifo).map(|_| ()).unwrap_err();
        assert!(
            refused.to_string().contains("nothing reads from"),
            "{refused}"
        );
        assert!(t.elapsed() < Duration::from_secs(5));
        // A regular file is created and appended to.
        let file = dir.path().join("plain");
        assert!(open_append(&file).is_ok() && file.is_file());
    }

    #[test]
    fn sizes_are_counted_as_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_limited(&p, 10, Special::Refuse).unwrap().len(), 10);
        assert!(matches!(
            read_limited(&p, 9, Special::Refuse),
            Err(LimitedReadError::TooLarge { max: 9, .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_unless_allowed_and_then_bounded() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        assert!(matches!(
            read_limited(zero, 1024, Special::Refuse),
            Err(LimitedReadError::NotRegular {
                kind: "character device",
                ..
            })
        ));
        let t = Instant::now();
        assert!(matches!(
            read_limited(zero, 1024 * 1024, Special::Allow),
            Err(LimitedReadError::TooLarge { .. })
        ));
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_is_refused_within_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return;
        }
        assert!(matches!(
            read_limited(&fifo, 1024, Special::Refuse),
            Err(LimitedReadError::NotRegular { kind: "FIFO", .. })
        ));
        let t = Instant::now();
        assert!(matches!(
            read_limited(&fifo, 1024, Special::Allow),
            Err(LimitedReadError::NoWriter { .. })
        ));
        assert!(t.elapsed() < OPEN_DEADLINE + Duration::from_secs(1));
    }
}
