//! What `pagefold run --trace` costs: the same run with and without it, alternated so that a
//! busy spell of the machine hits both alike, `repeat` times each (at least 21); the median wall
//! times, the median of the pairs' ratios (a pair ran side by side in time, so its ratio is
//! what a drift of the machine's speed moves least: the figure the target is read from), and
//! the trace file's bytes per request.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::measure::timed;

/// The cost of tracing one scenario.
pub(crate) struct TraceCost {
    pub(crate) untraced: Duration,
    pub(crate) traced: Duration,
    /// The median of traced / untraced, pair by pair.
    pub(crate) ratio: f64,
    pub(crate) bytes: u64,
    pub(crate) requests: u64,
}

/// Runs `command` (a `pagefold run`) alternately without and with `--trace`.
pub(crate) fn measure(command: &mut Command, folder: &Path, repeat: usize) -> TraceCost {
    let trace = folder.join("bench.trace.json");
    let mut traced_command = Command::new(command.get_program());
    traced_command
        .args(command.get_args())
        .arg("--trace")
        .arg(&trace);
    let (mut untraced, mut traced) = (Vec::new(), Vec::new());
    // A warm-up run of each, not counted: page cache, the server's first connections.
    timed(command);
    timed(&mut traced_command);
    let mut ratios = Vec::new();
    for _ in 0..repeat.max(21) {
        let without = timed(command).wall;
        let with = timed(&mut traced_command).wall;
        ratios.push(with.as_secs_f64() / without.as_secs_f64().max(1e-9));
        untraced.push(without);
        traced.push(with);
    }
    untraced.sort();
    traced.sort();
    ratios.sort_by(f64::total_cmp);
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    let requests = text.matches("\"cat\":\"request\"").count() as u64;
    TraceCost {
        untraced: untraced[untraced.len() / 2],
        traced: traced[traced.len() / 2],
        ratio: ratios[ratios.len() / 2],
        bytes: text.len() as u64,
        requests,
    }
}

/// One line: the overhead in wall time and the bytes a request.
pub(crate) fn print(id: &str, cost: &TraceCost) {
    let overhead = cost.ratio - 1.0;
    let verdict = if overhead <= 0.03 { "met" } else { "MISSED" };
    println!(
        "--trace on scenario {id}: wall {:.3}s → {:.3}s (medians), {:+.1}% (median of pairs; target ≤ +3%: {verdict}), trace {} bytes for {} requests = {:.0} bytes/request",
        cost.untraced.as_secs_f64(),
        cost.traced.as_secs_f64(),
        overhead * 100.0,
        cost.bytes,
        cost.requests,
        cost.bytes as f64 / cost.requests.max(1) as f64,
    );
}
