//! The result document of a run: the merged values, what fetching did, what a checkpoint
//! already held, and what an incremental run asked for and left.

use std::time::{Duration, Instant};

use pagefold_fetch::FetchSummary;

use super::RunError;
use super::fetch_reduce::Fetched;
use super::prepare::Prepared;
use crate::engine::incremental::{IncrementalEnd, MarkState};
use crate::job::Job;
use crate::output::{
    IncrementalResult, KeyStat, ParentResult, PartitionResult, ResultDocument, ResumedStats,
    RunStats, Skipped,
};
use crate::secrets;

/// The result document and what goes beside it.
pub(super) struct Assembled {
    pub(super) document: ResultDocument,
    /// Every chain's fetching, added up.
    pub(super) summary: FetchSummary,
    /// For an incremental job: what the next run starts from.
    pub(super) incremental: Option<IncrementalEnd>,
    /// What each chain gave, in chain order: what a shard's part keeps of it.
    pub(super) chains: Vec<ChainOutcome>,
    /// The warnings of fetching (before those of coverage, which a merge says anew).
    pub(super) fetch_warnings: Vec<String>,
    /// Every reducer's merged state, when the run keeps them (a shard does).
    pub(super) states: Option<Vec<Vec<u8>>>,
}

/// What one chain gave.
pub(crate) struct ChainOutcome {
    pub(crate) pages: u64,
    pub(crate) records: u64,
    pub(crate) ended: Option<pagefold_fetch::ChainEnd>,
    pub(crate) reported_records: Option<u64>,
}

/// Puts the result document together.
pub(super) fn assemble(
    job: &Job,
    prepared: &Prepared,
    fetched: Fetched,
    started: Instant,
) -> Result<Assembled, RunError> {
    let Fetched {
        summaries,
        places,
        parents,
        mut merged,
    } = fetched;
    let parent_warnings = parents
        .as_ref()
        .map(|parents| parents.warnings.clone())
        .unwrap_or_default();
    let chain_warnings = super::warnings::gather(
        std::iter::once(("the parent source", parent_warnings.as_slice())).chain(
            places
                .iter()
                .map(String::as_str)
                .zip(summaries.iter().map(|summary| summary.warnings.as_slice())),
        ),
    );
    let start = &prepared.start;
    let incremental = match &job.source.incremental {
        Some(spec) => Some((spec, MarkState::take_from(&mut merged.values)?)),
        None => None,
    };
    let parents_cost = parents.clone();
    let parent = parents.map(|parents| ParentResult {
        pages: parents.pages,
        records: parents.records,
        warnings: super::warnings::gather([("", parents.warnings.as_slice())]),
    });
    let partitions: Vec<PartitionResult> = if job.source.has_partitions() && job.child.is_none() {
        prepared
            .chains
            .iter()
            .zip(&summaries)
            .map(|((assignment, _), summary)| PartitionResult {
                values: assignment.iter().cloned().collect(),
                pages: summary.pages,
                records: summary.records,
                ended: summary.ended.map(|end| end.to_string()),
            })
            .collect()
    } else {
        Vec::new()
    };
    let chains = summaries
        .iter()
        .map(|summary| ChainOutcome {
            pages: summary.pages,
            records: summary.records,
            ended: summary.ended,
            reported_records: summary.reported_records,
        })
        .collect();
    let ended = (summaries.len() == 1 && job.child.is_none())
        .then(|| summaries[0].ended.map(|end| end.to_string()))
        .flatten();
    let mut summary = FetchSummary::default();
    for chain in summaries {
        summary.absorb(chain);
    }
    if let Some(parents) = &parents_cost {
        // The parents' requests are requests of this run: counted, though not their pages.
        summary.absorb_costs(parents);
    }
    let (pages_before, records_before) = prepared
        .checkpoints
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
    warnings.extend(chain_warnings.iter().map(|w| secrets::redact(w)));
    let fetch_warnings = warnings.clone();
    let (coverage, coverage_warnings) =
        super::covered::coverage(job, &merged.coverage, summary.records + records_before);
    warnings.extend(coverage_warnings);
    let document = ResultDocument {
        job: job.name.clone(),
        pages: summary.pages + pages_before,
        records: (summary.records + records_before).saturating_sub(seen_before + below_since),
        reducers: merged.values,
        ended,
        warnings,
        coverage,
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
        merged_from: None,
        skipped: summary
            .skipped
            .iter()
            .map(|page| Skipped {
                url: secrets::redact(&page.url),
                reason: secrets::redact(&page.reason),
            })
            .collect(),
        stats: RunStats {
            keys: prepared
                .keys
                .as_ref()
                .map(|ring| {
                    ring.stats()
                        .into_iter()
                        .map(|key| KeyStat {
                            key: key.label,
                            requests: key.requests,
                            retries: key.retries,
                            waited_seconds: round_ms(key.waited),
                            dropped: key.dropped,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            resumed: prepared.checkpoints.resumed.as_ref().map(|_| ResumedStats {
                pages: pages_before,
                records: records_before,
            }),
            ..stats(&summary, started)
        },
    };
    let states = merged.states;
    Ok(Assembled {
        document,
        summary,
        incremental: incremental.map(|(_, mark)| IncrementalEnd {
            states: states.clone().unwrap_or_default(),
            mark: mark.max.map(|(_, raw)| raw),
        }),
        chains,
        fetch_warnings,
        states,
    })
}

fn stats(summary: &FetchSummary, started: Instant) -> RunStats {
    RunStats {
        requests: summary.requests,
        retries: summary.retries,
        waited_seconds: round_ms(summary.waited()),
        bytes: summary.bytes,
        seconds: round_ms(started.elapsed()),
        sequential_seconds: summary.sequential_estimate().map(round_ms),
        waited_on_reducers_seconds: round_ms(summary.consumer_wait),
        resumed: None,
        keys: Vec::new(),
    }
}

fn round_ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}
