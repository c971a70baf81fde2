//! What the scheduler tells: the lines `pagefold schedule` prints, and what tests wait for.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::state::history::{HistoryEntry, Status, Trigger};

/// Something the scheduler did or found.
#[derive(Debug, Clone)]
pub enum Event {
    /// A job file was read, at start or after it changed.
    Loaded {
        /// The job.
        job: String,
        /// Its file.
        file: PathBuf,
        /// Its next scheduled time.
        next: Option<DateTime<Utc>>,
        /// Whether that time is past (within `--late`) and its run starts now.
        due_now: bool,
        /// Whether it replaced an earlier version.
        reloaded: bool,
    },
    /// The job files are read: the scheduler starts.
    Ready {
        /// The scheduled jobs, by name.
        jobs: Vec<String>,
        /// The state folder.
        state: PathBuf,
        /// Runs at once at most.
        max_running: usize,
        /// `--once`: what is due now, then exit.
        once: bool,
    },
    /// A changed or new job file cannot be used; the last good version, if any, is kept.
    Rejected {
        /// The file.
        file: PathBuf,
        /// Why, with the place in the file.
        message: String,
        /// Whether a last good version goes on being scheduled.
        kept: bool,
    },
    /// A job file is gone (or lost its schedule); its job is no longer scheduled.
    Removed {
        /// The job.
        job: String,
        /// Its file.
        file: PathBuf,
    },
    /// A run started.
    Started {
        /// The job.
        job: String,
        /// The run's id.
        run_id: String,
        /// Why it runs.
        trigger: Trigger,
        /// The scheduled time it is for.
        due: Option<DateTime<Utc>>,
    },
    /// A due run waits for the job's running run (`overlap = "queue"`) or a free slot.
    Queued {
        /// The job.
        job: String,
        /// The scheduled time it is for.
        due: Option<DateTime<Utc>>,
        /// What it waits for.
        behind: &'static str,
    },
    /// A run ended; `entry` is its history line.
    Finished {
        /// The history entry.
        entry: HistoryEntry,
        /// Whether its job denies warnings (`deny_warnings = true`).
        deny_warnings: bool,
        /// Why the history could not be appended to, if it could not.
        history_error: Option<String>,
    },
    /// A due run did not run (skipped or missed); `entry` is its history line.
    NotRun {
        /// The history entry.
        entry: HistoryEntry,
    },
    /// The job's state could not be read or written.
    StateProblem {
        /// The job.
        job: String,
        /// What went wrong.
        message: String,
    },
    /// A signal asked the scheduler to stop.
    Stopping {
        /// Which.
        signal: &'static str,
        /// Runs still running, given the grace period.
        running: usize,
    },
    /// The grace period is over: the running runs checkpoint and stop.
    GraceOver {
        /// How many.
        running: usize,
    },
    /// Yet another signal: the scheduler exits without waiting for its runs.
    Abandoned {
        /// Runs still running.
        running: usize,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = |time: &Option<DateTime<Utc>>| {
            time.map_or_else(
                || "never".to_owned(),
                |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            )
        };
        match self {
            Self::Loaded {
                job,
                file,
                next,
                due_now,
                reloaded,
            } => write!(
                f,
                "{job}: {} `{}`; {} {}",
                if *reloaded { "reloaded" } else { "loaded" },
                file.display(),
                if *due_now {
                    "starting now the run due at"
                } else {
                    "next run"
                },
                time(next)
            ),
            Self::Ready {
                jobs,
                state,
                max_running,
                once,
            } => write!(
                f,
                "scheduling {} job{} ({}); state in `{}`; up to {max_running} run{} at once; {}",
                jobs.len(),
                if jobs.len() == 1 { "" } else { "s" },
                jobs.join(", "),
                state.display(),
                if *max_running == 1 { "" } else { "s" },
                if *once {
                    "running what is due now, then exiting"
                } else {
                    "stop with Ctrl-C or SIGTERM"
                }
            ),
            Self::Rejected {
                file,
                message,
                kept,
            } => write!(
                f,
                "`{}` cannot be used{}:\n{message}",
                file.display(),
                if *kept {
                    "; its last good version stays scheduled"
                } else {
                    ""
                }
            ),
            Self::Removed { job, file } => {
                write!(
                    f,
                    "{job}: `{}` is gone; no longer scheduled",
                    file.display()
                )
            }
            Self::Started {
                job,
                run_id,
                trigger,
                due,
            } => {
                let why = match trigger {
                    Trigger::Manual => "run".to_owned(),
                    Trigger::Schedule => format!("scheduled for {}", time(due)),
                    Trigger::CatchUp => format!("missed run of {}", time(due)),
                    Trigger::Resume => "resuming the run a stop interrupted".to_owned(),
                };
                write!(f, "{job}: started {run_id} ({why})")
            }
            Self::Queued { job, due, behind } => {
                write!(f, "{job}: run of {} waits for {behind}", time(due))
            }
            Self::Finished {
                entry,
                history_error,
                ..
            } => {
                let took = (entry.ended - entry.started).num_milliseconds() as f64 / 1000.0;
                write!(
                    f,
                    "{}: {} {} in {took:.1}s: {}, {}, {}",
                    entry.job,
                    entry.run_id,
                    status_word(entry.status),
                    counted(entry.pages, "page"),
                    counted(entry.records, "record"),
                    counted(entry.requests, "request")
                )?;
                if let Some(output) = &entry.output {
                    write!(f, ", result in `{}`", output.display())?;
                }
                if let Some(error) = &entry.error {
                    for line in error.lines() {
                        write!(f, "\n  {line}")?;
                    }
                }
                for warning in &entry.warnings {
                    write!(f, "\n  warning: {warning}")?;
                }
                if let Some(error) = history_error {
                    write!(f, "\n  the history could not be written: {error}")?;
                }
                Ok(())
            }
            Self::NotRun { entry } => write!(
                f,
                "{}: {} the run of {}: {}",
                entry.job,
                status_word(entry.status),
                time(&entry.scheduled_for),
                entry.error.as_deref().unwrap_or_default()
            ),
            Self::StateProblem { job, message } => write!(f, "{job}: {message}"),
            Self::Stopping { signal, running: 0 } => {
                write!(f, "{signal}: stopping (no run is running)")
            }
            Self::Stopping { signal, running } => write!(
                f,
                "{signal}: no new runs; waiting for {running} running run{}",
                if *running == 1 { "" } else { "s" }
            ),
            Self::Abandoned { running } => write!(
                f,
                "stopping now: {running} run{} did not stop in time; their last checkpoints resume them",
                if *running == 1 { "" } else { "s" }
            ),
            Self::GraceOver { running } => write!(
                f,
                "grace period over: stopping {running} run{} (their progress is checkpointed and resumes at the next start)",
                if *running == 1 { "" } else { "s" }
            ),
        }
    }
}

/// `1 page`, `2 pages`, with thousands separators.
fn counted(count: u64, noun: &str) -> String {
    format!(
        "{} {noun}{}",
        crate::terminal::progress::thousands(count),
        if count == 1 { "" } else { "s" }
    )
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "finished",
        Status::Warnings => "finished with warnings",
        Status::Partial => "finished with skipped pages",
        Status::Failed => "failed",
        Status::Interrupted => "stopped",
        Status::Skipped => "skipped",
        Status::Missed => "missed",
    }
}
