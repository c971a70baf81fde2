//! `pagefold merge`: the parts of a sharded run merged into its result, written where the
//! job's `[output]` (or `-o`) says, as a run writes its own.

use std::time::Instant;

use pagefold_fetch::FetchSummary;

use super::{RunError, RunOptions, RunReport};
use crate::engine::reduce::Reducers;
use crate::job::Job;
use crate::output::RunStamp;
use crate::shard::merge::{MergeRequest, gather, merge};

/// Merges the parts `request` names and writes the result.
///
/// # Errors
///
/// A part missing (after `request.wait`), damaged, or of another job, run, split or plugin;
/// a reducer that fails; a result that cannot be written.
pub fn merge_parts(
    job: &Job,
    options: &RunOptions,
    request: &MergeRequest<'_>,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let reducers = Reducers::build(&job.reduce)?;
    let parts = gather(job, &reducers, request)?;
    let document = merge(job, &reducers, &parts, request.run_id)?;
    let mut stamp = options
        .stamp
        .clone()
        .unwrap_or_else(|| RunStamp::new(&job.name, chrono::Utc::now(), job.timezone));
    // The merged result is the run's: its output path and database rows carry the run id.
    request.run_id.clone_into(&mut stamp.run_id);
    let (written_to, format) = super::write(job, options, &stamp, &document)?;
    let summary = FetchSummary {
        pages: document.pages,
        records: document.records,
        requests: document.stats.requests,
        retries: document.stats.retries,
        bytes: document.stats.bytes,
        ..FetchSummary::default()
    };
    Ok(RunReport {
        document,
        summary,
        wall: started.elapsed(),
        written_to,
        format,
        stamp,
        incremental: None,
        database: None,
        part: None,
    })
}
