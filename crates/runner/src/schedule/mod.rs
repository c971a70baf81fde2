//! `pagefold schedule`: runs scheduled jobs at their times.
//!
//! * At most one run of a job at a time: a run due while the last still runs is skipped or
//!   queued (`overlap`), and at most `max_running` runs over all jobs.
//! * The last scheduled time handled is kept in the state directory, so runs due while the
//!   scheduler was down are noticed at its start and skipped or run once (`missed`).
//! * Job files are read again when they change; a broken edit is reported and the last good
//!   version stays scheduled.
//! * On SIGTERM or SIGINT no run starts; running ones get a grace period, then checkpoint and
//!   stop, and resume at the next start.
//! * `once` runs what is due now (and what a stop interrupted) and returns.
//! * Each run executes in a child process (`supervise`), so that no run can crash the
//!   scheduler or another job; a child that dies is recorded as failed, with how.
//!
//! Time comes from a [`Clock`], so tests move it by hand.

mod child;
mod clock;
mod cron;
mod due;
mod event;
mod jobs;
mod live;
mod runs;
mod supervise;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

pub use child::{ChildArgs, ChildError, SUBCOMMAND as CHILD_SUBCOMMAND, run_child};
pub use clock::{Clock, ManualClock, SystemClock};
pub use event::Event;
pub use jobs::describe as describe_job_error;
pub use supervise::ChildProgram;

use crate::engine::run::{StopSender, stop_channel};
use crate::job::Job;
use crate::observe::Observer;
use crate::state::history::{HistoryEntry, Trigger};
use crate::state::{JobState, StateDir, StateError};

/// How to schedule.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Job files, and folders of job files.
    pub paths: Vec<PathBuf>,
    /// Where history, last run times, marks and checkpoints go.
    pub state: StateDir,
    /// Run what is due now, then return.
    pub once: bool,
    /// Runs at a time, over all jobs.
    pub max_running: usize,
    /// How long running runs may go on after a stop signal.
    pub grace: Duration,
    /// How late a run may start and still be on time.
    pub late: Duration,
    /// How often to look for changed job files.
    pub reload_every: Duration,
    /// Reduce worker threads a run.
    pub workers: Option<usize>,
    /// Trace every run, into its job's state folder ([`JobState::trace_path`]).
    pub trace: bool,
    /// Told of every run and of the jobs' times: metrics and alerts.
    pub observer: Observer,
    /// The program each run executes in, a child process (see `supervise`): `pagefold
    /// schedule` sets it to itself. `None` runs each run on a thread of the scheduler's
    /// process, where a crash of one run ends them all: for tests of the scheduling alone.
    pub child: Option<ChildProgram>,
}

/// Why the scheduler could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// A job file named on the command line is not a valid job.
    #[error("{0}")]
    Invalid(String),
    /// A job file named on the command line has no `schedule`.
    #[error("`{}` has no `schedule`", .0.display())]
    Unscheduled(PathBuf),
    /// A job file named on the command line cannot be read.
    #[error("cannot read job file `{}`", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Nothing to schedule.
    #[error("no job file with a `schedule` in {0}")]
    NoJobs(String),
    /// Two job files have the same job name, and so would share history and state.
    #[error("`{}` and `{}` are both the job `{name}`", first.display(), second.display())]
    DuplicateName {
        /// The name.
        name: String,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The state directory cannot be used.
    #[error(transparent)]
    State(#[from] StateError),
}

impl ScheduleError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Unscheduled(_) | Self::NoJobs(_) => Some(
                "add e.g. schedule = \"0 */6 * * *\" to the job (minute hour day month weekday)"
                    .into(),
            ),
            Self::DuplicateName { .. } => Some("give one of them another `name`".into()),
            Self::State(error) => error.hint(),
            Self::Invalid(_) | Self::Unreadable { .. } => None,
        }
    }
}

/// The least time children get to checkpoint and stop after the stop signal reaches them,
/// before they are killed.
const KILL_AFTER_AT_LEAST: Duration = Duration::from_secs(5);

/// A run that should start.
#[derive(Debug, Clone, Copy)]
struct Pending {
    due: Option<DateTime<Utc>>,
    trigger: Trigger,
    /// Whether its wait for a free slot was told.
    announced: bool,
}

impl Pending {
    fn new(due: Option<DateTime<Utc>>, trigger: Trigger) -> Self {
        Self {
            due,
            trigger,
            announced: false,
        }
    }
}

/// One scheduled job.
struct Entry {
    job: Arc<Job>,
    /// The text `job` was read from, for the child that runs it.
    text: Arc<str>,
    state: JobState,
    next_due: Option<DateTime<Utc>>,
    running: bool,
    /// Runs to start, in order: a resume first, then at most one due run.
    pending: Vec<Pending>,
    /// Its file is gone, but its run still runs.
    removed: bool,
}

struct Done {
    file: PathBuf,
    /// The version of the job that ran (its file may have changed since).
    job: Arc<Job>,
    /// Its history entry (already appended, unless `history_error` says otherwise).
    entry: HistoryEntry,
    history_error: Option<String>,
}

/// The scheduler: see the module's documentation.
pub struct Scheduler {
    options: SchedulerOptions,
    clock: Arc<dyn Clock>,
    events: mpsc::UnboundedSender<Event>,
    entries: BTreeMap<PathBuf, Entry>,
    /// The text last read of every job file, good or not: a file is parsed again only when
    /// it changes.
    seen: HashMap<PathBuf, String>,
    running: usize,
    stop: StopSender,
    done_to: mpsc::UnboundedSender<Done>,
    /// The children running runs, by job file: told of a stop.
    children: HashMap<PathBuf, supervise::ChildHandle>,
    /// Files refused because another file has their job's name: read again when a job goes.
    shadowed: std::collections::HashSet<PathBuf>,
    /// Events of the first load, held until the banner that names its jobs has gone out.
    held: std::sync::Mutex<Option<Vec<Event>>>,
}

enum Wake {
    Done(Option<Box<Done>>),
    Time,
    Reload,
    Signal(Option<&'static str>),
}

impl Scheduler {
    /// Reads the job files; reports what happens on `events`.
    ///
    /// # Errors
    ///
    /// When a job file is invalid, has no schedule (if named), or none has one.
    pub fn new(
        options: SchedulerOptions,
        clock: Arc<dyn Clock>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<(Self, SchedulerRuns), ScheduleError> {
        let (stop, _) = stop_channel();
        let (done_to, done) = mpsc::unbounded_channel();
        let mut scheduler = Self {
            options,
            clock,
            events,
            entries: BTreeMap::new(),
            seen: HashMap::new(),
            running: 0,
            stop,
            done_to,
            children: HashMap::new(),
            shadowed: Default::default(),
            held: std::sync::Mutex::new(Some(Vec::new())),
        };
        scheduler.load_all()?;
        Ok((scheduler, SchedulerRuns { done }))
    }

    fn emit(&self, event: Event) {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match held.as_mut() {
            Some(held) => held.push(event),
            None => {
                let _ = self.events.send(event);
            }
        }
    }
}

impl Scheduler {
    /// Tells running runs to checkpoint and stop: those on threads through the stop channel,
    /// children by the signal itself.
    fn stop_runs(&self, signal: &'static str) {
        self.stop.stop(signal);
        for child in self.children.values() {
            child.signal(signal);
        }
    }
}

/// The scheduler's channel of finished runs, kept apart from it so that waiting on it does
/// not borrow the scheduler.
pub struct SchedulerRuns {
    done: mpsc::UnboundedReceiver<Done>,
}

impl Scheduler {
    /// Runs jobs at their times until a signal arrives on `signals` (then stops as the module
    /// says), or, with `once`, until what is due now has run.
    pub async fn run(
        mut self,
        mut runs: SchedulerRuns,
        mut signals: mpsc::UnboundedReceiver<&'static str>,
    ) {
        let mut reload =
            tokio::time::interval(self.options.reload_every.max(Duration::from_millis(10)));
        reload.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        reload.tick().await;
        let mut signals_open = true;
        loop {
            let now = self.clock.now();
            if !self.options.once {
                self.fire_due(now);
            }
            self.start_pending();
            self.observe();
            let idle = self.running == 0 && self.entries.values().all(|e| e.pending.is_empty());
            if self.options.once && idle {
                return;
            }
            let wake_at = if self.options.once {
                None
            } else {
                self.entries
                    .values()
                    .filter_map(|entry| entry.next_due)
                    .min()
            };
            let clock = self.clock.clone();
            let wake = tokio::select! {
                done = runs.done.recv() => Wake::Done(done.map(Box::new)),
                () = async {
                    match wake_at {
                        Some(at) => clock.sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => Wake::Time,
                _ = reload.tick(), if !self.options.once => Wake::Reload,
                signal = signals.recv(), if signals_open => Wake::Signal(signal),
            };
            match wake {
                Wake::Done(Some(done)) => self.finished(*done),
                Wake::Done(None) | Wake::Time => {}
                Wake::Reload => self.reload(),
                Wake::Signal(None) => signals_open = false,
                Wake::Signal(Some(signal)) => {
                    self.shut_down(signal, &mut runs, &mut signals).await;
                    return;
                }
            }
        }
    }

    /// No new runs; running ones get the grace period, then are told to checkpoint and stop.
    async fn shut_down(
        &mut self,
        signal: &'static str,
        runs: &mut SchedulerRuns,
        signals: &mut mpsc::UnboundedReceiver<&'static str>,
    ) {
        for entry in self.entries.values_mut() {
            entry.pending.clear();
        }
        self.emit(Event::Stopping {
            signal,
            running: self.running,
        });
        let grace = tokio::time::sleep(self.options.grace);
        tokio::pin!(grace);
        // Children told to stop that do not within another grace period (at least
        // `KILL_AFTER_AT_LEAST`: a checkpoint takes time to write) are killed: a reducer stuck
        // in a loop never reaches its checkpoint, and a stop must end.
        let kill = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
        tokio::pin!(kill);
        let kill_after = self.options.grace.max(KILL_AFTER_AT_LEAST);
        let (mut told, mut killed) = (false, false);
        let mut signals_open = true;
        while self.running > 0 {
            tokio::select! {
                done = runs.done.recv() => match done {
                    Some(done) => self.finished(done),
                    None => return,
                },
                () = &mut grace, if !told => {
                    told = true;
                    self.emit(Event::GraceOver { running: self.running });
                    self.stop_runs(signal);
                    kill.as_mut().reset(tokio::time::Instant::now() + kill_after);
                }
                () = &mut kill, if told && !killed && !self.children.is_empty() => {
                    killed = true;
                    self.emit(Event::Abandoned { running: self.running });
                    // Their ends are still heard, and recorded as interrupted.
                    for child in self.children.values() {
                        child.signal("SIGKILL");
                    }
                }
                again = signals.recv(), if signals_open => match again {
                    // A second signal: no more grace.
                    Some(again) if !told => {
                        told = true;
                        self.emit(Event::GraceOver { running: self.running });
                        self.stop_runs(again);
                        kill.as_mut().reset(tokio::time::Instant::now() + kill_after);
                    }
                    // One more, while runs are saving their checkpoints: stop waiting for them,
                    // and end their processes (their checkpoints resume them at the next start).
                    Some(_) => {
                        self.emit(Event::Abandoned { running: self.running });
                        for child in self.children.values() {
                            child.signal("SIGKILL");
                        }
                        return;
                    }
                    None => signals_open = false,
                },
            }
        }
    }
}
