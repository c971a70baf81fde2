//! Scenario 16: dlt side by side. dlt's `RESTClient.paginate` with its `PageNumberPaginator`
//! (the page-number client of dlt's REST API source) over the same demo API pages as pagefold,
//! folding the same aggregates in Python as pages arrive (`dlt_script.py`), beside pagefold
//! with the scenarios' usual aggregates: wall, CPU, peak RSS, and the record counts checked
//! equal. dlt fetches a chain of pages one after another, so its wall time is about the pages
//! times the latency; the default run serves it 200 pages of 50 at 50 ms, `--big` 2 000.
//!
//! dlt lives in a virtual environment of the benchmark's own, made once under the target
//! folder (`bench-venv`) and reused; where `python3 -m venv` or `pip install dlt` fails, the
//! row says so and the benchmark goes on. dlt's telemetry is switched off for the run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::demo_api::DemoApi;
use crate::measure::{Measured, timed};
use crate::pagefold_run::run_job;
use crate::report::ideal;
use crate::scenarios::scenario_job;
use crate::scenarios::{AGGREGATES, Scenario};
use crate::section::{Row, Section, times};

const PAGE_SIZE: u64 = 50;
const LATENCY: Duration = Duration::from_millis(50);

/// Runs scenario 16 over `pages` pages; `target` is the cargo target folder that holds the
/// virtual environment.
pub(crate) fn run(
    binary: &Path,
    pages: u64,
    target: &Path,
    folder: &Path,
    repeat: usize,
) -> Section {
    let server = DemoApi::start(binary, pages, PAGE_SIZE, LATENCY, true, &[]);
    let scenario = Scenario::plain(
        ("16a", "pagefold, beside dlt"),
        (pages, PAGE_SIZE),
        LATENCY,
        64,
        AGGREGATES,
    );
    let job = scenario_job(&scenario, &server, 64);
    let (ours, _, _) = run_job(binary, &scenario, &job, &server, folder, repeat, false);
    let theirs = match python_with_dlt(target) {
        Ok(python) => run_dlt(&python, &server, folder, ours.records),
        Err(why) => Measured::noted(format!("skipped: {why}")),
    };
    let details = vec![compare(&ours, &theirs)];
    let ideal = ideal(pages, 64, LATENCY);
    let rows = vec![
        Row::of(&scenario, ours, ideal),
        Row {
            id: "16b",
            name: "dlt RESTClient.paginate, page numbers".into(),
            concurrency: 0,
            ..Row::of(&scenario, theirs, ideal)
        },
    ];
    Section {
        rows,
        targets: Vec::new(),
        details,
    }
}

/// The virtual environment's python, with dlt installed (made or completed now if need be),
/// or why there is none.
fn python_with_dlt(target: &Path) -> Result<PathBuf, String> {
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python");
    let quiet = |command: &mut Command| {
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !python.exists() && !quiet(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        return Err(format!("`python3 -m venv {}` failed", venv.display()));
    }
    let has_dlt = |python: &Path| quiet(Command::new(python).args(["-c", "import dlt"]));
    if !has_dlt(&python) {
        eprintln!("installing dlt into {} (once)…", venv.display());
        let installed = quiet(Command::new(&python).args(["-m", "pip", "install", "-q", "dlt"]));
        if !installed || !has_dlt(&python) {
            return Err("`pip install dlt` failed".into());
        }
    }
    Ok(python)
}

fn run_dlt(python: &Path, server: &DemoApi, folder: &Path, expected: Option<u64>) -> Measured {
    let script = folder.join("dlt_script.py");
    std::fs::write(&script, include_str!("dlt_script.py")).expect("the script is written");
    let output = folder.join("dlt_script.json");
    let stdout = std::fs::File::create(&output).expect("the output file is created");
    let mut command = Command::new(python);
    command
        .arg(&script)
        .arg(server.url(""))
        .arg(PAGE_SIZE.to_string())
        // No usage reports to dlt's servers: the benchmark talks to loopback only.
        .env("RUNTIME__DLTHUB_TELEMETRY", "false")
        .stdout(stdout);
    let before = server.body_bytes();
    let sample = timed(&mut command);
    let records = std::fs::read(&output)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|result| result["records"].as_u64());
    let note = match (sample.success, records, expected) {
        (false, _, _) => "FAILED".into(),
        (true, Some(n), Some(ours)) if n == ours => format!("{n} records, as pagefold"),
        (true, n, ours) => format!("WRONG: {n:?} records, pagefold {ours:?}"),
    };
    Measured {
        wall: sample.wall,
        cpu: sample.cpu,
        peak_rss_kib: sample.peak_rss_kib,
        body_bytes: server.body_bytes() - before,
        records,
        waited_on_reducers: None,
        note,
    }
}

/// One line: how many times pagefold's wall, CPU and peak RSS are dlt's.
fn compare(ours: &Measured, theirs: &Measured) -> String {
    let good = |m: &Measured| crate::section::is_good(m) && !m.wall.is_zero();
    if !good(ours) || !good(theirs) {
        return format!("\ndlt (16): no comparison ({})", theirs.note);
    }
    let ratio = |a: f64, b: f64| Some(a / b.max(1e-9));
    format!(
        "\ndlt (16): dlt takes {} the wall time of pagefold, {} its CPU, {} its peak RSS",
        times(ratio(theirs.wall.as_secs_f64(), ours.wall.as_secs_f64())),
        times(ratio(theirs.cpu.as_secs_f64(), ours.cpu.as_secs_f64())),
        times(ratio(theirs.peak_rss_kib as f64, ours.peak_rss_kib as f64)),
    )
}
