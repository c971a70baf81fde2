//! The end of a run on stderr: its warnings, the pages it skipped, and the closing line that
//! puts the wall time beside what fetching one page after another would have taken.

use std::path::Path;
use std::time::Duration;

use pagefold_fetch::FetchSummary;

use crate::output::{OutputFormat, ResultDocument};

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
        super::say(&summary_line(end.summary, end.wall, end.concurrency));
        if let Some(path) = &end.written_to {
            super::say(&format!("result written to `{}`", path.display()));
        }
        if let Some(database) = &end.database {
            super::say(&format!("result written to `{database}`"));
        }
    }
}

/// The closing line: what was fetched, how long it took, and what one page after another
/// would have taken (the sum of the requests' own durations).
pub fn summary_line(summary: &FetchSummary, wall: Duration, concurrency: usize) -> String {
    let megabytes = summary.bytes as f64 / 1e6;
    let sequential = summary.request_time;
    let speedup = sequential.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    let mut line = format!(
        "{} pages, {} records ({megabytes:.1} MB, {} requests) in {:.2}s with up to {concurrency} in flight; \
         one page after another would take ~{:.2}s ({speedup:.1}× faster)",
        summary.pages,
        summary.records,
        summary.requests,
        wall.as_secs_f64(),
        sequential.as_secs_f64(),
    );
    if summary.retries > 0 || summary.waited.as_secs_f64() >= 0.05 {
        line.push_str(&format!(
            "; {} retr{}, {:.2}s waiting on the API (backoff, Retry-After, rate limits)",
            summary.retries,
            if summary.retries == 1 { "y" } else { "ies" },
            summary.waited.as_secs_f64()
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
