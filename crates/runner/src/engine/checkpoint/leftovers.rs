//! The temporary files a checkpoint is written through, and removing those a crash left.

use std::path::Path;

/// The start of the names of the temporary files a checkpoint is written through:
/// `.NAME.checkpoint.json.` (then random letters and `.tmp`), the job's own, so that removing
/// them never touches another job's file being written in the same folder.
pub(super) fn temporary_prefix(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(".{name}.")
}

/// Removes the temporary files of `path` that a crash (or a full disk) left behind: a run of
/// a job is the only writer of its checkpoint, and it has not begun to write.
pub(super) fn remove_leftovers(path: &Path) {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let prefix = temporary_prefix(path);
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(file = %entry.path().display(), "removed a checkpoint's leftover temporary file")
                }
                Err(error) => {
                    tracing::warn!(file = %entry.path().display(), %error, "cannot remove a checkpoint's leftover temporary file")
                }
            }
        }
    }
}
