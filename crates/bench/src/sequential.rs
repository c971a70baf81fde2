//! The summary line's "one page after another would take ~X" checked against a real run of the
//! same job one request at a time: the estimate is honest if it lands within ±30 % of it.
//!
//! A run at concurrency 1 of every page would take minutes for the latency-bound scenarios
//! (2 000 × 50 ms = 100 s), so the one-at-a-time run fetches the first pages only, as many as
//! fit in about [`BUDGET`] (at least [`MIN_PAGES`]), from a demo API of that many pages with the
//! same latency, page size and faults; its time per request is then scaled to the requests
//! of the concurrent run. Sequential runs are linear in their requests, so this scaling is
//! what a full sequential run would measure, give or take its one process start.

use std::path::Path;
use std::time::Duration;

use crate::demo_api::DemoApi;
use crate::measure::timed;
use crate::pagefold_run::{Estimate, run_command};
use crate::scenarios::{Scenario, scenario_job};

/// About how long a one-at-a-time run may take.
const BUDGET: Duration = Duration::from_secs(4);
/// Pages a one-at-a-time run fetches at least (and, without latency, at most ten times this).
const MIN_PAGES: u64 = 50;
/// How far the estimate may be from the measured run and still be called honest.
const TOLERANCE: f64 = 0.30;

/// The one-at-a-time run, scaled to the concurrent run's requests.
pub(crate) struct Checked {
    pages: u64,
    requests: u64,
    seconds: f64,
    scaled: f64,
}

/// Runs `scenario`'s job at concurrency 1 over its first pages.
pub(crate) fn check(
    binary: &Path,
    scenario: &Scenario,
    estimate: &Estimate,
    folder: &Path,
) -> Checked {
    let pages = if scenario.latency.is_zero() {
        MIN_PAGES * 10
    } else {
        (BUDGET.as_secs_f64() / scenario.latency.as_secs_f64()) as u64
    }
    .max(MIN_PAGES)
    .min(scenario.pages);
    let server = DemoApi::start(
        binary,
        pages,
        scenario.page_size,
        scenario.latency,
        scenario.totals,
        scenario.faults,
    );
    let job = scenario_job(scenario, &server, 1);
    let (mut command, output) =
        run_command(binary, folder, &format!("sequential-{}", scenario.id), &job);
    let sample = timed(&mut command);
    assert!(
        sample.success,
        "the one-at-a-time run of {} failed",
        scenario.id
    );
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&output).expect("a result")).expect("JSON");
    let requests = result["stats"]["requests"].as_u64().unwrap_or(1).max(1);
    let seconds = result["stats"]["seconds"].as_f64().unwrap_or(0.0);
    Checked {
        pages,
        requests,
        seconds,
        scaled: seconds * estimate.requests as f64 / requests as f64,
    }
}

pub(crate) fn print_header() {
    println!();
    println!(
        "sequential estimate (the summary line's) vs a one-at-a-time run (concurrency 1, first pages, scaled to the run's requests)"
    );
    println!(
        "{:<4} {:<38} {:>8} {:>9} {:>10} {:>14} {:>10} {:>7}  verdict",
        "#", "scenario", "wall", "estimate", "measured", "(pages, reqs)", "raw", "est/m",
    );
}

pub(crate) fn print_row(scenario: &Scenario, estimate: &Estimate, checked: &Checked) {
    let (shown, ratio, verdict) = match estimate.seconds {
        None => (
            "none".to_owned(),
            "-".to_owned(),
            "no basis, said so".to_owned(),
        ),
        Some(seconds) => {
            let ratio = seconds / checked.scaled.max(1e-9);
            let verdict = if (ratio - 1.0).abs() <= TOLERANCE {
                "within ±30 %"
            } else {
                "OFF by more than 30 %"
            };
            (
                format!("{seconds:.2}s"),
                format!("{ratio:.2}"),
                verdict.to_owned(),
            )
        }
    };
    println!(
        "{:<4} {:<38} {:>8} {:>9} {:>10} {:>14} {:>10} {:>7}  {verdict}",
        scenario.id,
        scenario.name,
        format!("{:.2}s", estimate.wall),
        shown,
        format!("{:.2}s", checked.scaled),
        format!("({}, {})", checked.pages, checked.requests),
        format!("{:.2}s", checked.seconds),
        ratio,
    );
}
