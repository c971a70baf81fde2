//! The metrics as a file, for node_exporter's textfile collector: written whole (a temporary
//! file in the same folder, renamed over the old one), so the collector never reads half of
//! it; the temporary file's name does not end in `.prom`, so the collector never reads it at
//! all. One file a process that writes them: the collector wants each metric in one file.

use std::path::Path;

use super::error::ObserveError;
use crate::output::write_output;

/// Writes `text` to `path` atomically.
///
/// # Errors
///
/// When the folder cannot be created or written to.
pub fn write(path: &Path, text: &str) -> Result<(), ObserveError> {
    write_output(path, text).map_err(|source| ObserveError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Whether node_exporter would read a file of this name (it reads `*.prom` only).
pub fn collected(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "prom")
}
