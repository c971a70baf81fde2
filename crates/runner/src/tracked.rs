//! A run kept track of in the job's state folder: its incremental mark and carried states
//! read before and saved after a successful run (never after a failed one), and an entry in
//! its history whatever happens. `pagefold run` and the scheduler both run jobs this way.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::checkpoint::{hex, unhex};
use crate::history::{HistoryEntry, Status, Trigger};
use crate::incremental::{IncrementalStart, MarkState, Persisted, PreviousMark, since_value};
use crate::job::Job;
use crate::output::RunStamp;
use crate::run::{RunError, RunOptions, RunReport, run};
use crate::secrets;
use crate::state::{JobState, StateError};

const INCREMENTAL_FILE: &str = "incremental.json";

/// Why a tracked run failed.
#[derive(Debug, thiserror::Error)]
pub enum TrackedError {
    /// The run failed; nothing was written.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The job's state could not be read, or saved after the run.
    #[error(transparent)]
    State(#[from] StateError),
    /// The incremental state does not fit the job.
    #[error("the incremental state of `{job}` cannot be used: {message}")]
    Incremental {
        /// The job.
        job: String,
        /// What is wrong.
        message: String,
    },
    /// The job's environment shapes its data otherwise than when its incremental state was
    /// saved: going on would mix two jobs' results.
    #[error("the incremental state of `{job}` was saved by a different job: {}", change.describe())]
    Identity {
        /// The job.
        job: String,
        /// What differs.
        change: crate::identity::Change,
        /// The state file.
        path: std::path::PathBuf,
    },
    /// The job's identity key could not be had.
    #[error(transparent)]
    Key(#[from] crate::identity::KeyError),
    /// The job's `lag` cannot be taken from its mark.
    #[error("[source.incremental] of `{job}`: {message}")]
    Lag {
        /// The job.
        job: String,
        /// What is wrong.
        message: String,
    },
    /// The run panicked: a bug, in pagefold or in a plugin.
    #[error("the run panicked: {0}")]
    Panicked(String),
    /// The run could not start.
    #[error("the run could not start: {0}")]
    NotStarted(String),
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
            Self::Incremental { .. } => Some(
                "move the job's incremental.json (in the state directory) away to start afresh"
                    .into(),
            ),
            Self::Identity { change, path, .. } => Some(format!(
                "{}, or move `{}` away to start afresh (the next run fetches everything)",
                match change {
                    crate::identity::Change::Env(names) => format!(
                        "set {} back to the value{} of the last run",
                        names
                            .iter()
                            .map(|name| format!("`{name}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if names.len() == 1 { "" } else { "s" }
                    ),
                    crate::identity::Change::Text => "restore the job file".to_owned(),
                },
                path.display()
            )),
            Self::Key(_) => None,
            Self::Lag { .. } => Some(
                "remove `lag`, or choose a `field` that holds RFC 3339 times or numbers".into(),
            ),
            Self::NotStarted(_) => None,
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

/// What a tracked run did, and the history entry that records it.
#[derive(Debug)]
pub struct Tracked {
    /// The run's outcome.
    pub result: Result<RunReport, TrackedError>,
    /// What the history got (already appended, unless `history_error` says otherwise).
    pub entry: HistoryEntry,
    /// Why the entry could not be appended, if it could not: the run itself is not failed
    /// for it.
    pub history_error: Option<StateError>,
}

/// [`run_tracked`], with a panic anywhere in the run recorded as a failed run rather than
/// lost: a scheduler must hear of the end of every run it starts.
pub fn run_tracked_guarded(
    job: &Job,
    options: RunOptions,
    state: &JobState,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
) -> Tracked {
    let started = Utc::now();
    let stamp = stamp_of(job, &options, started);
    let options = RunOptions {
        stamp: Some(stamp.clone()),
        ..options
    };
    let uses_state_checkpoint = options.checkpoint.as_deref() == Some(&state.checkpoint_dir());
    let run =
        std::panic::AssertUnwindSafe(|| run_tracked(job, options, state, trigger, scheduled_for));
    match std::panic::catch_unwind(run) {
        Ok(tracked) => tracked,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            // Like any failed run's, its checkpoint is not to be resumed.
            if uses_state_checkpoint {
                let _ = std::fs::remove_file(crate::checkpoint::path_for(
                    &state.checkpoint_dir(),
                    &job.name,
                ));
                state.clear_running();
            }
            let failure = TrackedError::Panicked(message);
            record_failure(job, state, &stamp, trigger, scheduled_for, started, failure)
        }
    }
}

/// The run's stamp: the one it was given, or a fresh one.
fn stamp_of(job: &Job, options: &RunOptions, started: DateTime<Utc>) -> RunStamp {
    options
        .stamp
        .clone()
        .unwrap_or_else(|| RunStamp::new(&job.name, started, job.timezone))
}

/// A run that failed outside [`run_tracked`] (a panic, no thread to run it), recorded in the
/// history like any other.
pub fn record_failure(
    job: &Job,
    state: &JobState,
    stamp: &RunStamp,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    failure: TrackedError,
) -> Tracked {
    let result = Err(failure);
    let entry = entry_for(job, stamp, trigger, scheduled_for, started, &result);
    let history_error = state.append(&entry).err();
    Tracked {
        result,
        entry,
        history_error,
    }
}

/// Runs `job` with its state: see the module's documentation.
pub fn run_tracked(
    job: &Job,
    mut options: RunOptions,
    state: &JobState,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
) -> Tracked {
    let started = Utc::now();
    let stamp = stamp_of(job, &options, started);
    options.stamp = Some(stamp.clone());
    let uses_state_checkpoint = options.checkpoint.as_deref() == Some(&state.checkpoint_dir());
    // What runs of a job share beyond the history (whose lines are appended whole): the mark
    // and carried states, and the scheduler's checkpoint. A run that uses neither needs no
    // lock, so two plain `pagefold run`s of jobs that share a name never wait on each other.
    let needs_lock = job.source.incremental.is_some() || uses_state_checkpoint;
    let lock = match state.lock() {
        _ if !needs_lock => None,
        Ok(Some(lock)) => Some(lock),
        Ok(None) => {
            let busy = TrackedError::Busy {
                job: job.name.clone(),
                lock: state.dir().join("lock"),
            };
            return record_failure(job, state, &stamp, trigger, scheduled_for, started, busy);
        }
        Err(error) => {
            let failure = TrackedError::State(error);
            return record_failure(job, state, &stamp, trigger, scheduled_for, started, failure);
        }
    };
    // The state folder's checkpoint is the scheduler's, for a run a stop interrupted, and is
    // resumed first: one still there when another scheduled run starts is stale (its run
    // failed, or the job changed), and must not be mixed into this run.
    let state_checkpoint = crate::checkpoint::path_for(&state.checkpoint_dir(), &job.name);
    if uses_state_checkpoint && trigger != Trigger::Resume && state_checkpoint.exists() {
        tracing::warn!(
            "dropping the stale checkpoint `{}`",
            state_checkpoint.display()
        );
        let _ = std::fs::remove_file(&state_checkpoint);
    }
    if uses_state_checkpoint
        && trigger != Trigger::Resume
        && let Err(error) = state.set_running(scheduled_for)
    {
        let failure = TrackedError::State(error);
        return record_failure(job, state, &stamp, trigger, scheduled_for, started, failure);
    }
    let result = incremental_start(job, state)
        .and_then(|start| {
            options.incremental = start;
            run(job, &options).map_err(TrackedError::from)
        })
        .and_then(|report| {
            // A run with skipped pages keeps the old mark: the next run asks for their records
            // again rather than losing them behind a mark past them.
            if let Some(end) = &report.incremental
                && report.document.skipped.is_empty()
            {
                keep_incremental(job, state, end)?;
            }
            Ok(report)
        });
    let entry = entry_for(job, &stamp, trigger, scheduled_for, started, &result);
    if uses_state_checkpoint {
        // A failed run's checkpoint would be resumed by the next start of the scheduler.
        if entry.status == Status::Failed {
            let _ = std::fs::remove_file(&state_checkpoint);
        }
        if entry.status != Status::Interrupted {
            state.clear_running();
        }
    }
    let history_error = state.append(&entry).err();
    drop(lock);
    Tracked {
        result,
        entry,
        history_error,
    }
}

/// Saves what the next run starts from.
fn keep_incremental(
    job: &Job,
    state: &JobState,
    end: &crate::incremental::IncrementalEnd,
) -> Result<(), TrackedError> {
    let spec = job
        .source
        .incremental
        .as_ref()
        .expect("an incremental run's job")
        .get_ref();
    // Checked now, not at the next run: a mark that cannot take `lag` is the job's mistake.
    if let Some(mark) = &end.mark {
        since_value(mark, spec.lag).map_err(|message| TrackedError::Lag {
            job: job.name.clone(),
            message,
        })?;
    }
    let persisted = Persisted {
        mark_of: mark_fingerprint(job),
        reducers: fingerprint(job),
        states: end.states.iter().map(|state| hex(state)).collect(),
        mark: end.mark.clone(),
        identity: Some(identity_in(job, state)?),
    };
    state.write_json(INCREMENTAL_FILE, &persisted)?;
    // A run the scheduler stopped, taken with the old mark, would mix two `since`s if resumed.
    let stale = crate::checkpoint::path_for(&state.checkpoint_dir(), &job.name);
    if stale.exists() {
        tracing::warn!(
            "dropping `{}`: a later run of `{}` moved its mark on",
            stale.display(),
            job.name
        );
        let _ = std::fs::remove_file(&stale);
    }
    Ok(())
}

/// The job's identity, keyed with the state folder's key.
fn identity_in(job: &Job, state: &JobState) -> Result<crate::identity::Fingerprint, TrackedError> {
    let key = crate::identity::IdentityKey::in_folder(state.dir())?;
    Ok(job.identity.fingerprint(&key))
}

/// What the mark is of: the field and the parameter. Another field's largest value means
/// nothing to this one.
fn mark_fingerprint(job: &Job) -> String {
    let spec = job.source.incremental.as_ref().map(|spec| {
        let spec = spec.get_ref();
        format!("{}|{}", spec.field, spec.param)
    });
    crate::checkpoint::job_hash(&format!("{spec:?}"))
}

/// What the reducers' states kept are of: each job reducer, `map`, and `carry`. Carried states
/// of anything else are not used. A hash, so that a secret in a plugin's `config` is never
/// written to the state directory.
fn fingerprint(job: &Job) -> Vec<String> {
    let carry = job
        .source
        .incremental
        .as_ref()
        .is_some_and(|spec| spec.get_ref().carry);
    let map = job.source.map.as_ref().map(|map| map.get_ref().clone());
    let reducers: Vec<String> = job
        .reduce
        .iter()
        .map(|spec| {
            let what = match &spec.reducer {
                crate::job::ReducerUse::Builtin { kind, field, k } => {
                    format!("{kind:?} {field:?} {k}")
                }
                // The library's file name, not its path: moving the job folder is no change.
                crate::job::ReducerUse::Plugin { path, config } => {
                    format!("{:?} {config}", path.file_name())
                }
            };
            format!("{} = {what}", spec.name)
        })
        .collect();
    let text = format!("carry {carry}\n{map:?}\n{}", reducers.join("\n"));
    vec![crate::checkpoint::job_hash(&secrets::redact(&text))]
}

/// What the last successful run left, as the start of this one.
fn incremental_start(
    job: &Job,
    state: &JobState,
) -> Result<Option<IncrementalStart>, TrackedError> {
    let Some(spec) = &job.source.incremental else {
        return Ok(None);
    };
    let spec = spec.get_ref();
    let first = IncrementalStart {
        since: spec.start.clone(),
        previous: Arc::new(PreviousMark::from_start(spec.start.as_deref())),
        ..IncrementalStart::default()
    };
    let Some(persisted) = state.read_json::<Persisted>(INCREMENTAL_FILE)? else {
        return Ok(Some(first));
    };
    let damaged = |message: String| TrackedError::Incremental {
        job: job.name.clone(),
        message,
    };
    // Only the environment is compared: an edited file keeps its mark (the `field`, `param`
    // and reducer checks below decide what of it is used).
    if let Some(saved) = &persisted.identity
        && let Some(change) = identity_in(job, state)?.change_from(saved, false)
    {
        return Err(TrackedError::Identity {
            job: job.name.clone(),
            change,
            path: state.dir().join(INCREMENTAL_FILE),
        });
    }
    let mut states = persisted
        .states
        .iter()
        .map(|text| unhex(text))
        .collect::<Option<Vec<Vec<u8>>>>()
        .ok_or_else(|| damaged("a state is not hex".into()))?;
    let mark_bytes = states
        .pop()
        .ok_or_else(|| damaged("the mark's state is missing".into()))?;
    let mark: MarkState = serde_json::from_slice(&mark_bytes)
        .map_err(|error| damaged(format!("the mark's state is damaged: {error}")))?;
    let afresh = |what: &str| {
        Ok(Some(IncrementalStart {
            note: Some(format!(
                "{what} changed since the last run, so what it kept is not used: this run \
                 fetched everything again"
            )),
            ..first.clone()
        }))
    };
    if persisted.mark_of != mark_fingerprint(job) {
        return afresh("the incremental `field` or `param`");
    }
    if spec.carry && persisted.reducers != fingerprint(job) {
        return afresh("the reducers, `map` or `carry`");
    }
    let since = match &mark.max {
        Some((_, raw)) => {
            Some(
                since_value(raw, spec.lag).map_err(|message| TrackedError::Lag {
                    job: job.name.clone(),
                    message,
                })?,
            )
        }
        None => spec.start.clone(),
    };
    Ok(Some(IncrementalStart {
        since,
        previous: Arc::new(mark.previous(spec.lag)),
        reducer_states: spec.carry.then_some(states),
        mark_state: Some(mark.for_next_run()),
        note: None,
    }))
}

fn entry_for(
    job: &Job,
    stamp: &RunStamp,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    result: &Result<RunReport, TrackedError>,
) -> HistoryEntry {
    let mut entry = HistoryEntry {
        run_id: stamp.run_id.clone(),
        job: job.name.clone(),
        trigger,
        scheduled_for,
        started,
        ended: Utc::now(),
        status: Status::Failed,
        pages: 0,
        records: 0,
        requests: 0,
        retries: 0,
        output: None,
        error: None,
        warnings: Vec::new(),
    };
    match result {
        Ok(report) => {
            entry.status = if report.document.skipped.is_empty() {
                Status::Ok
            } else {
                Status::Partial
            };
            entry.pages = report.document.pages;
            entry.records = report.document.records;
            entry.requests = report.document.stats.requests;
            entry.retries = report.document.stats.retries;
            entry.output = report.written_to.clone();
            entry.warnings = report.document.warnings.clone();
            entry.warnings.extend(
                report
                    .document
                    .skipped
                    .iter()
                    .map(|page| format!("skipped `{}`: {}", page.url, page.reason)),
            );
        }
        Err(error) => {
            match error {
                TrackedError::Run(RunError::Interrupted { .. }) => {
                    entry.status = Status::Interrupted;
                }
                TrackedError::Busy { .. } => entry.status = Status::Skipped,
                _ => {}
            }
            let hint = error
                .hint()
                .map(|hint| format!("\nhint: {hint}"))
                .unwrap_or_default();
            entry.error = Some(secrets::redact(&format!("{}{hint}", error_chain(error))));
        }
    }
    entry
}

/// The error and its causes on one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}
