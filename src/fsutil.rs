//! The file rules every file Overwatch reads or writes obeys (the config, the engine state): regular files only, a size cap, atomic writes with mode 0600, and links followed only to a regular file that could be read.
//!
//! Why each rule: a FIFO at the path would block start-up forever; a link to
//! `/dev/zero` would be read until memory runs out, and a rename over a link
//! to a device node would replace the node with a plain file (as root, a real
//! device); a write-only file behind a link is somebody else's file, and
//! writing it through the link would destroy it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not found")]
    NotFound,
    /// A directory, a device, a pipe or a socket.
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("the file is {len} bytes; at most {cap} are read — is this the right file?")]
    TooLarge { len: u64, cap: usize },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a non-regular file is, in words.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a named pipe";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
    }
    "not a regular file"
}

/// Reads a regular file (through links) of at most `cap` bytes. Reads one
/// byte past the cap at most, so a huge file costs `cap`, not its size.
pub fn read_capped(path: &Path, cap: usize) -> Result<Vec<u8>, ReadError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(&meta)));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(cap as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > cap {
        return Err(ReadError::TooLarge {
            len: meta.len().max(bytes.len() as u64),
            cap,
        });
    }
    Ok(bytes)
}

/// Where a write to `path` must land: the path itself, or — for a link — its
/// target, which must be a regular file this user can read (so it is ours to
/// replace). A path that exists and is not a regular file is refused too.
pub fn write_target(path: &Path) -> Result<PathBuf, String> {
    let link = std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.file_type().is_symlink());
    if link.is_none() {
        return match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => Err(format!(
                "{} is {}; refusing to replace it",
                path.display(),
                kind_of(&m)
            )),
            _ => Ok(path.to_path_buf()),
        };
    }
    let to = std::fs::read_link(path)
        .map(|t| t.display().to_string())
        .unwrap_or_else(|_| "?".into());
    let real = std::fs::canonicalize(path).map_err(|e| {
        format!(
            "{} is a symlink to {to}, which does not exist or cannot be reached ({e}); fix or remove the link",
            path.display()
        )
    })?;
    let meta = std::fs::metadata(&real).map_err(|e| format!("{}: {e}", real.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{} is a symlink to {}, which is {}; refusing to write through it",
            path.display(),
            real.display(),
            kind_of(&meta)
        ));
    }
    // Readable by us, and readable by its owner: root can open anything, so
    // the mode bits say whether the file was meant to be read (a write-only
    // file is a log or a drop box, not a file of ours).
    #[cfg(unix)]
    let owner_reads = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o400 != 0
    };
    #[cfg(not(unix))]
    let owner_reads = true;
    let opened = std::fs::File::open(&real).map(|_| ());
    if let (false, _) | (_, Err(_)) = (owner_reads, &opened) {
        let why = opened
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "it is write-only".into());
        return Err(format!(
            "{} is a symlink to {}, which cannot be read ({why}); refusing to write through it",
            path.display(),
            real.display()
        ));
    }
    Ok(real)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and
/// a rename, with mode 0600, so a crash leaves the old file or the new one.
/// Links are written through only as [`write_target`] allows.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let real = write_target(path)?;
    let dir = real
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".overwatch-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
    }
    tmp.write_all(bytes).map_err(|e| e.to_string())?;
    tmp.as_file().sync_all().map_err(|e| e.to_string())?;
    tmp.persist(&real).map_err(|e| e.error.to_string())?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn reads_regular_files_under_the_cap_only() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a");
        std::fs::write(&f, b"hello").unwrap();
        assert_eq!(read_capped(&f, 5).unwrap(), b"hello");
        assert!(matches!(
            read_capped(&f, 4),
            Err(ReadError::TooLarge { len: 5, cap: 4 })
        ));
        assert!(matches!(
            read_capped(&d.path().join("none"), 4),
            Err(ReadError::NotFound)
        ));
        assert!(matches!(
            read_capped(d.path(), 4),
            Err(ReadError::NotRegular("a directory"))
        ));
        let zero = d.path().join("zero");
        symlink("/dev/zero", &zero).unwrap();
        assert!(matches!(
            read_capped(&zero, 4),
            Err(ReadError::NotRegular("a device"))
        ));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        let ok = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(ok.success());
        assert!(matches!(
            read_capped(&p, 4),
            Err(ReadError::NotRegular("a named pipe"))
        ));
        assert!(write_atomic(&p, b"x").unwrap_err().contains("a named pipe"));
    }

    #[test]
    fn writes_go_through_links_only_to_readable_regular_files() {
        let d = tempfile::tempdir().unwrap();
        // A link to a regular file: written through, the link stays a link.
        let real = d.path().join("real");
        std::fs::write(&real, b"old").unwrap();
        let link = d.path().join("link");
        symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // A link to a device: refused, the device untouched.
        let dev = d.path().join("dev");
        symlink("/dev/null", &dev).unwrap();
        let e = write_atomic(&dev, b"x").unwrap_err();
        assert!(e.contains("a device"), "{e}");
        {
            use std::os::unix::fs::FileTypeExt;
            assert!(std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device());
        }
        // A dangling link: refused, the link kept.
        let dangling = d.path().join("dangling");
        symlink(d.path().join("nowhere"), &dangling).unwrap();
        assert!(write_atomic(&dangling, b"x")
            .unwrap_err()
            .contains("does not exist"));
        assert!(std::fs::symlink_metadata(&dangling).is_ok());
    }

    #[test]
    fn a_write_only_file_behind_a_link_is_not_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        // As root too: the mode bits, not only open(), decide.
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("theirs");
        std::fs::write(&real, b"precious").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o200)).unwrap();
        let link = d.path().join("link");
        symlink(&real, &link).unwrap();
        assert!(write_atomic(&link, b"x")
            .unwrap_err()
            .contains("cannot be read"));
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"precious");
    }
}
