//! The end of a run on stderr: its warnings, the pages it skipped, what a resumed run took
//! over, and the closing line that puts the wall time beside what fetching one page after
//! another would have taken.

use std::path::Path;
use std::time::Duration;

use pagefold_fetch::FetchSummary;

use crate::output::{OutputFormat, ResultDocument, ResumedStats};
use crate::state::marker::Abandoned;

/// What a finished run tells the user.
pub struct RunEnd<'a> {
    /// The result.
    pub document: &'a ResultDocument,
    /// What fetching did.
    pub summary: &'a FetchSummary,
    /// The run's wall time.
    pub wall: Duration,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// The result's file, if it went to one.
    pub written_to: Option<&'a Path>,
    /// The result's format.
    pub format: OutputFormat,
    /// The database the result was written to, if any (its password hidden).
    pub database: Option<&'a str>,
}

/// Prints the warnings, the skipped pages and (unless `quiet`) the closing line.
pub fn print_run_end(end: &RunEnd<'_>, quiet: bool) {
    for warning in &end.document.warnings {
        super::warn(warning);
    }
    let skipped = end.document.skipped.len();
    if skipped > 0 {
        super::warn(&format!(
            "{skipped} page{} skipped (on_error = \"skip\"): the result lacks their records; {}",
            if skipped == 1 { " was" } else { "s were" },
            if end.format == OutputFormat::Json {
                "see \"skipped\"".to_owned()
            } else {
                // csv and ndjson hold values only: the pages are listed here instead.
                end.document
                    .skipped
                    .iter()
                    .map(|page| {
                        format!("`{}` ({})", crate::secrets::redact(&page.url), page.reason)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    if !quiet {
        if let Some(resumed) = &end.document.stats.resumed {
            super::say(&resumed_line(resumed, end.document.pages));
        }
        super::say(&summary_line(
            end.document,
            end.summary,
            end.wall,
            end.concurrency,
        ));
        if let Some(path) = &end.written_to {
            super::say(&format!("result written to `{}`", path.display()));
        }
        if let Some(database) = &end.database {
            super::say(&format!("result written to `{database}`"));
        }
    }
}

/// The closing line of `pagefold merge`: what the merged result holds, what the shards did
/// together, and how long the slowest took.
pub fn merged_line(document: &ResultDocument) -> String {
    let shards = document.merged_from.as_ref().map_or(1, |m| m.shards);
    let stats = &document.stats;
    format!(
        "merged {shards} shard{} of run `{}`: {} pages, {} records ({:.1} MB, {} requests{}); \
         the slowest shard took {:.2}s",
        if shards == 1 { "" } else { "s" },
        document
            .merged_from
            .as_ref()
            .map_or("", |m| m.run_id.as_str()),
        document.pages,
        document.records,
        stats.bytes as f64 / 1e6,
        stats.requests,
        if stats.retries > 0 {
            format!(", {} retries", stats.retries)
        } else {
            String::new()
        },
        stats.seconds,
    )
}

/// A run found killed (its process gone, its trace left), now in the history.
pub fn abandoned_line(run: &Abandoned) -> String {
    format!(
        "the run `{}`, started {}, did not finish: its process (pid {}) is gone, killed or \
         crashed; it is in the history as interrupted",
        run.entry.run_id,
        run.entry
            .started
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run.pid
    )
}

/// What a resumed run took over: the closing line counts the whole run, this says how much
/// of it an earlier run did.
pub fn resumed_line(resumed: &ResumedStats, pages: u64) -> String {
    format!(
        "resumed from a checkpoint: {} of {pages} pages ({} records) were already reduced by \
         the run it resumed",
        resumed.pages, resumed.records
    )
}

/// Below this ratio, "× faster" would flatter a run that concurrency did not speed up: the
/// estimate rests on few requests (often the first page alone, with its connection set up),
/// so a ratio this close to 1 is within its error.
const FASTER: f64 = 1.2;

/// The closing line: what the run holds (of a resumed run, the whole), how long this run took,
/// and what one page after another would have taken
/// ([`FetchSummary::sequential_estimate`]: from requests that had the API to themselves, so
/// a server slowed down by concurrent requests does not inflate it).
pub fn summary_line(
    document: &ResultDocument,
    summary: &FetchSummary,
    wall: Duration,
    concurrency: usize,
) -> String {
    let megabytes = summary.bytes as f64 / 1e6;
    let mut line = format!(
        "{} pages, {} records ({megabytes:.1} MB, {} requests) in {:.2}s with up to {concurrency} in flight; ",
        document.pages,
        document.records,
        summary.requests,
        wall.as_secs_f64(),
    );
    match summary.sequential_estimate() {
        None => line.push_str(
            "no request had the API to itself, so there is no basis to estimate one page after another",
        ),
        Some(sequential) => {
            let speedup = sequential.as_secs_f64() / wall.as_secs_f64().max(1e-9);
            if speedup >= FASTER {
                line.push_str(&format!(
                    "one page after another would take ~{:.2}s ({speedup:.1}× faster)",
                    sequential.as_secs_f64()
                ));
            } else {
                line.push_str(&format!(
                    "no faster than one page after another would be (~{:.2}s)",
                    sequential.as_secs_f64()
                ));
            }
        }
    }
    let waited = summary.waited();
    if summary.retries > 0 || waited.as_secs_f64() >= 0.05 {
        line.push_str(&format!(
            "; {} retr{}, {:.2}s waiting on the API (backoff, Retry-After, rate limits)",
            summary.retries,
            if summary.retries == 1 { "y" } else { "ies" },
            waited.as_secs_f64()
        ));
    }
    if summary.consumer_wait.as_secs_f64() >= 0.05 {
        line.push_str(&format!(
            "; reducers held fetching back for {:.2}s",
            summary.consumer_wait.as_secs_f64()
        ));
    }
    line
}
