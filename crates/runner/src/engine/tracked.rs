//! A run kept track of in the job's state folder: its incremental mark and carried states
//! read before and saved after a successful run (never after a failed one), and an entry in
//! its history whatever happens. `pagefold run` and the scheduler both run jobs this way.

use chrono::{DateTime, Utc};

use crate::engine::incremental::{incremental_start, keep_incremental};
use crate::engine::name_claim::claim_name;
use crate::engine::run::{RunOptions, RunReport, run};
use crate::engine::tracked_entry::entry_for;
pub use crate::engine::tracked_error::TrackedError;
use crate::job::Job;
use crate::output::RunStamp;
use crate::output::database::RunRecord;
use crate::output::database::pending::{self, deliver};
use crate::secrets;
use crate::state::history::{HistoryEntry, Status, Trigger};
use crate::state::marker::Abandoned;
use crate::state::{JobState, StateError};

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
    /// Earlier runs of the job found killed (their process gone, their marker left): each
    /// now in the history as `interrupted`.
    pub abandoned: Vec<Abandoned>,
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
                let _ = std::fs::remove_file(crate::engine::checkpoint::path_for(
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
        abandoned: Vec::new(),
    }
}

/// Records in the history the runs of the job whose process died under them (their marker
/// left unlocked): each as `interrupted`.
pub fn record_abandoned(state: &JobState) -> Vec<Abandoned> {
    let abandoned = state.abandoned_runs();
    for run in &abandoned {
        if let Err(error) = state.append(&run.entry) {
            tracing::warn!("{}", crate::terminal::failure::one_line(&error));
        }
    }
    abandoned
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
    // One run of a job at a time, whichever process starts it, as the README says: runs of
    // a job share its mark and carried states, the scheduler's checkpoint, its `running`
    // records and its result files, and two at once would mix them.
    let lock = match state.lock() {
        Ok(Some(lock)) => lock,
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
    // A job is its name within a state folder: another job file of the same name would mix
    // its history, marks and checkpoints with this one's.
    if let Err(failure) = claim_name(job, state) {
        return record_failure(job, state, &stamp, trigger, scheduled_for, started, failure);
    }
    // Before this run leaves its own trace: the traces of earlier runs that were killed.
    let abandoned = record_abandoned(state);
    let marker = state
        .mark_running(&stamp.run_id, &job.name, trigger, scheduled_for, started)
        .inspect_err(|error| tracing::warn!("{}", crate::terminal::failure::one_line(error)))
        .ok();
    // The state folder's checkpoint is the scheduler's, for a run a stop interrupted, and is
    // resumed first: one still there when another scheduled run starts is stale (its run
    // failed, or the job changed), and must not be mixed into this run.
    let state_checkpoint = crate::engine::checkpoint::path_for(&state.checkpoint_dir(), &job.name);
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
        let mut tracked =
            record_failure(job, state, &stamp, trigger, scheduled_for, started, failure);
        tracked.abandoned = abandoned;
        return tracked;
    }
    let result = incremental_start(job, state)
        .map_err(TrackedError::from)
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
    let (result, entry) = write_database(job, &options, Some(state), result, entry);
    keep_result(state, &entry, &result);
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
    // Its entry is in: the run's trace goes.
    drop(marker);
    drop(lock);
    Tracked {
        result,
        entry,
        history_error,
        abandoned,
    }
}

/// Keeps the run's result document beside its history entry (for `history --show`; the job
/// file behind the name was recorded at the start, see `name_claim`). It does not fail the
/// run: the result itself went where the job says.
fn keep_result(state: &JobState, entry: &HistoryEntry, result: &Result<RunReport, TrackedError>) {
    if let Ok(report) = result
        && let Err(error) = state.save_result(&entry.run_id, &report.document.to_json())
    {
        tracing::warn!("{}", crate::terminal::failure::one_line(&error));
    }
}

/// Runs `job` without a state folder (there is none to be had, and the job needs none): its
/// entry is made as for a tracked run, for metrics and alerts, but written nowhere.
pub fn run_stateless(job: &Job, options: RunOptions) -> Tracked {
    stateless(job, options, |options| run(job, options))
}

/// Merges the parts of a sharded run without a state folder, into the job's output as a
/// stateless run writes its result (a database included).
pub fn merge_stateless(
    job: &Job,
    options: RunOptions,
    request: &crate::shard::merge::MergeRequest<'_>,
) -> Tracked {
    stateless(job, options, |options| {
        crate::engine::run::merge_parts(job, options, request)
    })
}

fn stateless(
    job: &Job,
    mut options: RunOptions,
    work: impl FnOnce(&RunOptions) -> Result<RunReport, crate::engine::run::RunError>,
) -> Tracked {
    let started = Utc::now();
    let stamp = stamp_of(job, &options, started);
    options.stamp = Some(stamp.clone());
    let result = work(&options).map_err(TrackedError::from);
    let entry = entry_for(job, &stamp, Trigger::Manual, None, started, &result);
    let (result, entry) = write_database(job, &options, None, result, entry);
    Tracked {
        result,
        entry,
        history_error: None,
        abandoned: Vec::new(),
    }
}

/// The output step of `[output] url`, after a run that produced a result: the results kept
/// by earlier runs, then this one's, into the database. When the database does not take it,
/// the run fails (its result kept in the state folder for the next run) and its entry says
/// so; `-o` (a file or stdout instead of the job's `[output]`) writes no rows.
fn write_database(
    job: &Job,
    options: &RunOptions,
    state: Option<&JobState>,
    result: Result<RunReport, TrackedError>,
    mut entry: HistoryEntry,
) -> (Result<RunReport, TrackedError>, HistoryEntry) {
    let spec = job
        .output
        .as_ref()
        .and_then(|output| output.database.as_ref())
        // A shard's result is its part: the merge writes the rows.
        .filter(|_| options.output.is_none() && !options.stdout && options.shard.is_none());
    let (mut report, spec) = match (result, spec) {
        (Ok(report), Some(spec)) => (report, spec),
        (result, _) => return (result, entry),
    };
    let record = RunRecord {
        job: entry.job.clone(),
        run_id: entry.run_id.clone(),
        trigger: entry.trigger.as_str().to_owned(),
        scheduled_for: entry.scheduled_for,
        started: entry.started,
        ended: entry.ended,
        status: entry.status.as_str().to_owned(),
        pages: entry.pages,
        records: entry.records,
        requests: entry.requests,
        retries: entry.retries,
        warnings: entry.warnings.clone(),
        result: RunRecord::result_json(&report.document),
        reducers: report.document.reducers.clone(),
    };
    let folder = state.map(|state| state.dir().join(pending::FOLDER));
    let delivery = deliver(spec, folder.as_deref(), &record);
    entry.late_writes = delivery.late;
    if !entry.late_writes.is_empty() {
        tracing::info!(
            "wrote the kept results of {} to the database",
            entry.late_writes.join(", ")
        );
    }
    match delivery.failure {
        None => {
            report.database = Some(spec.url.shown());
            entry.database.clone_from(&report.database);
            (Ok(report), entry)
        }
        Some(failure) => {
            let failure = TrackedError::Database(Box::new(failure));
            entry.status = Status::Failed;
            entry.error = Some(secrets::redact(&format!(
                "{}\nhint: {}",
                crate::terminal::failure::one_line(&failure),
                failure.hint().unwrap_or_default()
            )));
            (Err(failure), entry)
        }
    }
}
