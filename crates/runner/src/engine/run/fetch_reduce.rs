//! Fetching and reducing side by side: the chains (or parents and children) fetched on a tokio
//! runtime into the bounded channel that the reduce workers drain, checkpoints saved on the
//! way, a signal or a stop obeyed; then the workers' states merged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pagefold_fetch::{FetchError, FetchObserver, FetchSummary, Fetcher, Resume};

use super::children::Children;
use super::prepare::Prepared;
use super::signals::Signals;
use super::{RunError, RunOptions, Stop};
use crate::engine::checkpoint::during_run::Checkpoints;
use crate::engine::reduce::{Merged, Work, WorkerPool};
use crate::job::{Assignment, Job};
use crate::terminal::progress::Progress;
use crate::trace::sampler::Sampler;
use crate::trace::{Role, Trace, Traced};

/// What fetching and reducing gave.
pub(super) struct Fetched {
    /// Per chain (partition, or child), what fetching did, in chain order.
    pub(super) summaries: Vec<FetchSummary>,
    /// Per chain, where it is in the job (`partition repo=a/b`, `the child chain of parent
    /// id=7`), to say where a warning comes from; empty for the one chain of a plain job.
    pub(super) places: Vec<String>,
    /// With `[child]`: what fetching the parents did.
    pub(super) parents: Option<FetchSummary>,
    /// The reducers' merged values (and states, for an incremental job).
    pub(super) merged: Merged,
}

/// Fetches every chain into the workers until the end, a failure or a stop; then merges.
pub(super) fn fetch_and_reduce(
    job: &Job,
    options: &RunOptions,
    prepared: &mut Prepared,
    trace: Option<&Arc<Trace>>,
) -> Result<Fetched, RunError> {
    let restored = prepared.restored.take();
    let Prepared {
        reducers,
        fetcher,
        chains,
        placement,
        checkpoints,
        done,
        resumes,
        keys,
        fetches,
        ..
    } = &*prepared;
    // One thread fetches and checks every page: it reads and checks JSON at about 250 MB/s
    // (bench scenario 13's floor), more than an API that pages gives, and a single thread
    // spends no CPU waking others (a second runtime thread cost a third more CPU a page).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    // Pages arrive in bursts now that requests run on tasks of their own: 16 a worker absorb
    // them (bench scenario 3b: with 4, fetching waited on reducers for 9% of the run; with
    // 16, 1-3%, at the same peak RSS).
    let (work, received) = async_channel::bounded(placement.workers() * 16);
    let pool = WorkerPool::start(
        reducers.clone(),
        *placement,
        received,
        restored,
        runtime.handle(),
    )?;
    let progress = Progress::new(options.progress).with_keys(keys.clone());
    let parents: Mutex<Option<FetchSummary>> = Mutex::new(None);
    let sampler = trace.map(|trace| {
        let origin = chains
            .first()
            .map(|(_, source)| source.url.origin().ascii_serialization())
            .unwrap_or_default();
        let partitions = match job.child {
            // The chains are the parents': children are named by their number.
            Some(_) => Vec::new(),
            None => chains
                .iter()
                .map(|(values, _)| partition_name(values))
                .collect(),
        };
        trace.set_chains(&origin, partitions);
        trace.set_limit(fetcher.concurrency_limit());
        let (fetcher, work) = (fetcher.clone(), work.clone());
        Sampler::start(trace.clone(), move || {
            (fetcher.in_flight(), fetcher.concurrency_limit(), work.len())
        })
    });
    let traced = trace.map(|trace| Traced {
        trace,
        role: if job.child.is_some() {
            Role::Child
        } else {
            Role::Partition
        },
        inner: &progress,
    });
    let observer: &dyn FetchObserver = match &traced {
        Some(traced) => traced,
        None => &progress,
    };
    let fetched = runtime.block_on(async {
        let concurrency = job.fetch.concurrency();
        let fetch = async {
            match &job.child {
                None => {
                    let summaries = fetch_chains(
                        fetcher,
                        chains,
                        &work,
                        observer,
                        (resumes, fetches),
                        concurrency,
                    )
                    .await?;
                    let places = chains
                        .iter()
                        .map(|(assignment, _)| {
                            if assignment.is_empty() {
                                String::new()
                            } else {
                                format!("partition {}", super::children::label(assignment))
                            }
                        })
                        .collect();
                    Ok((summaries, places))
                }
                Some(child) => {
                    let children = Children {
                        job,
                        child,
                        keys,
                        reducers,
                        done,
                        trace: trace.map(|trace| &**trace),
                        shard: options.shard.as_ref().map(|run| run.shard),
                    };
                    let (parent_summary, children) = children
                        .fetch(fetcher, chains, &work, observer, concurrency)
                        .await?;
                    *parents.lock().expect("no panics while locked") = Some(parent_summary);
                    let (places, summaries): (Vec<String>, Vec<FetchSummary>) =
                        children.into_iter().unzip();
                    Ok((summaries, places))
                }
            }
        };
        let outcome = drive(
            fetch,
            fetcher.deadline(),
            &pool,
            &work,
            checkpoints,
            options.stop.clone(),
            trace.map(|trace| &**trace),
        )
        .await;
        if let Err(RunError::Interrupted { .. }) = &outcome
            && checkpoints.enabled()
        {
            // Stopped by a signal: what the workers have (they fold what is queued first)
            // is saved, so the same command resumes from here.
            checkpoints.save(&pool, &work).await?;
        }
        match outcome {
            // Too long a wait, or the deadline: saved the same way, to go on later.
            Err(RunError::Fetch(cause)) if cause.resumable_later() => {
                if checkpoints.enabled() {
                    checkpoints.save(&pool, &work).await?;
                }
                let checkpoint = checkpoints.enabled().then(|| checkpoints.path.clone());
                Err(RunError::Later {
                    cause: Box::new(cause),
                    checkpoint,
                })
            }
            outcome => outcome,
        }
    });
    // The sampler holds a sender of work: stopped first, since the workers finish once
    // every sender of work is gone.
    if let Some(sampler) = sampler {
        sampler.stop();
    }
    drop(work);
    let reduced = pool.finish(&runtime);
    progress.finish();
    let fetched = match fetched {
        Err(RunError::Fetch(error)) => Err(error),
        Err(other) => return Err(other),
        Ok(summary) => Ok(summary),
    };
    match (fetched, reduced) {
        // A worker that failed closed the channel; its error is the cause.
        (Err(FetchError::ConsumerGone), Err(reduce)) | (Ok(_), Err(reduce)) => Err(reduce.into()),
        (Err(fetch), _) => Err(fetch.into()),
        (Ok((summaries, places)), Ok(merged)) => Ok(Fetched {
            summaries,
            places,
            parents: parents.into_inner().expect("no panics while locked"),
            merged,
        }),
    }
}

/// Fetches every chain (partition) this process fetches (a shard: those dealt to it), at
/// most `concurrency` chains at a time, all under the fetcher's one concurrency limit. The
/// first chain that fails stops them all. A chain not fetched has an empty summary.
async fn fetch_chains(
    fetcher: &Fetcher,
    chains: &[(Assignment, pagefold_fetch::Source)],
    work: &async_channel::Sender<Work>,
    observer: &dyn FetchObserver,
    (resumes, fetches): (&[Resume], &[bool]),
    concurrency: usize,
) -> Result<Vec<FetchSummary>, FetchError> {
    use futures_util::{StreamExt, TryStreamExt};
    let runs = chains
        .iter()
        .zip(resumes)
        .enumerate()
        .filter(|(chain, _)| fetches[*chain])
        .map(|(chain, ((_, source), resume))| async move {
            fetcher
                .run(source, chain as u32, work.clone(), observer, resume)
                .await
                .map(|summary| (chain, summary))
        });
    let fetched: Vec<(usize, FetchSummary)> = futures_util::stream::iter(runs)
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut summaries = vec![FetchSummary::default(); chains.len()];
    for (chain, summary) in fetched {
        summaries[chain] = summary;
    }
    Ok(summaries)
}

/// Runs the fetch to its end, saving checkpoints on the way, unless a signal stops it.
async fn drive<T>(
    fetch: impl Future<Output = Result<T, FetchError>>,
    deadline: Option<(std::time::Instant, Duration)>,
    pool: &WorkerPool,
    work: &async_channel::Sender<Work>,
    checkpoints: &Checkpoints,
    stop: Option<Stop>,
    trace: Option<&Trace>,
) -> Result<T, RunError> {
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
    // The run's budget bounds everything fetching does, waits for slow reducers included.
    let budget = async {
        match deadline {
            Some((at, _)) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(budget);
    loop {
        tokio::select! {
            fetched = &mut fetch => return fetched.map_err(RunError::Fetch),
            () = &mut budget => {
                let deadline = deadline.map_or(Duration::ZERO, |(_, budget)| budget);
                return Err(RunError::Fetch(FetchError::Deadline { deadline, url: None, wait: None }));
            }
            _ = ticker.tick(), if checkpoints.enabled() => {
                checkpoints.save(pool, work).await?;
                if let Some(trace) = trace {
                    trace.checkpoint();
                }
            }
            signal = signals.next() => {
                let checkpoint = checkpoints.enabled().then(|| checkpoints.path.clone());
                return Err(RunError::Interrupted { signal, checkpoint });
            }
        }
    }
}

/// A partition's track name: its values, `key=value, …`.
fn partition_name(values: &Assignment) -> String {
    values
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}
