//! `pagefold plan --shards N`: how the work divides into shards (see
//! [`pagefold::shard::deal`]): which chains each shard runs, which are split page by page,
//! which cannot be split, and (with `--probe`) the requests each shard will make.

use std::fmt::Write as _;

use pagefold::job::{Assignment, Job};
use pagefold::shard::Shard;
use pagefold::shard::deal::{Deal, deal};
use pagefold::terminal::progress::thousands;
use pagefold_fetch::{Pagination, Probe};

/// The section of the plan for `shards` shards.
pub(crate) fn section(
    job: &Job,
    chains: &[(Assignment, pagefold_fetch::Source)],
    probes: Option<&[Probe]>,
    shards: u32,
) -> String {
    let deals = deal(chains.iter().map(|(_, source)| &source.pagination), shards);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{shards} shard{} (`run --shard I/{shards}`):",
        if shards == 1 { "" } else { "s" }
    );
    if job.child.is_some() {
        let _ = writeln!(
            text,
            "  every shard pages through the parents ({} chain{}); each parent record's child \
             chain runs in one shard, dealt by the record's place",
            chains.len(),
            if chains.len() == 1 { "" } else { "s" }
        );
    } else {
        for index in 0..shards {
            let shard = Shard { index, of: shards };
            let _ = writeln!(text, "  shard {index}: {}", share(&deals, probes, shard));
        }
        let unsplittable: Vec<String> = chains
            .iter()
            .zip(&deals)
            .enumerate()
            .filter(|(_, ((_, source), deal))| {
                matches!(deal, Deal::Whole(_))
                    && chains.len() < shards as usize
                    && !matches!(source.pagination, Pagination::Numbered(_))
            })
            .map(|(chain, _)| chain.to_string())
            .collect();
        if !unsplittable.is_empty() {
            let _ = writeln!(
                text,
                "  cannot be split: chain{} {} (each page names the next): run whole in one \
                 shard, so {} of the shards have nothing to do",
                if unsplittable.len() == 1 { "" } else { "s" },
                unsplittable.join(", "),
                shards as usize - unsplittable.len().min(shards as usize),
            );
        }
    }
    if let Some(rate) = job.fetch.options().rate {
        let shared = rate.shared_by(shards);
        let _ = writeln!(
            text,
            "  rate: at most {} requests per {:?} for the job: {} per {:?} in each shard",
            rate.count, rate.per, shared.count, shared.per
        );
    }
    text
}

/// What one shard runs: its chains, and with probes its requests.
fn share(deals: &[Deal], probes: Option<&[Probe]>, shard: Shard) -> String {
    let mut whole = Vec::new();
    let mut split = Vec::new();
    let mut requests = Some(0u64);
    for (chain, deal) in deals.iter().enumerate() {
        let pages = probes.map(|probes| probes[chain].pages);
        match deal.for_shard(shard) {
            None => {}
            Some(None) => {
                whole.push(chain.to_string());
                requests = add(requests, pages.flatten());
            }
            Some(Some(_)) => {
                split.push(chain.to_string());
                // Its pages `k mod N == I`, and the first page whatever the shard.
                let mine = pages.flatten().map(|pages| {
                    let of = u64::from(shard.of);
                    let index = u64::from(shard.index);
                    let dealt = pages / of + u64::from(pages % of > index);
                    dealt + u64::from(index != 0)
                });
                requests = add(requests, mine);
            }
        }
    }
    let mut parts = Vec::new();
    if !whole.is_empty() {
        parts.push(format!("chain{} {}", plural(whole.len()), whole.join(", ")));
    }
    if !split.is_empty() {
        parts.push(format!(
            "every {}th page of chain{} {} (and the first page, for the total)",
            shard.of,
            plural(split.len()),
            split.join(", ")
        ));
    }
    if parts.is_empty() {
        return "nothing (fewer chains than shards)".into();
    }
    let mut line = parts.join("; ");
    match (probes, requests) {
        (Some(_), Some(requests)) => {
            let _ = write!(line, ": ~{} requests", thousands(requests));
        }
        (Some(_), None) => line.push_str(": requests unknown (a chain reports no total)"),
        (None, _) => {}
    }
    line
}

fn add(total: Option<u64>, more: Option<u64>) -> Option<u64> {
    Some(total? + more?)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
