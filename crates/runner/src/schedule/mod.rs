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
//!
//! Time comes from a [`Clock`], so tests move it by hand.

mod clock;
mod event;
mod jobs;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

pub use clock::{Clock, ManualClock, SystemClock};
pub use event::Event;
pub use jobs::describe as describe_job_error;

use crate::history::{HistoryEntry, Status, Trigger};
use crate::job::{Job, Missed, Overlap};
use crate::output::RunStamp;
use crate::run::{RunOptions, StopSender, stop_channel};
use crate::state::{JobState, StateDir, StateError};
use crate::tracked::{Tracked, TrackedError, record_failure, run_tracked_guarded};
use jobs::Read;

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

/// A run that should start.
#[derive(Debug, Clone, Copy)]
struct Pending {
    due: Option<DateTime<Utc>>,
    trigger: Trigger,
}

/// One scheduled job.
struct Entry {
    job: Arc<Job>,
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
    tracked: Tracked,
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
    /// Files refused because another file has their job's name: read again when a job goes.
    shadowed: std::collections::HashSet<PathBuf>,
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
            shadowed: Default::default(),
        };
        scheduler.load_all()?;
        Ok((scheduler, SchedulerRuns { done }))
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn load_all(&mut self) -> Result<(), ScheduleError> {
        let mut rejected = Vec::new();
        for found in jobs::find(&self.options.paths) {
            let (text, read) = match jobs::read(&found.path) {
                Ok(read) => read,
                Err(source) if found.named => {
                    return Err(ScheduleError::Unreadable {
                        path: found.path,
                        source,
                    });
                }
                Err(error) => {
                    let message = format!("cannot read it: {error}");
                    rejected.push(format!("`{}`: {message}", found.path.display()));
                    self.emit(Event::Rejected {
                        file: found.path,
                        message,
                        kept: false,
                    });
                    continue;
                }
            };
            match read {
                Read::Scheduled(job) => {
                    self.check_name(&job)?;
                    self.seen.insert(found.path.clone(), text);
                    self.add(found.path, Arc::new(*job), false);
                }
                Read::Unscheduled if found.named => {
                    return Err(ScheduleError::Unscheduled(found.path));
                }
                Read::Unscheduled => {
                    self.seen.insert(found.path, text);
                }
                Read::Invalid(message) if found.named => {
                    return Err(ScheduleError::Invalid(message));
                }
                // One broken file in a folder does not stop the others; it is taken once it
                // is fixed.
                Read::Invalid(message) => {
                    self.seen.insert(found.path.clone(), text);
                    rejected.push(message.clone());
                    self.emit(Event::Rejected {
                        file: found.path,
                        message,
                        kept: false,
                    });
                }
            }
        }
        if self.entries.is_empty() && !rejected.is_empty() {
            return Err(ScheduleError::Invalid(rejected.join("\n\n")));
        }
        if self.entries.is_empty() {
            let paths: Vec<String> = self
                .options
                .paths
                .iter()
                .map(|path| format!("`{}`", path.display()))
                .collect();
            return Err(ScheduleError::NoJobs(paths.join(", ")));
        }
        let now = self.clock.now();
        let files: Vec<PathBuf> = self.entries.keys().cloned().collect();
        for file in files {
            self.catch_up(&file, now)?;
        }
        Ok(())
    }

    fn check_name(&self, job: &Job) -> Result<(), ScheduleError> {
        match self.entries.iter().find(|(file, entry)| {
            !entry.removed && entry.job.name == job.name && **file != job.path
        }) {
            Some((file, _)) => Err(ScheduleError::DuplicateName {
                name: job.name.clone(),
                first: file.clone(),
                second: job.path.clone(),
            }),
            None => Ok(()),
        }
    }

    fn add(&mut self, file: PathBuf, job: Arc<Job>, reloaded: bool) {
        let now = self.clock.now();
        let schedule = job
            .schedule
            .as_ref()
            .expect("only scheduled jobs are added");
        let next_due = schedule.next_after(now);
        self.emit(Event::Loaded {
            job: job.name.clone(),
            file: file.clone(),
            next: next_due,
            reloaded,
        });
        let state = self.options.state.job(&job.name);
        match self.entries.get_mut(&file) {
            Some(entry) => {
                let same_times = entry
                    .job
                    .schedule
                    .as_ref()
                    .map(|s| (&s.expression, s.timezone))
                    == Some((&schedule.expression, schedule.timezone));
                if !same_times || entry.removed {
                    entry.next_due = next_due;
                }
                entry.job = job;
                entry.state = state;
                entry.removed = false;
            }
            None => {
                self.entries.insert(
                    file,
                    Entry {
                        job,
                        state,
                        next_due,
                        running: false,
                        pending: Vec::new(),
                        removed: false,
                    },
                );
            }
        }
    }

    /// At start: a run a stop interrupted resumes; a run due now (or missed while the
    /// scheduler was down, with `missed = "run_once"`) is queued.
    fn catch_up(&mut self, file: &PathBuf, now: DateTime<Utc>) -> Result<(), ScheduleError> {
        let entry = &self.entries[file];
        let (job, state) = (entry.job.clone(), entry.state.clone());
        let schedule = job.schedule.as_ref().expect("scheduled");
        let checkpoint_dir = job
            .checkpoint
            .as_ref()
            .map_or_else(|| state.checkpoint_dir(), |spec| spec.dir.clone());
        let mut pending = Vec::new();
        if crate::checkpoint::path_for(&checkpoint_dir, &job.name).exists() {
            // The run keeps the time it was scheduled for: its output path and history say
            // which run it is.
            let interrupted = state
                .history()?
                .into_iter()
                .rev()
                .find(|entry| entry.status == Status::Interrupted)
                .and_then(|entry| entry.scheduled_for);
            pending.push(Pending {
                due: interrupted,
                trigger: Trigger::Resume,
            });
        }
        let last = state.last_due()?;
        if let Some(latest) = schedule.last_at_or_before(now)
            && last.is_none_or(|last| latest > last)
        {
            if self.on_time(latest, now) {
                pending.push(Pending {
                    due: Some(latest),
                    trigger: Trigger::Schedule,
                });
            } else if let Some(last) = last {
                let missed = count_between(schedule, last, now);
                let why = format!(
                    "due while the scheduler was not running ({missed} run{} missed since {})",
                    if missed == 1 { "" } else { "s" },
                    last.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                );
                match schedule.missed {
                    Missed::RunOnce => pending.push(Pending {
                        due: Some(latest),
                        trigger: Trigger::CatchUp,
                    }),
                    Missed::Skip => {
                        self.not_run(&job, &state, latest, now, Status::Missed, why);
                    }
                }
            } else {
                // First start: nothing was missed, but the next start should know from when.
                state.set_last_due(latest)?;
            }
        }
        self.entries
            .get_mut(file)
            .expect("present")
            .pending
            .extend(pending);
        Ok(())
    }

    fn on_time(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - due).to_std().unwrap_or_default() <= self.options.late
    }

    fn not_run(
        &self,
        job: &Job,
        state: &JobState,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        status: Status,
        why: String,
    ) {
        let entry = HistoryEntry::not_run(&job.name, due, now, status, why);
        if let Err(error) = state.append(&entry).and_then(|()| state.set_last_due(due)) {
            self.emit(Event::StateProblem {
                job: job.name.clone(),
                message: error.to_string(),
            });
        }
        self.emit(Event::NotRun { entry });
    }

    /// Handles every job whose time has come.
    fn fire_due(&mut self, now: DateTime<Utc>) {
        let files: Vec<PathBuf> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.next_due.is_some_and(|due| due <= now))
            .map(|(file, _)| file.clone())
            .collect();
        for file in files {
            let entry = &self.entries[&file];
            let (job, state, running) = (entry.job.clone(), entry.state.clone(), entry.running);
            let schedule = job.schedule.as_ref().expect("scheduled");
            // Several times passed at once (the machine slept): they make one run, of the
            // latest.
            let due = schedule
                .last_at_or_before(now)
                .or(entry.next_due)
                .expect("a due time");
            let next_due = schedule.next_after(now);
            let trigger = if self.on_time(due, now) {
                Trigger::Schedule
            } else if schedule.missed == Missed::RunOnce {
                Trigger::CatchUp
            } else {
                let why = "the scheduler was held up past the run's time (more than --late)";
                self.not_run(&job, &state, due, now, Status::Missed, why.into());
                self.entries.get_mut(&file).expect("present").next_due = next_due;
                continue;
            };
            let pending = Pending {
                due: Some(due),
                trigger,
            };
            if running && schedule.overlap == Overlap::Skip {
                let why = "the previous run was still running (overlap = \"skip\")".to_owned();
                self.not_run(&job, &state, due, now, Status::Skipped, why);
            } else {
                if running {
                    self.emit(Event::Queued {
                        job: job.name.clone(),
                        due: Some(due),
                        behind: "the previous run (overlap = \"queue\")",
                    });
                }
                let entry = self.entries.get_mut(&file).expect("present");
                // A due run still waiting is replaced by the newer one: they make one run.
                entry.pending.retain(|p| p.trigger == Trigger::Resume);
                entry.pending.push(pending);
            }
            self.entries.get_mut(&file).expect("present").next_due = next_due;
        }
    }

    /// Starts waiting runs, oldest due first, while there are free slots.
    fn start_pending(&mut self) {
        loop {
            if self.running >= self.options.max_running {
                let waiting = self
                    .entries
                    .values()
                    .filter(|e| !e.running && !e.pending.is_empty())
                    .count();
                if waiting > 0 {
                    tracing::debug!("{waiting} runs wait for a free slot (--max-running)");
                }
                return;
            }
            let next = self
                .entries
                .iter()
                .filter(|(_, entry)| !entry.running && !entry.pending.is_empty())
                .min_by_key(|(_, entry)| entry.pending[0].due)
                .map(|(file, _)| file.clone());
            let Some(file) = next else {
                return;
            };
            self.start(&file);
        }
    }

    fn start(&mut self, file: &PathBuf) {
        let now = self.clock.now();
        let entry = self.entries.get_mut(file).expect("present");
        let pending = entry.pending.remove(0);
        entry.running = true;
        self.running += 1;
        let (job, state) = (entry.job.clone(), entry.state.clone());
        let recorded = match pending.due {
            Some(due) if pending.trigger != Trigger::Resume => state.set_last_due(due),
            _ => Ok(()),
        };
        if let Err(error) = recorded {
            self.emit(Event::StateProblem {
                job: job.name.clone(),
                message: error.to_string(),
            });
        }
        // Output paths are stamped with the scheduled time (the 06:00 run writes `06-00-00`
        // even if it starts a little late); a resumed run with its run's time.
        let stamp = RunStamp::new(&job.name, pending.due.unwrap_or(now), job.timezone);
        self.emit(Event::Started {
            job: job.name.clone(),
            run_id: stamp.run_id.clone(),
            trigger: pending.trigger,
            due: pending.due,
        });
        let options = RunOptions {
            workers: self.options.workers,
            progress: false,
            // Without a `[checkpoint]` of its own, a scheduled run checkpoints into its state
            // folder, so that a stop never loses its progress.
            checkpoint: job.checkpoint.is_none().then(|| state.checkpoint_dir()),
            stamp: Some(stamp),
            stop: Some(self.stop.subscribe()),
            ..RunOptions::default()
        };
        let done_to = self.done_to.clone();
        let (thread_job, thread_state, thread_file) = (job.clone(), state.clone(), file.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("run-{}", job.name))
            .spawn(move || {
                let tracked = run_tracked_guarded(
                    &thread_job,
                    options,
                    &thread_state,
                    pending.trigger,
                    pending.due,
                );
                let _ = done_to.send(Done {
                    file: thread_file,
                    tracked,
                });
            });
        if let Err(error) = spawned {
            let failure = TrackedError::NotStarted(format!("no thread for it: {error}"));
            let tracked = record_failure(
                &job,
                &state,
                &RunStamp::new(&job.name, pending.due.unwrap_or(now), job.timezone),
                pending.trigger,
                pending.due,
                now,
                failure,
            );
            self.finished(Done {
                file: file.clone(),
                tracked,
            });
        }
    }

    fn finished(&mut self, done: Done) {
        self.running -= 1;
        if let Some(entry) = self.entries.get_mut(&done.file) {
            entry.running = false;
            // A failed run's checkpoint must not be resumed by the next scheduled run.
            if done.tracked.entry.status == Status::Failed && entry.job.checkpoint.is_none() {
                let path =
                    crate::checkpoint::path_for(&entry.state.checkpoint_dir(), &entry.job.name);
                let _ = std::fs::remove_file(path);
            }
            if entry.removed {
                self.entries.remove(&done.file);
                self.unshadow();
            }
        }
        self.emit(Event::Finished {
            entry: done.tracked.entry,
            history_error: done.tracked.history_error.map(|error| error.to_string()),
        });
    }

    /// Reads job files that changed, were added or were removed.
    fn reload(&mut self) {
        let found = jobs::find(&self.options.paths);
        let gone: Vec<PathBuf> = self
            .seen
            .keys()
            .filter(|file| !found.iter().any(|f| &f.path == *file))
            .cloned()
            .collect();
        for file in gone {
            self.seen.remove(&file);
            self.remove(&file);
        }
        for file in found {
            let Ok((text, read)) = jobs::read(&file.path) else {
                // Removed or being replaced between the listing and the read: next time.
                continue;
            };
            if self.seen.get(&file.path) == Some(&text) {
                continue;
            }
            self.seen.insert(file.path.clone(), text);
            let kept = self.entries.contains_key(&file.path);
            match read {
                Read::Scheduled(job) => match self.check_name(&job) {
                    Ok(()) => self.add(file.path, Arc::new(*job), kept),
                    Err(error) => {
                        self.shadowed.insert(file.path.clone());
                        self.emit(Event::Rejected {
                            file: file.path,
                            message: error.to_string(),
                            kept,
                        });
                    }
                },
                Read::Unscheduled if file.named => self.emit(Event::Rejected {
                    file: file.path,
                    message: "it has no `schedule`".into(),
                    kept,
                }),
                Read::Unscheduled => self.remove(&file.path),
                Read::Invalid(message) => self.emit(Event::Rejected {
                    file: file.path,
                    message,
                    kept,
                }),
            }
        }
    }

    fn remove(&mut self, file: &PathBuf) {
        let Some(entry) = self.entries.get_mut(file) else {
            return;
        };
        if entry.removed {
            return;
        }
        let job = entry.job.name.clone();
        if entry.running {
            // Its run goes on to its end; the entry goes when the run does.
            entry.removed = true;
            entry.next_due = None;
            entry.pending.clear();
        } else {
            self.entries.remove(file);
            self.unshadow();
        }
        self.emit(Event::Removed {
            job,
            file: file.clone(),
        });
    }

    /// A job went: files refused for having its name are read again at the next reload.
    fn unshadow(&mut self) {
        for file in std::mem::take(&mut self.shadowed) {
            self.seen.remove(&file);
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
        let mut told = false;
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
                    self.stop.stop(signal);
                }
                again = signals.recv(), if signals_open => match again {
                    // A second signal: no more grace.
                    Some(again) if !told => {
                        told = true;
                        self.emit(Event::GraceOver { running: self.running });
                        self.stop.stop(again);
                    }
                    // One more, while runs are saving their checkpoints: stop waiting for them.
                    Some(_) => {
                        self.emit(Event::Abandoned { running: self.running });
                        return;
                    }
                    None => signals_open = false,
                },
            }
        }
    }
}

/// Scheduled times in `(after, until]`, counted up to 10 000.
fn count_between(
    schedule: &crate::job::ScheduleSpec,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> usize {
    let mut count = 0;
    let mut cursor = after;
    while count < 10_000 {
        match schedule.next_after(cursor) {
            Some(next) if next <= until => {
                count += 1;
                cursor = next;
            }
            _ => break,
        }
    }
    count
}
