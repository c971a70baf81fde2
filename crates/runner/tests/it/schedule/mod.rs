//! The scheduler on a clock the tests move by hand: overlap, missed runs, job files edited
//! while running, graceful stop and resume; and `pagefold schedule` itself, on real time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use pagefold::observe::Observer;
use pagefold::schedule::{Event, ManualClock, Scheduler, SchedulerOptions};
use pagefold::state::StateDir;
use pagefold::state::history::{HistoryEntry, Status, Trigger};
use serde_json::Value;

use crate::gate::GateServer;
use crate::support::{Workspace, command};

mod binary;
mod edits;
mod harness;
mod observed;
mod process;
mod stopping;
mod supervised;
mod times;

use harness::Harness;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn t(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, hour, minute, second)
        .unwrap()
}

/// A job summing `/n` of the gate server's items, scheduled by `schedule`, with `extra`
/// top-level keys; its result goes to `out/NAME-HH-MM-SS.json` (the scheduled time).
fn gated_job(ws: &Workspace, name: &str, schedule: &str, extra: &str, api: &GateServer) -> PathBuf {
    write_job(ws, name, &job_text(schedule, extra, "n", api))
}

fn job_text(schedule: &str, extra: &str, reducer: &str, api: &GateServer) -> String {
    format!(
        "schedule = \"{schedule}\"\n{extra}\n[source]\nurl = \"{}\"\n\n[[reduce]]\nname = \"{reducer}\"\nuse = \"sum\"\nfield = \"/n\"\n\n[output]\npath = \"out/{{name}}-{{time}}.json\"\n",
        api.url()
    )
}

/// Writes a job file whole (a temporary file renamed over it), as editors do, so the
/// scheduler never reads half of it.
fn write_job(ws: &Workspace, name: &str, text: &str) -> PathBuf {
    let path = ws.path().join(format!("{name}.toml"));
    let temporary = ws.path().join(format!(".{name}.toml.tmp"));
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, &path).unwrap();
    path
}

fn options(ws: &Workspace, paths: Vec<PathBuf>, once: bool) -> SchedulerOptions {
    SchedulerOptions {
        paths,
        state: StateDir::open(Some(&ws.path().join("state"))).unwrap(),
        once,
        max_running: 4,
        grace: Duration::from_secs(20),
        // The clock is set to run times exactly: a run is on time only then. Otherwise a
        // harness started at :01 would find the :00 run on time, and run it.
        late: Duration::ZERO,
        reload_every: Duration::from_millis(20),
        workers: Some(1),
        trace: false,
        observer: Observer::default(),
        // Runs on threads: these tests are of the scheduling; `pagefold schedule` runs each
        // run in a child (see `supervised.rs`).
        child: None,
    }
}

fn started(due: DateTime<Utc>, trigger: Trigger) -> impl Fn(&Event) -> bool {
    move |event| matches!(event, Event::Started { due: Some(d), trigger: t, .. } if *d == due && *t == trigger)
}

fn finished(due: Option<DateTime<Utc>>, status: Status) -> impl Fn(&Event) -> bool {
    move |event| matches!(event, Event::Finished { entry, .. } if entry.scheduled_for == due && entry.status == status)
}

/// `pagefold schedule --once PATH` with the workspace's state; its output and stderr.
fn schedule_once(ws: &Workspace, path: &std::path::Path) -> (std::process::Output, String) {
    let output = command()
        .args(["schedule", "--once", "--state"])
        .arg(ws.path().join("state"))
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

fn history(ws: &Workspace, job: &str) -> Vec<HistoryEntry> {
    StateDir::open(Some(&ws.path().join("state")))
        .unwrap()
        .job(job)
        .history()
        .unwrap()
}

fn result(ws: &Workspace, file: &str) -> Value {
    let path = ws.path().join("out").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no result `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}
