//! Running a job: reducers first (a bad plugin fails before any request), then fetching on a
//! tokio runtime into a bounded channel that reduce worker threads drain, then the merge and
//! the result document.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pagefold_fetch::{FetchError, FetchSummary, Fetcher, OnError, Resume};

use crate::engine::checkpoint::Checkpoint;
use crate::engine::incremental::{IncrementalEnd, MarkState};
use crate::engine::reduce::{Reducers, Work, WorkerPool};
use crate::job::{Assignment, Job, OnErrorSpec};
use crate::output::{
    IncrementalResult, OutputFormat, ParentResult, PartitionResult, ResultDocument, RunStamp,
    RunStats, Skipped, write_atomically,
};
use crate::secrets;
use crate::terminal::progress::Progress;

mod children;
pub(crate) mod error;
pub(crate) mod options;
mod signals;

use crate::engine::checkpoint::during_run::Checkpoints;
use children::Children;
pub use error::RunError;
pub use options::RunOptions;
use signals::Signals;
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
}

/// Fetches every chain (partition), at most `concurrency` chains at a time, all under the
/// fetcher's one concurrency limit. The first chain that fails stops them all.
async fn fetch_chains(
    fetcher: &Fetcher,
    chains: &[(Assignment, pagefold_fetch::Source)],
    work: &async_channel::Sender<Work>,
    progress: &Progress,
    resumes: &[Resume],
    concurrency: usize,
) -> Result<Vec<FetchSummary>, FetchError> {
    use futures_util::{StreamExt, TryStreamExt};
    let runs =
        chains
            .iter()
            .zip(resumes)
            .enumerate()
            .map(|(chain, ((_, source), resume))| async move {
                fetcher
                    .run(source, chain as u32, work.clone(), progress, resume)
                    .await
                    .map(|summary| (chain, summary))
            });
    let mut summaries: Vec<(usize, FetchSummary)> = futures_util::stream::iter(runs)
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    summaries.sort_by_key(|(chain, _)| *chain);
    Ok(summaries.into_iter().map(|(_, summary)| summary).collect())
}

/// Runs the fetch to its end, saving checkpoints on the way, unless a signal stops it.
async fn drive(
    fetch: impl Future<Output = Result<Vec<FetchSummary>, FetchError>>,
    pool: &WorkerPool,
    work: &async_channel::Sender<Work>,
    checkpoints: &Checkpoints,
    stop: Option<Stop>,
) -> Result<Vec<FetchSummary>, RunError> {
    // A zero interval would make tokio's timer panic; no checkpoint is worth more than 100 a second.
    let every = checkpoints
        .every
        .unwrap_or(Duration::from_secs(3600))
        .max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    // Made once, before the loop: a signal that arrives while a checkpoint is being saved
    // waits in the stream instead of being lost.
    let mut signals = Signals::new(stop).map_err(RunError::Runtime)?;
    tokio::pin!(fetch);
    loop {
        tokio::select! {
            fetched = &mut fetch => return fetched.map_err(RunError::Fetch),
            _ = ticker.tick(), if checkpoints.enabled() => checkpoints.save(pool, work).await?,
            signal = signals.next() => {
                let checkpoint = checkpoints.enabled().then(|| checkpoints.path.clone());
                return Err(RunError::Interrupted { signal, checkpoint });
            }
        }
    }
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
    let stamp = options
        .stamp
        .clone()
        .unwrap_or_else(|| RunStamp::new(&job.name, chrono::Utc::now(), job.timezone));
    let mut reducers = Reducers::build(&job.reduce)?;
    reducers.set_map(job.source.map.as_ref().map(|map| map.get_ref().clone()));
    let start = options.incremental.clone().unwrap_or_default();
    if let Some(spec) = &job.source.incremental {
        crate::engine::incremental::attach(&mut reducers, spec.get_ref(), start.previous.clone());
    }
    let reducers = Arc::new(reducers);
    let mut options_for_fetch = job.fetch.to_fetch();
    options_for_fetch.on_error = match job.on_error {
        OnErrorSpec::Fail => OnError::Fail,
        OnErrorSpec::Skip => OnError::Skip,
    };
    let fetcher = Fetcher::new(options_for_fetch)?;
    let mut chains = job.source.chains();
    if let (Some(spec), Some(since)) = (&job.source.incremental, &start.since) {
        for (_, source) in &mut chains {
            source
                .query
                .push((spec.get_ref().param.clone(), since.clone()));
        }
    }
    let workers = options
        .workers
        .or(job.fetch.workers.as_ref().map(|w| *w.get_ref()))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .clamp(1, 256);
    // Pages arrive in bursts now that requests run on tasks of their own: 16 a worker absorb
    // them (bench scenario 3b: with 4, fetching waited on reducers for 9% of the run; with
    // 16, 1-3%, at the same peak RSS).
    let (work, received) = async_channel::bounded(workers * 16);
    let checkpoints = Checkpoints::open(job, options, &reducers)?;
    let restored = match &checkpoints.resumed {
        Some(checkpoint) => Some(reducers.restore(&checkpoint.states(&checkpoints.path)?)?),
        None => start.restored(&reducers)?,
    };
    let done = checkpoints
        .resumed
        .as_ref()
        .map(Checkpoint::done_by_chain)
        .unwrap_or_default();
    let resumes: Vec<Resume> = (0..chains.len() as u32)
        .map(|chain| {
            checkpoints
                .resumed
                .as_ref()
                .map_or_else(Resume::default, |checkpoint| Resume {
                    done: done.get(&chain).cloned().unwrap_or_default(),
                    // Totals are checked per chain only when there is one chain.
                    records: if chains.len() == 1 {
                        checkpoint.records
                    } else {
                        0
                    },
                })
        })
        .collect();
    let pool = WorkerPool::start(reducers.clone(), workers, received, restored)?;
    let progress = Progress::new(options.progress);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let parent_summary: std::sync::Mutex<Option<FetchSummary>> = std::sync::Mutex::new(None);
    let fetched = runtime.block_on(async {
        let concurrency = *job.fetch.concurrency.get_ref();
        let fetch = async {
            match &job.child {
                None => {
                    fetch_chains(&fetcher, &chains, &work, &progress, &resumes, concurrency).await
                }
                Some(child) => {
                    let children = Children {
                        job,
                        child,
                        reducers: &reducers,
                        done: &done,
                    };
                    let (parents, children) = children
                        .fetch(&fetcher, &chains, &work, &progress, concurrency)
                        .await?;
                    *parent_summary.lock().expect("no panics while locked") = Some(parents);
                    Ok(children)
                }
            }
        };
        let outcome = drive(fetch, &pool, &work, &checkpoints, options.stop.clone()).await;
        if let Err(RunError::Interrupted { .. }) = &outcome
            && checkpoints.enabled()
        {
            // Stopped by a signal: what the workers have (they fold what is queued first)
            // is saved, so the same command resumes from here.
            checkpoints.save(&pool, &work).await?;
        }
        outcome
    });
    // The workers finish once every sender of work is gone.
    drop(work);
    let reduced = pool.finish();
    progress.finish();
    let fetched = match fetched {
        Err(RunError::Fetch(error)) => Err(error),
        Err(other) => return Err(other),
        Ok(summary) => Ok(summary),
    };
    let summary = match (fetched, reduced) {
        // A worker that failed closed the channel; its error is the cause.
        (Err(FetchError::ConsumerGone), Err(reduce)) | (Ok(_), Err(reduce)) => {
            return Err(reduce.into());
        }
        (Err(fetch), _) => return Err(fetch.into()),
        (Ok(summaries), Ok(merged)) => (summaries, merged),
    };
    let (summaries, mut merged) = summary;
    let incremental = match &job.source.incremental {
        Some(spec) => Some((spec.get_ref(), MarkState::take_from(&mut merged.values)?)),
        None => None,
    };
    let parent = parent_summary
        .into_inner()
        .expect("no panics while locked")
        .map(|parents| ParentResult {
            pages: parents.pages,
            records: parents.records,
            warnings: parents.warnings,
        });
    let partitions: Vec<PartitionResult> = if job.source.partitions.is_some() && job.child.is_none()
    {
        chains
            .iter()
            .zip(&summaries)
            .map(|((assignment, _), summary)| PartitionResult {
                values: assignment.iter().cloned().collect(),
                pages: summary.pages,
                records: summary.records,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut summary = FetchSummary::default();
    for chain in summaries {
        summary.absorb(chain);
    }
    let (pages_before, records_before) = checkpoints
        .resumed
        .as_ref()
        .map_or((0, 0), |checkpoint| (checkpoint.pages, checkpoint.records));
    let seen_before = incremental.as_ref().map_or(0, |(_, mark)| mark.seen_again);
    let below_since = incremental.as_ref().map_or(0, |(_, mark)| mark.below_since);
    let mut warnings: Vec<String> = start.note.iter().cloned().collect();
    if let (Some((spec, _)), true) = (&incremental, below_since > 0) {
        warnings.push(format!(
            "{below_since} records older than what was asked for (`{}` = {}) came back and were \
             not folded: does the API filter on `{}`?",
            spec.param,
            start.since.as_deref().unwrap_or("-"),
            spec.param
        ));
    }
    warnings.extend(summary.warnings.iter().map(|w| secrets::redact(w)));
    let document = ResultDocument {
        job: job.name.clone(),
        pages: summary.pages + pages_before,
        records: (summary.records + records_before).saturating_sub(seen_before + below_since),
        reducers: merged.values,
        warnings,
        partitions,
        incremental: incremental.as_ref().map(|(spec, mark)| IncrementalResult {
            since: start.since.clone(),
            mark: mark
                .max
                .as_ref()
                .and_then(|(_, raw)| serde_json::from_str(raw).ok()),
            seen_before,
            older_than_since: below_since,
            carried: spec.carry && start.reducer_states.is_some(),
        }),
        parent,
        skipped: summary
            .skipped
            .iter()
            .map(|page| Skipped {
                url: secrets::redact(&page.url),
                reason: secrets::redact(&page.reason),
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
        .or_else(|| job.output.as_ref().map(|o| o.path_for(&stamp)));
    let format = match (&options.output, &job.output) {
        (Some(path), _) => OutputFormat::from_extension(&path.to_string_lossy()),
        (None, Some(spec)) => spec.format,
        (None, None) => OutputFormat::Json,
    };
    if let Some(path) = &output {
        write_atomically(path, &document.render(format)).map_err(|source| RunError::Write {
            path: path.clone(),
            source,
        })?;
    }
    checkpoints.finished()?;
    Ok(RunReport {
        document,
        summary,
        wall: started.elapsed(),
        written_to: output,
        format,
        stamp,
        incremental: incremental.map(|(_, mark)| IncrementalEnd {
            states: merged.states.unwrap_or_default(),
            mark: mark.max.map(|(_, raw)| raw),
        }),
    })
}
