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
pub(crate) fn read_capped(path: &Path, cap: usize) -> Result<Vec<u8>, ReadError> {
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
pub(crate) fn write_target(path: &Path) -> Result<PathBuf, String> {
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
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic_checked(path, bytes, || Ok(()))
}

/// [`write_atomic`], calling `unchanged` after the new bytes are on disk and
/// just before the rename: an `Err` from it (the file changed under us)
/// abandons the write, leaving the file as it is and no temporary file.
pub(crate) fn write_atomic_checked(
    path: &Path,
    bytes: &[u8],
    unchanged: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
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
    unchanged()?;
    tmp.persist(&real).map_err(|e| e.error.to_string())?;
    Ok(())
}

/// How long an edit waits for another one to finish before giving up.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// An advisory lock on a file, held until dropped (the OS releases it when the
/// process dies, so a killed editor never leaves the file locked).
#[derive(Debug)]
pub struct FileLock {
    _file: Option<std::fs::File>,
}

/// The lock file that guards `path`: `.NAME.lock` beside the file a write
/// would land on (the link's target for a link, so every path to one file
/// shares one lock).
pub(crate) fn lock_path(path: &Path) -> Result<PathBuf, String> {
    let real = write_target(path)?;
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let dir = real
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(dir.join(format!(".{name}.lock")))
}

/// Takes the exclusive advisory lock that serialises read → edit → write of
/// `path` between processes, waiting up to `wait` for another holder.
///
/// When the lock file cannot be created at all (a read-only directory), the
/// write that follows cannot create its temporary file either: no lock is
/// taken and that write reports the real reason.
pub(crate) fn lock_for_edit(path: &Path, wait: std::time::Duration) -> Result<FileLock, String> {
    let lock = lock_path(path)?;
    if let Some(dir) = lock.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // Never follow a link planted at the lock's name: only a regular file of ours.
    if let Ok(m) = std::fs::symlink_metadata(&lock) {
        if !m.file_type().is_file() {
            return Err(format!(
                "{} is {}, not a lock file; remove it",
                lock.display(),
                if m.file_type().is_symlink() {
                    "a link"
                } else {
                    kind_of(&m)
                }
            ));
        }
    }
    let mut open = std::fs::OpenOptions::new();
    open.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let file = match open.open(&lock) {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            return Ok(FileLock { _file: None })
        }
        Err(e) => return Err(format!("cannot open the lock file {}: {e}", lock.display())),
    };
    let start = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FileLock { _file: Some(file) }),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "another edit has held {} for over {} s; try again when it is done",
                    lock.display(),
                    wait.as_secs()
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", lock.display()))
            }
        }
    }
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
