//! The child's side of a supervised run: `pagefold scheduled-run` (hidden), which the
//! scheduler starts for each run of a job (see `supervise`). It does exactly what a
//! scheduled run did on a thread of the scheduler — the tracked run with its lock, history,
//! mark, checkpoint, output and database — and reports the history entry on stdout, as one
//! JSON line, for the scheduler's metrics and events.
//!
//! The job's text comes on stdin: the version the scheduler holds, which is the last good
//! one even while the file on disk is a broken edit.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::run::RunOptions;
use crate::engine::tracked::run_tracked_guarded;
use crate::job::Job;
use crate::output::RunStamp;
use crate::state::StateDir;
use crate::state::history::{HistoryEntry, Trigger};

/// The hidden subcommand that runs one scheduled run in a process of its own.
pub const SUBCOMMAND: &str = "scheduled-run";

/// What the scheduler tells the child: everything the run on a thread used to get.
#[derive(Debug, Clone, clap::Args)]
pub struct ChildArgs {
    /// The job file (its text comes on stdin).
    pub job: PathBuf,
    /// The state folder's root.
    #[arg(long)]
    pub state: PathBuf,
    /// What started the run: `schedule`, `catch_up` or `resume`.
    #[arg(long)]
    pub trigger: String,
    /// The scheduled time it is for (RFC 3339).
    #[arg(long)]
    pub due: Option<String>,
    /// The run's id.
    #[arg(long)]
    pub run_id: String,
    /// The time its output paths are stamped with (RFC 3339).
    #[arg(long)]
    pub stamped: String,
    /// Reduce worker threads.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Where its trace goes.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// The checkpoint folder, when the job has no `[checkpoint]` of its own.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
}

/// What the child prints on stdout when its run ended, however it ended.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ChildReport {
    pub entry: HistoryEntry,
    pub history_error: Option<String>,
}

impl ChildArgs {
    /// The arguments after the subcommand, as the child's command line spells them.
    pub(super) fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            self.job.clone().into(),
            "--state".into(),
            self.state.clone().into(),
            "--trigger".into(),
            self.trigger.clone().into(),
            "--run-id".into(),
            self.run_id.clone().into(),
            "--stamped".into(),
            self.stamped.clone().into(),
        ];
        if let Some(due) = &self.due {
            args.extend(["--due".into(), due.into()]);
        }
        if let Some(workers) = self.workers {
            args.extend(["--workers".into(), workers.to_string().into()]);
        }
        if let Some(trace) = &self.trace {
            args.extend(["--trace".into(), trace.clone().into()]);
        }
        if let Some(checkpoint) = &self.checkpoint {
            args.extend(["--checkpoint".into(), checkpoint.clone().into()]);
        }
        args
    }
}

/// Why the child could not run at all (the scheduler records it with the child's last
/// stderr lines).
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// The scheduler's arguments are not what this binary understands.
    #[error("the scheduler sent `{value}` as {what}, which this pagefold does not understand")]
    Argument {
        /// Which argument.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// The job text on stdin could not be read or parsed.
    #[error("the job `{}` could not be read from the scheduler: {message}", path.display())]
    Job {
        /// The job file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The state folder cannot be used.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The report could not be written to the scheduler.
    #[error("the run's report could not be sent to the scheduler")]
    Report(#[source] std::io::Error),
}

fn time(what: &'static str, text: &str) -> Result<DateTime<Utc>, ChildError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| ChildError::Argument {
            what,
            value: text.to_owned(),
        })
}

/// Runs the scheduled run the arguments describe, and reports its history entry on stdout.
///
/// # Errors
///
/// When the run cannot start: bad arguments, no job text, no state folder. A run that starts
/// and fails is no error here: its entry says so.
pub fn run_child(args: ChildArgs) -> Result<(), ChildError> {
    let trigger: Trigger = serde_json::from_value(serde_json::Value::String(args.trigger.clone()))
        .map_err(|_| ChildError::Argument {
            what: "the trigger",
            value: args.trigger.clone(),
        })?;
    let due = args
        .due
        .as_deref()
        .map(|due| time("the due time", due))
        .transpose()?;
    let stamped = time("the stamp time", &args.stamped)?;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|error| ChildError::Job {
            path: args.job.clone(),
            message: error.to_string(),
        })?;
    let job = Job::parse(&args.job, &text).map_err(|error| ChildError::Job {
        path: args.job.clone(),
        message: crate::terminal::failure::one_line(&error),
    })?;
    let state = StateDir::open(Some(&args.state))?.job(&job.name);
    let mut stamp = RunStamp::new(&job.name, stamped, job.timezone);
    stamp.run_id = args.run_id;
    let options = RunOptions {
        workers: args.workers,
        progress: false,
        checkpoint: args.checkpoint,
        trace: args.trace,
        stamp: Some(stamp),
        // SIGTERM and SIGINT are this process's: the scheduler sends them after its grace
        // period, and the run checkpoints and stops as `pagefold run` does.
        stop: None,
        ..RunOptions::default()
    };
    let tracked = run_tracked_guarded(&job, options, &state, trigger, due);
    let report = ChildReport {
        entry: tracked.entry,
        history_error: tracked.history_error.map(|error| error.to_string()),
    };
    let mut line = serde_json::to_string(&report).expect("a report serializes");
    line.push('\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(ChildError::Report)
}
