//! Scenario 14: small pages, and many of them. 2 000 and then 200 000 pages of 10 orders,
//! without latency, 64 in flight, folding the usual aggregates: what a request costs pagefold
//! when its page holds little (µs of CPU a request), and whether memory stays flat as the
//! pages grow a hundredfold. Target: peak RSS at 200 000 pages within 1.2× of that at 2 000.

use std::path::Path;
use std::time::Duration;

use crate::measure::Measured;
use crate::pagefold_run::run_pagefold;
use crate::report::Target;
use crate::scenarios::{AGGREGATES, Scenario};
use crate::section::{Row, Section, times};

const PAGE_SIZE: u64 = 10;

/// Runs scenario 14: `few` pages, then `many`.
pub(crate) fn run(binary: &Path, few: u64, many: u64, folder: &Path, repeat: usize) -> Section {
    let mut section = Section::default();
    for (id, pages) in [("14a", few), ("14b", many)] {
        let scenario = Scenario::plain(
            (id, "small pages"),
            (pages, PAGE_SIZE),
            Duration::ZERO,
            64,
            AGGREGATES,
        );
        let (measured, _, _) = run_pagefold(binary, &scenario, folder, repeat, false);
        section.rows.push(Row {
            name: format!("small pages: {pages} of {PAGE_SIZE}"),
            ..Row::of(&scenario, measured, None)
        });
    }
    let per_request = |id: &str| {
        let row = section.rows.iter().find(|row| row.id == id)?;
        let measured = section.good(id)?;
        Some(micros_a_request(measured, row.pages))
    };
    section.details = vec![format!(
        "\nsmall pages (14): CPU a request (a page of {PAGE_SIZE} orders, the process's start \
         included): {} µs at {few} pages, {} µs at {many}",
        per_request("14a").map_or("-".into(), |us| format!("{us:.1}")),
        per_request("14b").map_or("-".into(), |us| format!("{us:.1}")),
    )];
    let rss = |id: &str| section.good(id).map(|m| m.peak_rss_kib as f64 / 1024.0);
    let memory = rss("14b").zip(rss("14a"));
    section.targets = vec![Target {
        label: format!(
            "scenario 14: RSS at {many} pages of {PAGE_SIZE} ≤ 1.2 × at {few} ({})",
            memory.map_or("-".into(), |(many, few)| format!(
                "{many:.1} vs {few:.1} MiB, {}",
                times(Some(many / few))
            ))
        ),
        met: memory.map(|(many, few)| many <= 1.2 * few),
    }];
    section
}

fn micros_a_request(measured: &Measured, requests: u64) -> f64 {
    measured.cpu.as_secs_f64() * 1e6 / requests.max(1) as f64
}
