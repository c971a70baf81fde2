//! Writing a file so that nobody ever reads half of it, and so that nothing is destroyed on
//! the way.
//!
//! A regular file is replaced atomically: a temporary file in the same folder, flushed, then
//! renamed over it. What is not a regular file is never replaced: a device (`/dev/null`,
//! `/dev/full`), a FIFO or a terminal is written into as it is, since renaming over it would
//! put a regular file where the device node was. A symlink is followed to its target, and the
//! target is replaced in the target's folder, so that the link stays a link. A file the user
//! could not write is left alone: replacing it through a writable folder would go around its
//! permissions.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Who may read a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewFile {
    /// As the umask says (`0666 & !umask`), like any file a program writes: results, reports.
    Umask,
    /// Its owner only (`0600`): the state folder's files, which hold reducer states.
    Private,
}

/// Whether the bytes are flushed to the disk before the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Flushed: a result or a state file, which a crash must not leave empty.
    Synced,
    /// Left to the page cache: a trace, a diagnosis whose megabytes would lengthen the run
    /// if synced; still atomic, so never half written.
    Cached,
}

/// Where a write goes, once symlinks are followed.
#[derive(Debug)]
enum Destination {
    /// A regular file that exists: replaced, keeping its mode.
    Replace(PathBuf, std::fs::Metadata),
    /// Nothing there yet: created.
    Create(PathBuf),
    /// A device, FIFO, terminal or a `/proc` file descriptor: written into, never replaced.
    Stream(PathBuf),
}

/// Symlinks followed before giving up, as the kernel does (`ELOOP`).
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path` without ever leaving half of it or destroying what is there (see
/// the module's documentation). `temporary_prefix` names the temporary file (so that a
/// leftover one can be told apart and cleaned).
///
/// # Errors
///
/// When the folder cannot be created or written to, the file is read-only, or the device
/// refuses the bytes (`/dev/full`).
pub(crate) fn write_file(
    path: &Path,
    bytes: &[u8],
    new_file: NewFile,
    durability: Durability,
    temporary_prefix: &str,
) -> std::io::Result<()> {
    let replacing = Replacing {
        new_file,
        durability,
        temporary_prefix,
    };
    match destination(path)? {
        Destination::Stream(path) => stream(&path, bytes),
        Destination::Create(target) => replace(&target, bytes, None, &replacing),
        Destination::Replace(target, metadata) => {
            replace(&target, bytes, Some(&metadata), &replacing)
        }
    }
}

/// Follows `path`'s symlinks to what a write should go to.
fn destination(path: &Path) -> std::io::Result<Destination> {
    let mut here = path.to_owned();
    for _ in 0..MAX_LINKS {
        // `/dev/stdout` → `/proc/self/fd/1` → `pipe:[…]` or a file the shell opened: only
        // the kernel can follow those links, and a file behind one is the caller's open
        // file, which must be written into, not swapped for another.
        if here.starts_with("/proc") || here.starts_with("/dev/fd") {
            return Ok(Destination::Stream(path.to_owned()));
        }
        let metadata = match std::fs::symlink_metadata(&here) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Destination::Create(here));
            }
            Err(error) => return Err(error),
        };
        let kind = metadata.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&here)?;
            let target = match here.parent() {
                Some(folder) if target.is_relative() => folder.join(target),
                _ => target,
            };
            here = target;
        } else if kind.is_file() {
            return Ok(Destination::Replace(here, metadata));
        } else if kind.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "it is a folder: name a file in it",
            ));
        } else {
            return Ok(Destination::Stream(here));
        }
    }
    Err(std::io::Error::other(format!(
        "more than {MAX_LINKS} symlinks to follow (a loop?)"
    )))
}

/// Writes into what is there (a device, a FIFO, a terminal), as `>>` would.
fn stream(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(bytes)?;
    file.flush()
}

/// How a file is replaced.
struct Replacing<'a> {
    new_file: NewFile,
    durability: Durability,
    temporary_prefix: &'a str,
}

/// Writes a temporary file beside `target` and renames it over `target`.
fn replace(
    target: &Path,
    bytes: &[u8],
    existing: Option<&std::fs::Metadata>,
    how: &Replacing<'_>,
) -> std::io::Result<()> {
    let folder = match target.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder)?;
    let mode = match how.new_file {
        NewFile::Umask => 0o666,
        NewFile::Private => 0o600,
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(how.temporary_prefix)
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(folder)?;
    if let Some(existing) = existing {
        // The temporary file is ours: its owner and group are who we are, without asking
        // the system for our ids.
        let us = temporary.as_file().metadata()?;
        if !may_write(existing, us.uid(), us.gid()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "the file is read-only for this user (mode {:o}): pagefold replaces only files it may write; make it writable (`chmod u+w`) or choose another output",
                    existing.mode() & 0o7777
                ),
            ));
        }
        // A replaced file keeps its mode (the umask is for new files only).
        temporary
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(existing.mode() & 0o7777))?;
    }
    temporary.write_all(bytes)?;
    if how.durability == Durability::Synced {
        temporary.as_file().sync_all()?;
    }
    temporary.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// Whether the permission bits let user `uid` of group `gid` write the file. The bits, not
/// `access(2)`: root may write anything, but a file made read-only says "do not replace me"
/// to root too.
fn may_write(metadata: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = metadata.mode();
    if metadata.uid() == uid {
        mode & 0o200 != 0
    } else if metadata.gid() == gid {
        mode & 0o020 != 0
    } else {
        mode & 0o002 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) -> std::io::Result<()> {
        write_file(
            path,
            text.as_bytes(),
            NewFile::Umask,
            Durability::Synced,
            ".test-",
        )
    }

    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/out.json");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real/out.json", &link).unwrap();
        write(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        // The temporary file was made in the target's folder, and is gone.
        assert_eq!(
            std::fs::read_dir(dir.path().join("real")).unwrap().count(),
            1
        );
    }

    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(dir.path().join("sub/made.json"), &link).unwrap();
        write(&link, "x").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sub/made.json")).unwrap(),
            "x"
        );
    }

    #[test]
    fn a_replaced_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, "new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_read_only_file_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "keep").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let error = write(&path, "new").unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(error.to_string().contains("read-only"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert!(write(&a, "x").unwrap_err().to_string().contains("symlinks"));
    }
}
