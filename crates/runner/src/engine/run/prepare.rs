//! Preparing a run: the reducers first (a bad plugin fails before any request), the fetcher,
//! the chains, and what a checkpoint or the last incremental run left to start from.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pagefold_fetch::{Fetcher, KeyRing, Resume};

use super::{RunError, RunOptions};
use crate::engine::checkpoint::Checkpoint;
use crate::engine::checkpoint::during_run::Checkpoints;
use crate::engine::incremental::IncrementalStart;
use crate::engine::reduce::{Partial, Placement, Reducers};
use crate::job::{Assignment, Job};
use crate::output::RunStamp;

/// Everything a run needs before its first request.
pub(super) struct Prepared {
    /// The job's keys, when `[source.auth]` has several: a budget each.
    pub(super) keys: Option<Arc<KeyRing>>,
    pub(super) stamp: RunStamp,
    pub(super) reducers: Arc<Reducers>,
    /// What the last incremental run left (nothing for other jobs).
    pub(super) start: IncrementalStart,
    pub(super) fetcher: Fetcher,
    /// One chain per partition, with its values.
    pub(super) chains: Vec<(Assignment, pagefold_fetch::Source)>,
    /// Where pages are folded.
    pub(super) placement: Placement,
    pub(super) checkpoints: Checkpoints,
    /// The first worker's starting states, from a checkpoint or the last incremental run.
    pub(super) restored: Option<Vec<Box<dyn Partial>>>,
    /// Per chain, the pages a checkpoint holds.
    pub(super) done: BTreeMap<u32, BTreeSet<u64>>,
    /// Per chain, what fetching skips.
    pub(super) resumes: Vec<Resume>,
    /// Per chain, whether this process fetches it: all of them, unless it is a shard.
    pub(super) fetches: Vec<bool>,
}

impl Prepared {
    /// Builds the reducers, the fetcher and the chains, and reads what to resume from.
    pub(super) fn new(job: &Job, options: &RunOptions) -> Result<Self, RunError> {
        let mut stamp = options
            .stamp
            .clone()
            .unwrap_or_else(|| RunStamp::new(&job.name, chrono::Utc::now(), job.timezone));
        let mut reducers = Reducers::build(&job.reduce)?;
        reducers.set_map(job.source.map.clone());
        let shard = options.shard.as_ref().map(|run| run.shard);
        if shard.is_some() {
            // A shard's part holds its reducers' states, for the merge.
            reducers.keep_states();
        }
        let start = options.incremental.clone().unwrap_or_default();
        if let Some(spec) = &job.source.incremental {
            crate::engine::incremental::attach(&mut reducers, spec, start.previous.clone());
        }
        let reducers = Arc::new(reducers);
        let keys = key_ring(job, shard);
        let mut fetch = job.fetch.options().clone();
        if let Some(shard) = shard {
            // `rate` is the job's, over every shard.
            fetch.rate = fetch.rate.map(|rate| rate.shared_by(shard.of));
        }
        if keys.is_some() {
            // `rate` is each key's: that is how APIs meter.
            fetch.rate = None;
        }
        let fetcher = Fetcher::new(fetch)?;
        let mut chains = job.source.chains();
        for (_, source) in &mut chains {
            source.keys.clone_from(&keys);
        }
        if let (Some(spec), Some(since)) = (&job.source.incremental, &start.since) {
            for (_, source) in &mut chains {
                source.query.push((spec.param.clone(), since.clone()));
            }
        }
        let placement = reducers.placement(options.workers.or(job.fetch.workers()));
        let checkpoints = Checkpoints::open(job, options, &reducers, &stamp.run_id)?;
        // A resumed run is the run it resumes: same id in its history, output path and
        // database rows.
        stamp.run_id.clone_from(&checkpoints.run_id);
        let restored = match &checkpoints.resumed {
            Some(checkpoint) => Some(reducers.restore(&checkpoint.states(&checkpoints.path)?)?),
            None => start.restored(&reducers)?,
        };
        let done = checkpoints
            .resumed
            .as_ref()
            .map(Checkpoint::done_by_chain)
            .unwrap_or_default();
        let mut resumes = resumes(&checkpoints, &done, chains.len());
        let mut fetches = vec![true; chains.len()];
        if let Some(shard) = shard {
            let deals = crate::shard::deal::deal(
                chains.iter().map(|(_, source)| &source.pagination),
                shard.of,
            );
            // With `[child]` these are the parents: every shard pages through all of them,
            // and the child chains are dealt instead (see `children`).
            if job.child.is_none() {
                for ((deal, resume), fetched) in deals.iter().zip(&mut resumes).zip(&mut fetches) {
                    match deal.for_shard(shard) {
                        None => *fetched = false,
                        Some(share) => resume.share = share,
                    }
                }
            }
        }
        Ok(Self {
            keys,
            stamp,
            reducers,
            start,
            fetcher,
            chains,
            placement,
            checkpoints,
            restored,
            done,
            resumes,
            fetches,
        })
    }
}

/// Per chain, the pages to skip and the records they held.
fn resumes(
    checkpoints: &Checkpoints,
    done: &BTreeMap<u32, BTreeSet<u64>>,
    chains: usize,
) -> Vec<Resume> {
    (0..chains as u32)
        .map(|chain| {
            checkpoints
                .resumed
                .as_ref()
                .map_or_else(Resume::default, |checkpoint| Resume {
                    done: done.get(&chain).cloned().unwrap_or_default(),
                    // Totals are checked per chain only when there is one chain.
                    records: if chains == 1 { checkpoint.records } else { 0 },
                    share: None,
                })
        })
        .collect()
}

/// The ring of the job's keys, when `[source.auth]` holds several; in a shard, each key's
/// rate is shared by the shards as the job's is.
pub(super) fn key_ring(job: &Job, shard: Option<crate::shard::Shard>) -> Option<Arc<KeyRing>> {
    let auth = job.source.auth.as_ref()?;
    let keys = auth.keys();
    (keys.len() > 1).then(|| {
        Arc::new(KeyRing::new(
            keys,
            job.fetch.concurrency(),
            job.fetch
                .options()
                .rate
                .map(|rate| shard.map_or(rate, |shard| rate.shared_by(shard.of))),
            auth.on_key_error(),
        ))
    })
}
