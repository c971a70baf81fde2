//! Scenario 15 (`--big`): 10 000 000 distinct values, counted exactly (`distinct`) and
//! estimated (`approx_distinct`), each over the same 100 000 pages of 100 orders (every order
//! id once), without latency, 64 in flight: the wall time and peak RSS of each, and how far the
//! estimate lands from the truth.
//!
//! `approx_distinct` is a newer built-in: when `pagefold validate` refuses the job, this
//! build has none, and its row says so rather than failing the benchmark.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::demo_api::DemoApi;
use crate::measure::Measured;
use crate::pagefold_run::run_job;
use crate::scenarios::Scenario;
use crate::scenarios::scenario_job;
use crate::section::{Row, Section};

const PAGE_SIZE: u64 = 100;

/// Runs scenario 15 over `pages` pages of 100 orders, once each: at this size a run is long
/// enough that one is a fair figure.
pub(crate) fn run(binary: &Path, pages: u64, folder: &Path) -> Section {
    // Rendered once at start (about 2 GB in the server's own process, not the runs'), so that
    // the server's JSON encoding does not take the runs' cores.
    let server = DemoApi::start(binary, pages, PAGE_SIZE, Duration::ZERO, true, &[]);
    let truth = pages * PAGE_SIZE;
    let mut section = Section::default();
    for (id, name, reducer) in [
        ("15a", "10 000 000 distinct: exact", "distinct"),
        (
            "15b",
            "10 000 000 distinct: approx_distinct",
            "approx_distinct",
        ),
    ] {
        let scenario = Scenario::plain(
            (id, name),
            (pages, PAGE_SIZE),
            Duration::ZERO,
            64,
            format!("[[reduce]]\nname = \"ids\"\nuse = \"{reducer}\"\nfield = \"/id\"\n"),
        );
        let job = scenario_job(&scenario, &server, 64);
        let measured = if available(binary, &job, folder, id) {
            let (mut measured, _, _) = run_job(binary, &scenario, &job, &server, folder, 1, false);
            if measured.note.is_empty() {
                measured.note = accuracy(&folder.join(format!("scenario-{id}.json")), truth);
            }
            measured
        } else {
            Measured::noted("not available in this build")
        };
        section.rows.push(Row::of(&scenario, measured, None));
    }
    section
}

/// Whether this build's `pagefold validate` accepts `job`.
fn available(binary: &Path, job: &str, folder: &Path, id: &str) -> bool {
    let path = folder.join(format!("scenario-{id}-validate.toml"));
    std::fs::write(&path, job).expect("the job file is written");
    Command::new(binary)
        .arg("validate")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// What the result counted, beside the truth: exact, or off by how much.
fn accuracy(output: &Path, truth: u64) -> String {
    let counted = std::fs::read(output)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .map(|result| result["reducers"]["ids"].clone());
    // `distinct` gives a number; `approx_distinct`, an object with its `estimate` and error.
    let number = counted
        .as_ref()
        .and_then(|value| value.as_f64().or_else(|| value["estimate"].as_f64()));
    match number {
        Some(n) if n == truth as f64 => format!("{truth} values, exact"),
        Some(n) => format!(
            "{n:.0} values, {:+.2} % off {truth}{}",
            (n - truth as f64) / truth as f64 * 100.0,
            counted
                .as_ref()
                .and_then(|value| value["relative_standard_error"].as_f64())
                .map(|error| format!(" (standard error {:.2} %)", error * 100.0))
                .unwrap_or_default()
        ),
        None => format!("WRONG: `ids` is {}", counted.unwrap_or_default()),
    }
}
