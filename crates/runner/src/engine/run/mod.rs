//! Running a job, in four steps along the data flow: [`prepare`] (reducers first, so a bad
//! plugin fails before any request; the fetcher, the chains, what to resume from), [`fetch_reduce`]
//! (fetching on a tokio runtime into a bounded channel that reduce worker threads drain, then
//! the merge), [`assemble`] (the result document) and writing it. With
//! [`RunOptions::trace`], the run is recorded on the way and its trace written at the end,
//! whether it succeeded or not (see [`crate::trace`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pagefold_fetch::FetchSummary;

use crate::engine::incremental::IncrementalEnd;
use crate::job::Job;
use crate::output::{OutputFormat, ResultDocument, RunStamp, write_output};
use crate::trace::Trace;

mod assemble;
mod children;
pub(crate) mod covered;
pub(crate) mod error;
mod fetch_reduce;
mod merged;
pub(crate) mod options;
mod part;
mod prepare;
mod signals;
mod warnings;

pub use error::RunError;
pub use merged::merge_parts;
pub use options::RunOptions;
pub use signals::{Stop, StopSender, stop_channel};

/// What a successful run produced.
#[derive(Debug)]
pub struct RunReport {
    /// The result.
    pub document: ResultDocument,
    /// What fetching did.
    pub summary: FetchSummary,
    /// How long the run took.
    pub wall: Duration,
    /// Where the result was written, if not to stdout.
    pub written_to: Option<PathBuf>,
    /// The format it was written in (or is to be printed in).
    pub format: OutputFormat,
    /// The run's id and start.
    pub stamp: RunStamp,
    /// For an incremental job: what the next run starts from.
    pub incremental: Option<IncrementalEnd>,
    /// The database the result was written to (`[output] url`, its password hidden), once
    /// it has been.
    pub database: Option<String>,
    /// A shard's run: where its part was written (instead of the result).
    pub part: Option<String>,
}

/// Runs `job` to its end and writes the result (to the output file, or returns it for stdout).
///
/// # Errors
///
/// See [`RunError`]; on any error no output file is written.
pub fn run(job: &Job, options: &RunOptions) -> Result<RunReport, RunError> {
    let Some(path) = &options.trace else {
        return run_traced(job, options, None);
    };
    let trace = Arc::new(Trace::new(&job.name));
    let outcome = run_traced(job, options, Some(&trace));
    trace.set_totals(totals(job, &outcome, trace.started.elapsed()));
    if let Err(error) = trace.write(path) {
        crate::terminal::warn(&format!(
            "the trace could not be written to `{}`: {error}",
            path.display()
        ));
    }
    outcome
}

/// The run's totals for the trace's `otherData`: what `pagefold report` shows of where the
/// time went.
fn totals(job: &Job, outcome: &Result<RunReport, RunError>, wall: Duration) -> serde_json::Value {
    let mut totals = serde_json::json!({
        "wall_us": wall.as_micros() as u64,
        "concurrency": job.fetch.concurrency(),
    });
    match outcome {
        Ok(report) => {
            let summary = &report.summary;
            totals["status"] = "ok".into();
            totals["run_id"] = report.stamp.run_id.clone().into();
            totals["pages"] = summary.pages.into();
            totals["records"] = summary.records.into();
            totals["requests"] = summary.requests.into();
            totals["retries"] = summary.retries.into();
            totals["bytes"] = summary.bytes.into();
            totals["request_us"] = (summary.request_time.as_micros() as u64).into();
            totals["waited_us"] = (summary.waited().as_micros() as u64).into();
            totals["consumer_wait_us"] = (summary.consumer_wait.as_micros() as u64).into();
        }
        Err(error) => {
            totals["status"] = "failed".into();
            totals["error"] = error.to_string().into();
        }
    }
    totals
}

fn run_traced(
    job: &Job,
    options: &RunOptions,
    trace: Option<&Arc<Trace>>,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let mut prepared = prepare::Prepared::new(job, options)?;
    let fetched = fetch_reduce::fetch_and_reduce(job, options, &mut prepared, trace)?;
    let assembled = assemble::assemble(job, &prepared, fetched, started)?;
    let stamp = prepared.stamp.clone();
    let (written_to, format, part) = match &options.shard {
        Some(shard) => {
            let part = part::write(job, &prepared, &assembled, shard)?;
            (None, OutputFormat::Json, Some(part))
        }
        None => {
            let (written_to, format) = write(job, options, &stamp, &assembled.document)?;
            (written_to, format, None)
        }
    };
    prepared.checkpoints.finished()?;
    Ok(RunReport {
        document: assembled.document,
        summary: assembled.summary,
        wall: started.elapsed(),
        written_to,
        format,
        stamp,
        incremental: assembled.incremental,
        database: None,
        part,
    })
}

/// Writes the result where the command line or the job's `[output]` says, atomically; the
/// file and format, or no file (stdout) and the format to print in.
pub(crate) fn write(
    job: &Job,
    options: &RunOptions,
    stamp: &RunStamp,
    document: &ResultDocument,
) -> Result<(Option<PathBuf>, OutputFormat), RunError> {
    let output = options
        .output
        .clone()
        .or_else(|| job.output.as_ref().and_then(|o| o.path_for(stamp)))
        .filter(|_| !options.stdout);
    let format = match (&options.output, &job.output) {
        (Some(path), _) => OutputFormat::from_extension(&path.to_string_lossy()),
        (None, Some(spec)) => spec.format,
        (None, None) => OutputFormat::Json,
    };
    if let Some(path) = &output {
        write_output(path, &document.render(format)).map_err(|source| RunError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok((output, format))
}
