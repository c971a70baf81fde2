//! A job is its name within a state folder: the job file a run of a name comes from is
//! recorded (`job.json`), and a run of another job file of the same name, while the first
//! still exists and still has that name, is refused with both files named. A job file moved
//! or renamed takes its name over.

use std::path::Path;

use super::tracked_error::TrackedError;
use crate::job::Job;
use crate::state::{JobRecord, JobState, StateDir};

/// The state folder a job's folder (`STATE/jobs/NAME`) is in.
fn root_of(state: &JobState) -> Option<&Path> {
    state.dir().parent()?.parent()
}

/// Whether the job `name` keeps its state in `state`'s folder (names that differ only in
/// what a folder name cannot hold share one).
fn holds(state: &JobState, name: &str) -> bool {
    root_of(state)
        .and_then(|root| StateDir::open(Some(root)).ok())
        .is_some_and(|dir| dir.job(name).dir() == state.dir())
}

/// Records this run's job file as the one behind its name, unless another job file that
/// still exists, and still has that name, is recorded.
pub(super) fn claim_name(job: &Job, state: &JobState) -> Result<(), TrackedError> {
    let ours = std::path::absolute(&job.path).unwrap_or_else(|_| job.path.clone());
    if let Some(record) = state.job_record()
        && !same_file(&record.file, &ours)
        && Job::load(&record.file).is_ok_and(|theirs| holds(state, &theirs.name))
    {
        return Err(TrackedError::NameTaken {
            job: job.name.clone(),
            theirs: record.file,
            ours,
            folder: root_of(state).unwrap_or(state.dir()).to_owned(),
        });
    }
    let record = job_record(job, ours);
    if let Err(error) = state.set_job_record(&record) {
        tracing::warn!("{}", crate::terminal::failure::one_line(&error));
    }
    Ok(())
}

/// Whether two paths name one file (a link, `./job.toml` and `job.toml`).
fn same_file(one: &Path, other: &Path) -> bool {
    one == other
        || matches!(
            (std::fs::canonicalize(one), std::fs::canonicalize(other)),
            (Ok(one), Ok(other)) if one == other
        )
}

fn job_record(job: &Job, file: std::path::PathBuf) -> JobRecord {
    JobRecord {
        file,
        cron: job
            .schedule
            .as_ref()
            .map(|schedule| schedule.expression.clone()),
        timezone: Some(job.timezone.name().to_owned()),
    }
}
