//! A shard's run ends with its part, not the result: what it reduced, written where the
//! merge reads it (see [`crate::shard`]).

use super::RunError;
use super::assemble::Assembled;
use super::prepare::Prepared;
use crate::identity::IdentityKey;
use crate::job::Job;
use crate::shard::part::{PartChain, part_name};
use crate::shard::{Part, PartError, ShardRun};

/// Writes the part of `shard`'s run; returns where it went.
pub(super) fn write(
    job: &Job,
    prepared: &Prepared,
    assembled: &Assembled,
    shard: &ShardRun,
) -> Result<String, RunError> {
    let document = &assembled.document;
    let chains = assembled
        .chains
        .iter()
        .enumerate()
        .filter(|(chain, _)| job.child.is_some() || prepared.fetches[*chain])
        .map(|(chain, outcome)| PartChain {
            chain: chain as u32,
            pages: outcome.pages,
            records: outcome.records,
            ended: outcome.ended.map(|end| end.to_string()),
            ended_by_repeat: matches!(
                outcome.ended,
                Some(pagefold_fetch::ChainEnd::RepeatedPage { .. })
            ),
            reported_records: outcome.reported_records,
        })
        .collect();
    let mut part = Part {
        job: job.name.clone(),
        identity: job
            .identity
            .fingerprint(&IdentityKey::for_run(&shard.run_id)),
        run_id: shard.run_id.clone(),
        shard: shard.shard.index,
        of: shard.shard.of,
        reducers: prepared.reducers.names(),
        plugins: prepared.reducers.plugins(),
        states: Vec::new(),
        pages: document.pages,
        records: document.records,
        // With `[child]`, the shard's chains are its children: not the job's partitions.
        chains: if job.child.is_some() {
            Vec::new()
        } else {
            chains
        },
        parent: document.parent.clone(),
        warnings: assembled.fetch_warnings.clone(),
        skipped: document.skipped.clone(),
        stats: document.stats.clone(),
    };
    part.set_states(assembled.states.as_deref().unwrap_or_default());
    let name = part_name(&job.name, &shard.run_id, shard.shard.index, shard.shard.of);
    shard
        .location
        .put(&name, part.seal().as_bytes())
        .map_err(|error| RunError::Parts(PartError::from(error).into()))?;
    Ok(shard.location.show(&name))
}
