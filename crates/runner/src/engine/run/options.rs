//! How to run a job: what the command line or the scheduler adds to the job file.

use std::path::PathBuf;
use std::time::Duration;

use super::Stop;
use crate::engine::incremental::IncrementalStart;
use crate::output::RunStamp;

/// How to run a job, from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Reduce worker threads; overrides the job; default: see [`crate::engine::reduce::Reducers::placement`].
    pub workers: Option<usize>,
    /// Where to write the result; overrides the job's `[output]`.
    pub output: Option<PathBuf>,
    /// Print the result on stdout, whatever the job's `[output]` says (`-o -`).
    pub stdout: bool,
    /// Whether to draw the progress bar (it is hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// The checkpoint folder; overrides the job's `[checkpoint]`.
    pub checkpoint: Option<PathBuf>,
    /// How often to save a checkpoint; overrides the job's.
    pub checkpoint_every: Option<Duration>,
    /// The run's id and start, for the output path; a fresh one when `None`.
    pub stamp: Option<RunStamp>,
    /// What stops the run when a scheduler runs it; SIGINT and SIGTERM when `None`.
    pub stop: Option<Stop>,
    /// For a job with `[source.incremental]`: what the last successful run left. `None`
    /// fetches everything.
    pub incremental: Option<IncrementalStart>,
    /// Write the run's trace (Chrome trace event format) to this file, whether it succeeds
    /// or fails; see [`crate::trace`].
    pub trace: Option<PathBuf>,
    /// Run one shard of the job and write its part instead of the result (see
    /// [`crate::shard`]).
    pub shard: Option<crate::shard::ShardRun>,
}
