//! Scenario 9: an API that meters each token (20 requests a second each, 429 past it), crawled
//! with one key and with four: the same job, `rate = "20/s"` (per key), four times the budget.

use std::path::Path;
use std::time::Duration;

use crate::demo_api::DemoApi;
use crate::measure::{Measured, median_of};

/// Tokens the demo API takes.
const TOKENS: [&str; 4] = ["bench-key-1", "bench-key-2", "bench-key-3", "bench-key-4"];

/// Runs the job with `keys` of the tokens; returns what was measured.
pub(crate) fn run_keys(binary: &Path, pages: u64, keys: usize, folder: &Path) -> Measured {
    let budget = [
        "--tokens",
        &TOKENS.join(","),
        "--token-budget",
        "20",
        "--window",
        "1s",
    ];
    let server = DemoApi::start(binary, pages, 50, Duration::ZERO, true, &budget);
    let tokens: Vec<String> = TOKENS[..keys].iter().map(|t| format!("\"{t}\"")).collect();
    let job = format!(
        "[source]\nurl = \"{url}\"\nrecords = \"/data\"\n[source.auth]\nkind = \"bearer\"\ntokens = [{tokens}]\n\
         [source.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"\n\
         [fetch]\nconcurrency = 16\nrate = \"20/s\"\nretries = 8\n[[reduce]]\nname = \"orders\"\nuse = \"count\"\n",
        url = server.url("/orders"),
        tokens = tokens.join(", "),
    );
    let (mut command, output) =
        crate::pagefold_run::run_command(binary, folder, &format!("scenario-9-{keys}"), &job);
    let sample = median_of(&mut command, 1);
    let result = std::fs::read(&output)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let records = result.as_ref().and_then(|r| r["records"].as_u64());
    let retries = result
        .as_ref()
        .and_then(|r| r["stats"]["retries"].as_u64())
        .unwrap_or(0);
    let note = match records {
        Some(n) if n == pages * 50 => format!("exact, {retries} retries (429s)"),
        other => format!("WRONG: {other:?} records"),
    };
    Measured {
        wall: sample.wall,
        cpu: sample.cpu,
        peak_rss_kib: sample.peak_rss_kib,
        body_bytes: server.body_bytes(),
        records,
        waited_on_reducers: None,
        note,
    }
}
