//! Why a tracked run failed, and what the user can do about it.

use crate::engine::incremental::IncrementalError;
use crate::engine::run::RunError;
use crate::output::database::pending::DeliveryError;
use crate::state::StateError;

/// Why a tracked run failed.
#[derive(Debug, thiserror::Error)]
pub enum TrackedError {
    /// The run failed; nothing was written.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The job's state could not be read, or saved after the run.
    #[error(transparent)]
    State(#[from] StateError),
    /// The incremental state could not be used or kept.
    #[error(transparent)]
    Incremental(#[from] IncrementalError),
    /// The run panicked: a bug, in pagefold or in a plugin.
    #[error("the run panicked: {0}")]
    Panicked(String),
    /// The run could not start.
    #[error("the run could not start: {0}")]
    NotStarted(String),
    /// The child process a scheduled run ran in died without reporting the run's end.
    #[error("the run's process {how}{}", last_words(.last))]
    Died {
        /// `was killed by SIGABRT`, `exited with code 2 without reporting its end`.
        how: String,
        /// Its last lines on stderr.
        last: Vec<String>,
    },
    /// The run finished, but its result was not written to the database (`[output] url`).
    #[error(transparent)]
    Database(Box<DeliveryError>),
    /// Another job file of the same name runs in this state folder.
    #[error("`{}` and `{}` are both the job `{job}` in the state folder `{}`", theirs.display(), ours.display(), folder.display())]
    NameTaken {
        /// The name.
        job: String,
        /// The job file that ran under it before.
        theirs: std::path::PathBuf,
        /// This run's job file.
        ours: std::path::PathBuf,
        /// The state folder.
        folder: std::path::PathBuf,
    },
    /// Another process is running the same job.
    #[error("`{job}` is already running in another pagefold process (it holds `{}`)", lock.display())]
    Busy {
        /// The job.
        job: String,
        /// Its lock file.
        lock: std::path::PathBuf,
    },
}

impl TrackedError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Run(error) => error.hint(),
            Self::State(error) => error.hint(),
            Self::Incremental(error) => error.hint(),
            Self::NotStarted(_) => None,
            Self::Died { .. } => Some(
                "the scheduler and its other jobs go on; `pagefold run` of the job shows the crash: report it to the plugin's author, or to pagefold"
                    .into(),
            ),
            Self::Database(error) => Some(error.hint()),
            Self::NameTaken { .. } => Some(
                "give one of them another `name`, or use another state folder (--state DIR) for one of them"
                    .into(),
            ),
            Self::Busy { .. } => Some(
                "wait for that run to end; one job runs once at a time, so its state stays whole"
                    .into(),
            ),
            Self::Panicked(_) => Some(
                "this is a bug: please report it with the message above; the run's result was not written"
                    .into(),
            ),
        }
    }
}

fn last_words(last: &[String]) -> String {
    if last.is_empty() {
        String::new()
    } else {
        format!("; its last lines on stderr: {}", last.join(" | "))
    }
}
