//! Opening files that other programs write (lease files, programmes, keys, passwords, TLS
//! files, captures) so that nothing can block the agent: only regular files are read, and a
//! FIFO, device, socket or directory found at the path is refused at once with what it is.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The path holds something other than a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is {0}, not a regular file: give the path of the file itself")]
pub(crate) struct NotRegular(pub &'static str);

/// The file is larger than the caller reads at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is {size} bytes, more than the limit of {limit} bytes")]
pub(crate) struct TooLarge {
    /// The file's size as found (at least this, when it grew while read).
    pub size: u64,
    /// The most bytes the caller reads.
    pub limit: u64,
}

/// What a non-regular file type is, in words (`None` for a regular file).
fn kind_of(file_type: std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        None
    } else if file_type.is_dir() {
        Some("a directory")
    } else if file_type.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if file_type.is_socket() {
        Some("a socket")
    } else if file_type.is_char_device() || file_type.is_block_device() {
        Some("a device")
    } else {
        Some("not a file")
    }
}

/// Opens `path` for reading if it is a regular file (symbolic links followed). The type is
/// checked before opening, and again on the open file, which is opened non-blocking so that a
/// FIFO swapped in between can never hang the caller.
///
/// # Errors
/// The path cannot be opened, or holds something other than a regular file: then the error's
/// inner value is a [`NotRegular`] (see [`not_regular`]).
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let check = |file_type| match kind_of(file_type) {
        None => Ok(()),
        Some(what) => Err(io::Error::other(NotRegular(what))),
    };
    check(std::fs::metadata(path)?.file_type())?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    check(file.metadata()?.file_type())?;
    Ok(file)
}

/// Reads a whole regular file (see [`open_regular`]).
///
/// # Errors
/// As [`open_regular`], or a read error.
pub(crate) fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads the rest of an open file, at most `limit` bytes: a file larger than that, by its
/// metadata before reading or by what it grew to while being read, is refused without being
/// read whole, so memory stays bounded whatever the file holds.
///
/// # Errors
/// A read error, or the file is larger than `limit`: then the error's inner value is a
/// [`TooLarge`] (see [`too_large`]).
pub(crate) fn read_limited(file: &mut File, limit: u64) -> io::Result<Vec<u8>> {
    let size = file.metadata()?.len();
    if size > limit {
        return Err(io::Error::other(TooLarge { size, limit }));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > limit {
        return Err(io::Error::other(TooLarge { size: read, limit }));
    }
    Ok(bytes)
}

/// Reads a whole regular file as text (see [`open_regular`]), bytes that are not UTF-8 as
/// U+FFFD: the kernel's tables name interfaces, and Linux allows any bytes but '/', ':' and
/// white space in a name; one such name must not cost the other rows.
///
/// # Errors
/// As [`read_regular`].
pub(crate) fn read_regular_to_string(path: &Path) -> io::Result<String> {
    let bytes = read_regular(path)?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The [`NotRegular`] inside an error of [`open_regular`], if that is the cause.
pub(crate) fn not_regular(error: &io::Error) -> Option<NotRegular> {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<NotRegular>())
        .copied()
}

/// The [`TooLarge`] inside an error of [`read_limited`], if that is the cause.
pub(crate) fn too_large(error: &io::Error) -> Option<TooLarge> {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<TooLarge>())
        .copied()
}

/// Makes a FIFO at `path` (with coreutils' `mkfifo`), for the tests that check nothing blocks.
#[cfg(test)]
pub(crate) fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils) runs");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: an interface whose name is not UTF-8 made `/proc/net/dev` and
    /// `/proc/net/arp` unreadable as a whole (every interface and neighbour lost).
    #[test]
    fn text_that_is_not_utf8_reads_with_replacement_characters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dev");
        std::fs::write(&path, b"  eth0: 1\n  br\xffx: 2\n").expect("write");
        let text = read_regular_to_string(&path).expect("text");
        assert_eq!(text, "  eth0: 1\n  br\u{fffd}x: 2\n");
    }

    #[test]
    fn a_fifo_a_directory_and_a_socket_are_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let socket = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        for (path, what) in [
            (fifo, "a FIFO (named pipe)"),
            (dir.path().to_path_buf(), "a directory"),
            (socket, "a socket"),
            ("/dev/null".into(), "a device"),
        ] {
            let error = read_regular(&path).expect_err("refused");
            assert_eq!(not_regular(&error), Some(NotRegular(what)), "{path:?}");
        }
        let file = dir.path().join("file");
        std::fs::write(&file, b"data").expect("write");
        assert_eq!(read_regular(&file).expect("regular file"), b"data");
        let missing = read_regular(&dir.path().join("none")).expect_err("missing");
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        assert_eq!(not_regular(&missing), None);
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big");
        let file = File::create(&path).expect("create");
        // Sparse: 1 GiB of holes costs no disk, and must cost no memory.
        file.set_len(1 << 30).expect("set_len");
        let error =
            read_limited(&mut open_regular(&path).expect("open"), 1 << 20).expect_err("too large");
        let expected = TooLarge {
            size: 1 << 30,
            limit: 1 << 20,
        };
        assert_eq!(too_large(&error), Some(expected));
        assert_eq!(
            error.to_string(),
            "is 1073741824 bytes, more than the limit of 1048576 bytes"
        );
        file.set_len(1 << 20).expect("shrink");
        let bytes = read_limited(&mut open_regular(&path).expect("open"), 1 << 20);
        assert_eq!(bytes.expect("at the limit").len(), 1 << 20);
        assert_eq!(too_large(&io::Error::other("other")), None);
    }
}
