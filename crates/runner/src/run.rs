//! Running a job: reducers first (a bad plugin fails before any request), then fetching on a
//! tokio runtime into a bounded channel that reduce worker threads drain, then the merge and
//! the result document.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pagefold_fetch::{FetchError, FetchSummary, Fetcher, OnError};

use crate::job::{Job, OnErrorSpec};
use crate::output::{ResultDocument, RunStats, Skipped, write_atomically};
use crate::progress::Progress;
use crate::reduce::{ReduceError, Reducers, WorkerPool};

/// How to run a job, from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Reduce worker threads; overrides the job; default: the number of cores.
    pub workers: Option<usize>,
    /// Where to write the result; overrides the job's `[output]`.
    pub output: Option<PathBuf>,
    /// Whether to draw the progress bar (it is hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

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
}

/// Why a run failed. Nothing was written when it did.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A reducer could not be set up or failed.
    #[error(transparent)]
    Reduce(#[from] ReduceError),
    /// Fetching failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The result could not be written.
    #[error("cannot write the result to `{}`", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

fn round_ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Runs `job` to its end and writes the result (to the output file, or returns it for stdout).
///
/// # Errors
///
/// See [`RunError`]; on any error no output file is written.
pub fn run(job: &Job, options: &RunOptions) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let reducers = Arc::new(Reducers::build(&job.reduce)?);
    let mut options_for_fetch = job.fetch.to_fetch();
    options_for_fetch.on_error = match job.on_error {
        OnErrorSpec::Fail => OnError::Fail,
        OnErrorSpec::Skip => OnError::Skip,
    };
    let fetcher = Fetcher::new(options_for_fetch)?;
    let source = job.source.to_fetch();
    let workers = options
        .workers
        .or(job.fetch.workers.as_ref().map(|w| *w.get_ref()))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .clamp(1, 256);
    // A few pages per worker in the channel keep workers busy; more would only hold memory.
    let (pages, received) = async_channel::bounded(workers * 4);
    let pool = WorkerPool::start(reducers, workers, received)?;
    let progress = Progress::new(options.progress);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    // `pages` moves into the fetch and is dropped when it ends, which lets the workers finish.
    let fetched = runtime.block_on(fetcher.run(&source, 0, pages, &progress));
    let reduced = pool.finish();
    progress.finish();
    let summary = match (fetched, reduced) {
        // A worker that failed closed the channel; its error is the cause.
        (Err(FetchError::ConsumerGone), Err(reduce)) | (Ok(_), Err(reduce)) => {
            return Err(reduce.into());
        }
        (Err(fetch), _) => return Err(fetch.into()),
        (Ok(summary), Ok(merged)) => (summary, merged),
    };
    let (summary, merged) = summary;
    let document = ResultDocument {
        job: job.name.clone(),
        pages: summary.pages,
        records: summary.records,
        reducers: merged.values,
        warnings: summary.warnings.clone(),
        skipped: summary
            .skipped
            .iter()
            .map(|page| Skipped {
                url: page.url.clone(),
                reason: page.reason.clone(),
            })
            .collect(),
        stats: RunStats {
            requests: summary.requests,
            retries: summary.retries,
            waited_seconds: round_ms(summary.waited),
            bytes: summary.bytes,
            seconds: round_ms(started.elapsed()),
            sequential_seconds: round_ms(summary.request_time),
            waited_on_reducers_seconds: round_ms(summary.consumer_wait),
        },
    };
    let output = options
        .output
        .clone()
        .or_else(|| job.output.as_ref().map(|o| o.path.clone()));
    if let Some(path) = &output {
        write_atomically(path, &document.to_json()).map_err(|source| RunError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(RunReport {
        document,
        summary,
        wall: started.elapsed(),
        written_to: output,
    })
}
