//! Why a run failed.

use std::path::PathBuf;

use pagefold_fetch::FetchError;

use crate::engine::checkpoint::CheckpointError;
use crate::engine::reduce::ReduceError;

/// Why a run failed. Nothing was written when it did.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A reducer could not be set up or failed.
    #[error(transparent)]
    Reduce(#[from] ReduceError),
    /// Fetching failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The result could not be written.
    #[error("cannot write the result to `{}`", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The API asked for a longer wait than `max_retry_after`, or the run's `deadline`
    /// passed: nothing is wrong, the run ends now and can go on later.
    #[error("{cause}")]
    Later {
        /// The wait asked for, or the deadline (boxed: it is large, and rare).
        cause: Box<FetchError>,
        /// The checkpoint that holds the progress, if checkpoints are on.
        checkpoint: Option<PathBuf>,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A checkpoint could not be read or written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A shard's part could not be written, or the parts could not be merged.
    #[error(transparent)]
    Parts(#[from] crate::shard::merge::MergeError),
    /// Ctrl-C or SIGTERM stopped the run.
    #[error("stopped by {signal}{}", checkpoint.as_ref().map(|p| format!("; progress saved in `{}`", p.display())).unwrap_or_default())]
    Interrupted {
        /// `SIGINT` or `SIGTERM`.
        signal: &'static str,
        /// The checkpoint that holds the progress, if checkpoints are on.
        checkpoint: Option<PathBuf>,
    },
}

impl RunError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Reduce(reduce) => reduce.hint(),
            Self::Fetch(FetchError::OtherOrigin { other, .. }) => Some(format!(
                "credentials and the job's headers go to the job's origin only; if the API \
                 really serves its pages from `{other}`, set `follow_other_origins = true` in \
                 [source.pagination] to follow them without credentials"
            )),
            Self::Later { cause, checkpoint } => {
                let setting = match **cause {
                    FetchError::Deadline { .. } => "deadline",
                    _ => "max_retry_after",
                };
                Some(match checkpoint {
                    Some(path) => format!(
                        "nothing was written; the progress is saved in `{}`: run the same command again later to resume, or raise `{setting}` in [fetch]",
                        path.display()
                    ),
                    None => format!(
                        "nothing was written; run the job again later (with --checkpoint DIR a run that ends this way resumes), or raise `{setting}` in [fetch]"
                    ),
                })
            }
            Self::Fetch(_) => {
                Some("nothing was written; fix the cause and run the job again".into())
            }
            Self::Checkpoint(checkpoint) => checkpoint.hint(),
            Self::Parts(parts) => parts.hint(),
            Self::Interrupted {
                checkpoint: Some(_),
                ..
            } => Some("nothing was written; run the same command again to resume".into()),
            Self::Interrupted {
                checkpoint: None, ..
            } => Some(
                "nothing was written; with --checkpoint DIR an interrupted run can resume".into(),
            ),
            Self::Write { .. } | Self::Runtime(_) => None,
        }
    }
}
