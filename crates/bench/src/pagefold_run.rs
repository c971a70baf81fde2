//! One scenario run by the release `pagefold`: its job file, then the runs measured against a
//! demo API (the scenario's own, or one shared with other clients), and what the result says.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::demo_api::DemoApi;
use crate::measure::{Measured, median_of};
use crate::scenarios::{Scenario, scenario_job};
use crate::trace_cost;

/// Runs `scenario` against a demo API of its own, `repeat` times (`trace`: and what tracing
/// costs).
pub(crate) fn run_pagefold(
    binary: &Path,
    scenario: &Scenario,
    folder: &Path,
    repeat: usize,
    trace: bool,
) -> (Measured, Estimate, Option<trace_cost::TraceCost>) {
    let server = DemoApi::start(
        binary,
        scenario.pages,
        scenario.page_size,
        scenario.latency,
        scenario.totals,
        scenario.faults,
    );
    let job = scenario_job(scenario, &server, scenario.concurrency);
    run_job(binary, scenario, &job, &server, folder, repeat, trace)
}

/// `pagefold run` of `job`, written to `NAME.toml` in `folder`, quiet, its result going to
/// `NAME.json` there (returned) and its state to `folder/state`.
pub(crate) fn run_command(
    binary: &Path,
    folder: &Path,
    name: &str,
    job: &str,
) -> (Command, std::path::PathBuf) {
    let path = folder.join(format!("{name}.toml"));
    std::fs::write(&path, job).expect("the job file is written");
    let output = folder.join(format!("{name}.json"));
    let mut command = Command::new(binary);
    command
        .args(["run", "-q", "-o"])
        .arg(&output)
        .arg("--state")
        .arg(folder.join("state"))
        .arg(&path);
    (command, output)
}

/// Runs `job` (`scenario`'s, or one like it) against `server`, which may serve other clients
/// before and after: the median of `repeat` runs, checked for the scenario's record count.
pub(crate) fn run_job(
    binary: &Path,
    scenario: &Scenario,
    job: &str,
    server: &DemoApi,
    folder: &Path,
    repeat: usize,
    trace: bool,
) -> (Measured, Estimate, Option<trace_cost::TraceCost>) {
    let (mut command, output) =
        run_command(binary, folder, &format!("scenario-{}", scenario.id), job);
    let cost = trace.then(|| trace_cost::measure(&mut command, folder, repeat));
    let before = server.body_bytes();
    let sample = median_of(&mut command, repeat);
    let body_bytes = (server.body_bytes() - before) / repeat.max(1) as u64;
    let success = sample.success;
    let result = std::fs::read(&output)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let records = result
        .as_ref()
        .and_then(|result| result["records"].as_u64());
    let retries = result
        .as_ref()
        .and_then(|result| result["stats"]["retries"].as_u64());
    let waited_on_reducers = result
        .as_ref()
        .and_then(|result| result["stats"]["waited_on_reducers_seconds"].as_f64())
        .map(Duration::from_secs_f64);
    let expected = scenario.pages * scenario.page_size;
    let faulty = scenario.faults.iter().any(|flag| flag.ends_with("-rate"));
    let note = match (success, records) {
        (false, _) => "FAILED".into(),
        (true, Some(n)) if n == expected && faulty => {
            format!("exact, {} retries", retries.unwrap_or(0))
        }
        (true, Some(n)) if n == expected => String::new(),
        (true, other) => format!("WRONG: {other:?} records, expected {expected}"),
    };
    let estimate = Estimate::of(result.as_ref());
    let measured = Measured {
        wall: sample.wall,
        cpu: sample.cpu,
        peak_rss_kib: sample.peak_rss_kib,
        body_bytes,
        records,
        waited_on_reducers,
        note,
    };
    (measured, estimate, cost)
}

/// What a run said of itself: its requests, its wall time, and the summary line's estimate
/// of one page after another (which `sequential.rs` checks).
pub(crate) struct Estimate {
    /// `stats.sequential_seconds`: `None` when the run had no basis for one.
    pub(crate) seconds: Option<f64>,
    /// `stats.requests`.
    pub(crate) requests: u64,
    /// `stats.seconds`: the run's wall time.
    pub(crate) wall: f64,
}

impl Estimate {
    pub(crate) fn of(result: Option<&serde_json::Value>) -> Self {
        let stats = result.map(|result| &result["stats"]);
        Self {
            seconds: stats.and_then(|stats| stats["sequential_seconds"].as_f64()),
            requests: stats
                .and_then(|stats| stats["requests"].as_u64())
                .unwrap_or(0),
            wall: stats
                .and_then(|stats| stats["seconds"].as_f64())
                .unwrap_or(0.0),
        }
    }
}
