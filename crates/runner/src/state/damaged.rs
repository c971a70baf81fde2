//! A state file that is not what pagefold wrote (cut short by a crash or a full disk, edited
//! by hand, a stray byte) is set aside — renamed `NAME.damaged-TIME` beside it, kept for a
//! look — with a warning, and the job goes on as if it were missing: a damaged
//! `schedule.json` from now, a damaged `incremental.json` from the job's start. Refusing it
//! instead would stop the job at every start, silently under cron, until someone noticed.

use std::path::{Path, PathBuf};

use super::StateError;

/// Renames the damaged file at `path` aside and warns; where it went.
///
/// # Errors
///
/// When it cannot be renamed: then it is [`StateError::Damaged`], for the user to move.
pub(crate) fn set_aside(path: &Path, message: &str) -> Result<PathBuf, StateError> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = path.with_file_name(format!(
        "{name}.damaged-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.fZ")
    ));
    std::fs::rename(path, &aside).map_err(|_| StateError::Damaged {
        path: path.to_owned(),
        message: message.to_owned(),
    })?;
    tracing::warn!(
        "`{}` is damaged ({message}): set aside as `{}`; the job goes on without it",
        path.display(),
        aside.display()
    );
    Ok(aside)
}
