//! Scenario 8: a nightly incremental run against the full run.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::demo_api::DemoApi;
use crate::measure::{Measured, Sample, median_of, timed};
use crate::scenarios::AGGREGATES;

/// Scenario 8: a job run nightly over data that grew by `added` pages since the last run:
/// the full run against the incremental one (`[source.incremental]`, `carry = true`), which
/// must give the same totals from the new pages only.
pub(crate) fn run_incremental(
    binary: &Path,
    before: u64,
    added: u64,
    folder: &Path,
    repeat: usize,
) -> (Measured, Measured) {
    let latency = Duration::from_millis(20);
    let state = folder.join("state-8");
    let job = |server: &DemoApi, incremental: bool, name: &str| {
        let incremental = if incremental {
            "[source.incremental]\nfield = \"/updated_at\"\nparam = \"updated_since\"\nlag = \"10m\"\ncarry = true\n"
        } else {
            ""
        };
        let text = format!(
            "name = \"nightly\"\n[source]\nurl = \"{url}\"\nrecords = \"/data\"\n{incremental}[source.pagination]\nkind = \"page\"\n\
             size_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"\n[fetch]\nconcurrency = 64\n{AGGREGATES}",
            url = server.url("/orders"),
        );
        let path = folder.join(name);
        std::fs::write(&path, text).expect("the job file is written");
        path
    };
    let run = |job: &Path, output: &Path| {
        let mut command = Command::new(binary);
        command
            .args(["run", "-q", "-o"])
            .arg(output)
            .arg("--state")
            .arg(&state)
            .arg(job);
        command
    };
    let output = folder.join("scenario-8.json");
    {
        let server = DemoApi::start(binary, before, 50, latency, true, &[]);
        let first = job(&server, true, "scenario-8.toml");
        assert!(
            timed(&mut run(&first, &output)).success,
            "the first nightly run failed"
        );
    }
    let mark = state.join("jobs/nightly/incremental.json");
    let saved = std::fs::read(&mark).expect("the first run kept its mark");
    let server = DemoApi::start(binary, before + added, 50, latency, true, &[]);
    let read = |output: &Path| -> serde_json::Value {
        std::fs::read(output)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    };
    let full_output = folder.join("scenario-8-full.json");
    // One job file for all three: a state folder holds a job name for one file only.
    let full_job = job(&server, false, "scenario-8.toml");
    let bytes_before = server.body_bytes();
    let full_sample = median_of(&mut run(&full_job, &full_output), repeat);
    let full_bytes = (server.body_bytes() - bytes_before) / repeat.max(1) as u64;
    let full_result = read(&full_output);
    // Each repetition starts from the first run's state, as the next night would.
    let incremental_job = job(&server, true, "scenario-8.toml");
    let bytes_before = server.body_bytes();
    let mut samples: Vec<Sample> = (0..repeat.max(1))
        .map(|_| {
            std::fs::write(&mark, &saved).expect("the mark is restored");
            timed(&mut run(&incremental_job, &output))
        })
        .collect();
    let incremental_bytes = (server.body_bytes() - bytes_before) / repeat.max(1) as u64;
    samples.sort_by_key(|sample| sample.wall);
    let incremental_sample = samples.swap_remove(samples.len() / 2);
    let result = read(&output);
    let same = result["reducers"] == full_result["reducers"] && !result["reducers"].is_null();
    let note = if !incremental_sample.success {
        "FAILED".to_owned()
    } else if same {
        format!(
            "totals = full run; {} new records, {} requests, {} seen again",
            result["records"], result["stats"]["requests"], result["incremental"]["seen_before"]
        )
    } else {
        "WRONG: the totals differ from the full run's".to_owned()
    };
    let measured = |sample: Sample, bytes: u64, records: Option<u64>, note: String| Measured {
        wall: sample.wall,
        cpu: sample.cpu,
        waited_on_reducers: None,
        peak_rss_kib: sample.peak_rss_kib,
        body_bytes: bytes,
        records,
        note,
    };
    (
        measured(
            full_sample,
            full_bytes,
            full_result["records"].as_u64(),
            format!("{} requests", full_result["stats"]["requests"]),
        ),
        measured(
            incremental_sample,
            incremental_bytes,
            result["records"].as_u64(),
            note,
        ),
    )
}
