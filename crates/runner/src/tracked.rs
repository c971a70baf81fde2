//! A run kept track of in the job's state folder: its incremental mark and carried states
//! read before and saved after a successful run (never after a failed one), and an entry in
//! its history whatever happens. `pagefold run` and the scheduler both run jobs this way.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::checkpoint::{hex, unhex};
use crate::history::{HistoryEntry, Status, Trigger};
use crate::incremental::{IncrementalStart, MarkState, Persisted, since_value};
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

/// Runs `job` with its state: see the module's documentation.
pub fn run_tracked(
    job: &Job,
    mut options: RunOptions,
    state: &JobState,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
) -> Tracked {
    let started = Utc::now();
    let stamp = options
        .stamp
        .clone()
        .unwrap_or_else(|| RunStamp::new(&job.name, started, job.timezone));
    options.stamp = Some(stamp.clone());
    let result = incremental_start(job, state)
        .and_then(|start| {
            options.incremental = start;
            run(job, &options).map_err(TrackedError::from)
        })
        .and_then(|report| {
            if let Some(end) = &report.incremental {
                let persisted = Persisted {
                    reducers: fingerprint(job),
                    states: end.states.iter().map(|state| hex(state)).collect(),
                    mark: end.mark.clone(),
                };
                state.write_json(INCREMENTAL_FILE, &persisted)?;
            }
            Ok(report)
        });
    let entry = entry_for(job, &stamp, trigger, scheduled_for, started, &result);
    let history_error = state.append(&entry).err();
    Tracked {
        result,
        entry,
        history_error,
    }
}

/// What each job reducer is: carried states of other reducers are not used.
fn fingerprint(job: &Job) -> Vec<String> {
    job.reduce
        .iter()
        .map(|spec| format!("{} = {:?}", spec.name, spec.reducer))
        .collect()
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
        ..IncrementalStart::default()
    };
    let Some(persisted) = state.read_json::<Persisted>(INCREMENTAL_FILE)? else {
        return Ok(Some(first));
    };
    let damaged = |message: String| TrackedError::Incremental {
        job: job.name.clone(),
        message,
    };
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
    let reducers_changed = persisted.reducers != fingerprint(job);
    if spec.carry && reducers_changed {
        return Ok(Some(IncrementalStart {
            note: Some(
                "the reducers changed since the last run, so their states are not carried: \
                 this run fetched everything again"
                    .into(),
            ),
            ..first
        }));
    }
    let since = match &mark.max {
        Some((_, raw)) => Some(since_value(raw, spec.lag).map_err(damaged)?),
        None => spec.start.clone(),
    };
    Ok(Some(IncrementalStart {
        since,
        previous: Arc::new(mark.previous()),
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
        }
        Err(error) => {
            if matches!(error, TrackedError::Run(RunError::Interrupted { .. })) {
                entry.status = Status::Interrupted;
            }
            entry.error = Some(secrets::redact(&error_chain(error)));
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
