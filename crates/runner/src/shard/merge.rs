//! Merging the parts of a sharded run into the result one process would have produced: the
//! reducers' states merged exactly (as worker threads and resumed runs merge), pages and
//! records added, chains put back together, warnings said once, costs added up.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::deal::{Deal, deal};
use super::part::{self, Expected, Part, PartError};
use super::{PartsLocation, Shard};
use crate::engine::reduce::{ReduceError, Reducers};
use crate::identity::IdentityKey;
use crate::job::Job;
use crate::output::{
    KeyStat, MergedFrom, PartitionResult, ResultDocument, ResumedStats, RunStats, Skipped,
};

/// A merge that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A part is missing or cannot be merged.
    #[error(transparent)]
    Part(#[from] PartError),
    /// The location could not be read or written.
    #[error(transparent)]
    Location(#[from] super::LocationError),
    /// A reducer failed to load, read a state back, merge or finish.
    #[error(transparent)]
    Reduce(#[from] ReduceError),
}

impl MergeError {
    /// What to do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Part(error) => error.hint(),
            Self::Reduce(error) => error.hint(),
            Self::Location(_) => None,
        }
    }
}

/// Which run to merge, and how long to wait for its parts.
pub struct MergeRequest<'a> {
    /// Where the parts are.
    pub location: &'a PartsLocation,
    /// The run.
    pub run_id: &'a str,
    /// The number of shards, when known (a shard merging its own run); else the parts say.
    pub of: Option<u32>,
    /// How long to wait for missing parts.
    pub wait: Duration,
}

/// Reads every part of the run, waiting up to `request.wait` for missing ones, and checks
/// each against the job.
///
/// # Errors
///
/// A part missing after the wait, or one that is damaged or of another job, run, split or
/// plugin, named.
pub fn gather(
    job: &Job,
    reducers: &Reducers,
    request: &MergeRequest<'_>,
) -> Result<Vec<Part>, MergeError> {
    let folder = part::run_folder(&job.name, request.run_id);
    let deadline = Instant::now() + request.wait;
    let (present, of) = loop {
        let present = present_parts(request.location, &folder)?;
        let of = match request.of {
            Some(of) => of,
            None => match present.first() {
                Some(&(_, of)) => of,
                None if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
                None => {
                    return Err(PartError::NoParts {
                        folder: request.location.show(&folder),
                        run_id: request.run_id.to_owned(),
                    }
                    .into());
                }
            },
        };
        if let Some(&(index, found)) = present.iter().find(|(_, found)| *found != of) {
            return Err(PartError::OtherSplit {
                part: request.location.show(&part::part_name(
                    &job.name,
                    request.run_id,
                    index,
                    found,
                )),
                found,
                expected: of,
            }
            .into());
        }
        let missing: Vec<u32> = (0..of)
            .filter(|index| !present.iter().any(|(i, _)| i == index))
            .collect();
        if missing.is_empty() {
            break (present, of);
        }
        if Instant::now() >= deadline {
            return Err(PartError::Missing {
                folder: request.location.show(&folder),
                run_id: request.run_id.to_owned(),
                missing,
                of,
            }
            .into());
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let identity = job
        .identity
        .fingerprint(&IdentityKey::for_run(request.run_id));
    let (names, plugins) = (reducers.names(), reducers.plugins());
    let expected = Expected {
        identity: &identity,
        run_id: request.run_id,
        of,
        reducers: &names,
        plugins: &plugins,
    };
    let mut parts = Vec::with_capacity(present.len());
    for (index, _) in present {
        let name = part::part_name(&job.name, request.run_id, index, of);
        let shown = request.location.show(&name);
        // Listed a moment ago; a part removed since is as missing as one never written.
        let bytes = request
            .location
            .get(&name)
            .map_err(PartError::from)?
            .ok_or_else(|| PartError::Missing {
                folder: request.location.show(&folder),
                run_id: request.run_id.to_owned(),
                missing: vec![index],
                of,
            })?;
        let part = Part::open(&shown, &bytes)?;
        part.check(&shown, &expected)?;
        if part.shard != index {
            return Err(PartError::Damaged {
                part: shown,
                reason: format!("it says it is shard {}'s", part.shard),
            }
            .into());
        }
        parts.push(part);
    }
    Ok(parts)
}

/// `(index, of)` of every part in the run's folder.
fn present_parts(location: &PartsLocation, folder: &str) -> Result<Vec<(u32, u32)>, PartError> {
    Ok(location
        .list(folder)?
        .iter()
        .filter_map(|name| part::parse_name(name))
        .collect())
}

/// The result document of the parts of a run, checked by [`gather`].
///
/// # Errors
///
/// When a chain split across shards ended by a repeated page, or a reducer fails.
pub fn merge(
    job: &Job,
    reducers: &Reducers,
    parts: &[Part],
    run_id: &str,
) -> Result<ResultDocument, MergeError> {
    let of = parts.first().map_or(1, |part| part.of);
    let sources = job.source.chains();
    let deals = deal(sources.iter().map(|(_, source)| &source.pagination), of);
    let mut states = Vec::with_capacity(parts.len());
    for part in parts {
        states.push(part.states(&format!("part {} of {of}", part.shard))?);
    }
    let merged = reducers.conclude(reducers.restore(&states)?)?;
    let pages: u64 = parts.iter().map(|part| part.pages).sum();
    let records: u64 = parts.iter().map(|part| part.records).sum();
    let mut warnings: Vec<String> = Vec::new();
    for warning in parts.iter().flat_map(|part| &part.warnings) {
        if !warnings.contains(warning) {
            warnings.push(warning.clone());
        }
    }
    let chains = chains(parts);
    for (chain, totals) in &chains {
        if deals.get(*chain as usize) != Some(&Deal::Split) || job.child.is_some() {
            continue;
        }
        if let Some(shard) = totals.repeated_by {
            return Err(PartError::RepeatedEnd { shard }.into());
        }
        if let Some(reported) = totals.reported_records
            && reported != totals.records
            && !totals
                .ended
                .as_deref()
                .is_some_and(|end| end.contains("max_pages"))
        {
            warnings.push(format!(
                "the API reported {reported} records but {} were received",
                totals.records
            ));
        }
    }
    let (coverage, coverage_warnings) =
        crate::engine::run::covered::coverage(job, &merged.coverage, records);
    warnings.extend(coverage_warnings);
    let partitions = if job.source.has_partitions() && job.child.is_none() {
        sources
            .iter()
            .enumerate()
            .map(|(chain, (assignment, _))| {
                let totals = chains.get(&(chain as u32));
                PartitionResult {
                    values: assignment.iter().cloned().collect(),
                    pages: totals.map_or(0, |t| t.pages),
                    records: totals.map_or(0, |t| t.records),
                    ended: totals.and_then(|t| t.ended.clone()),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let ended = (sources.len() == 1 && job.child.is_none())
        .then(|| chains.get(&0).and_then(|totals| totals.ended.clone()))
        .flatten();
    Ok(ResultDocument {
        job: job.name.clone(),
        pages,
        records,
        reducers: merged.values,
        ended,
        warnings,
        coverage,
        parent: parts.first().and_then(|part| part.parent.clone()),
        partitions,
        incremental: None,
        skipped: parts
            .iter()
            .flat_map(|part| part.skipped.iter().cloned())
            .collect::<Vec<Skipped>>(),
        merged_from: Some(MergedFrom {
            shards: of,
            run_id: run_id.to_owned(),
        }),
        stats: stats(parts),
    })
}

/// One chain put back together from the shards that fetched it.
#[derive(Default)]
struct ChainTotals {
    pages: u64,
    records: u64,
    /// How it ended: the first shard's (in shard order) that says.
    ended: Option<String>,
    reported_records: Option<u64>,
    /// A shard that found the end by a repeated page.
    repeated_by: Option<u32>,
}

fn chains(parts: &[Part]) -> BTreeMap<u32, ChainTotals> {
    let mut chains: BTreeMap<u32, ChainTotals> = BTreeMap::new();
    for part in parts {
        for chain in &part.chains {
            let totals = chains.entry(chain.chain).or_default();
            totals.pages += chain.pages;
            totals.records += chain.records;
            if totals.ended.is_none() {
                totals.ended.clone_from(&chain.ended);
            }
            totals.reported_records = totals.reported_records.or(chain.reported_records);
            if chain.ended_by_repeat {
                totals.repeated_by.get_or_insert(part.shard);
            }
        }
    }
    chains
}

/// The run's costs: counts and waits added up over the shards; `seconds` is the longest
/// shard's, since they ran side by side.
fn stats(parts: &[Part]) -> RunStats {
    let sum = |field: fn(&RunStats) -> f64| -> f64 {
        let total: f64 = parts.iter().map(|part| field(&part.stats)).sum();
        (total * 1000.0).round() / 1000.0
    };
    let resumed = parts
        .iter()
        .filter_map(|part| part.stats.resumed)
        .reduce(|a, b| ResumedStats {
            pages: a.pages + b.pages,
            records: a.records + b.records,
        });
    let sequential = parts
        .iter()
        .map(|part| part.stats.sequential_seconds)
        .sum::<Option<f64>>()
        .map(|total| (total * 1000.0).round() / 1000.0);
    let mut keys: Vec<KeyStat> = Vec::new();
    for key in parts.iter().flat_map(|part| &part.stats.keys) {
        match keys.iter_mut().find(|k| k.key == key.key) {
            Some(into) => {
                into.requests += key.requests;
                into.retries += key.retries;
                into.waited_seconds += key.waited_seconds;
                into.dropped |= key.dropped;
            }
            None => keys.push(key.clone()),
        }
    }
    RunStats {
        requests: parts.iter().map(|part| part.stats.requests).sum(),
        retries: parts.iter().map(|part| part.stats.retries).sum(),
        waited_seconds: sum(|stats| stats.waited_seconds),
        bytes: parts.iter().map(|part| part.stats.bytes).sum(),
        seconds: parts
            .iter()
            .map(|part| part.stats.seconds)
            .fold(0.0, f64::max),
        sequential_seconds: sequential,
        waited_on_reducers_seconds: sum(|stats| stats.waited_on_reducers_seconds),
        resumed,
        keys,
    }
}

/// Whether shard `shard` is the last of its run to have written a part: every other part is
/// there (it then merges, under `run --merge`).
pub fn all_parts_written(
    location: &PartsLocation,
    job: &Job,
    run_id: &str,
    shard: Shard,
) -> Result<bool, PartError> {
    let present = present_parts(location, &part::run_folder(&job.name, run_id))?;
    Ok((0..shard.of).all(|index| present.contains(&(index, shard.of))))
}
