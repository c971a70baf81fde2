//! The scheduler on a clock the tests move by hand: overlap, missed runs, job files edited
//! while running, graceful stop and resume; and `pagefold schedule` itself, on real time.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use pagefold::history::{HistoryEntry, Status, Trigger};
use pagefold::schedule::{Event, ManualClock, Scheduler, SchedulerOptions};
use pagefold::state::StateDir;
use serde_json::Value;

use crate::gate::GateServer;
use crate::support::{Workspace, command};

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
    }
}

/// A scheduler running on its own thread, on a manual clock.
struct Harness {
    clock: ManualClock,
    events: Receiver<Event>,
    signals: tokio::sync::mpsc::UnboundedSender<&'static str>,
    thread: Option<std::thread::JoinHandle<()>>,
    log: Vec<String>,
}

impl Harness {
    fn start(options: SchedulerOptions, at: DateTime<Utc>) -> Self {
        let clock = ManualClock::new(at);
        let (events_to, mut events) = tokio::sync::mpsc::unbounded_channel();
        let (scheduler, runs) =
            Scheduler::new(options, Arc::new(clock.clone()), events_to).expect("it starts");
        let (signals, signals_from) = tokio::sync::mpsc::unbounded_channel();
        let (forward_to, forwarded) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let forward = tokio::spawn(async move {
                    while let Some(event) = events.recv().await {
                        let _ = forward_to.send(event);
                    }
                });
                scheduler.run(runs, signals_from).await;
                let _ = forward.await;
            });
        });
        Self {
            clock,
            events: forwarded,
            signals,
            thread: Some(thread),
            log: Vec::new(),
        }
    }

    /// The next event that `wanted` accepts; the ones before it are kept in the log.
    fn expect(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.log.push(event.to_string());
                    if wanted(&event) {
                        return event;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no event: {what}; the events were:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Waits for the scheduler to return (after `--once`, or a signal); the events left.
    fn join(mut self) -> Vec<String> {
        self.thread
            .take()
            .unwrap()
            .join()
            .expect("the scheduler returns");
        self.log
            .extend(self.events.try_iter().map(|event| event.to_string()));
        self.log
    }

    fn stop(self) -> Vec<String> {
        self.signals.send("SIGTERM").unwrap();
        self.join()
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

#[test]
fn due_times_follow_the_job_time_zone_across_a_daylight_saving_change() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = gated_job(
        &ws,
        "berlin",
        "30 2 * * *",
        "timezone = \"Europe/Berlin\"",
        &api,
    );
    let mut h = Harness::start(options(&ws, vec![job], false), utc("2026-03-28T12:00:00Z"));
    // 02:30 does not exist in Berlin on 29 March (02:00 → 03:00): the run is at 03:00 CEST.
    h.expect(
        "loaded",
        |e| matches!(e, Event::Loaded { next: Some(n), .. } if *n == utc("2026-03-29T01:00:00Z")),
    );
    h.clock.set(utc("2026-03-29T01:00:00Z"));
    h.expect(
        "the run of the short night",
        |e| matches!(e, Event::Started { due: Some(d), .. } if *d == utc("2026-03-29T01:00:00Z")),
    );
    h.expect("it ends", |e| matches!(e, Event::Finished { .. }));
    // The next night is on summer time: 02:30 CEST is 00:30 UTC. Nothing runs before it.
    h.clock.set(utc("2026-03-30T00:29:59Z"));
    h.clock.set(utc("2026-03-30T00:30:00Z"));
    h.expect(
        "the next run",
        |e| matches!(e, Event::Started { due: Some(d), .. } if *d == utc("2026-03-30T00:30:00Z")),
    );
    h.expect("it ends", |e| matches!(e, Event::Finished { .. }));
    let log = h.stop();
    assert_eq!(
        log.iter().filter(|l| l.contains(": started")).count(),
        2,
        "{log:#?}"
    );
    assert!(
        ws.path().join("out/berlin-03-00-00.json").exists(),
        "stamped in Berlin time"
    );
    assert!(ws.path().join("out/berlin-02-30-00.json").exists());
}

#[test]
fn an_interval_job_runs_in_both_passes_of_the_hour_clocks_fall_back() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = gated_job(
        &ws,
        "halves",
        "*/30 * * * *",
        "timezone = \"Europe/Berlin\"",
        &api,
    );
    let mut h = Harness::start(options(&ws, vec![job], false), utc("2026-10-24T23:45:00Z"));
    // 02:00 and 02:30 summer time, then 02:00 and 02:30 winter time, then 03:00.
    for due in [
        "2026-10-25T00:00:00Z",
        "2026-10-25T00:30:00Z",
        "2026-10-25T01:00:00Z",
        "2026-10-25T01:30:00Z",
        "2026-10-25T02:00:00Z",
    ] {
        h.clock.set(utc(due));
        h.expect(due, started(utc(due), Trigger::Schedule));
        h.expect("it ends", |e| matches!(e, Event::Finished { .. }));
    }
    let log = h.stop();
    assert_eq!(
        log.iter().filter(|l| l.contains(": started")).count(),
        5,
        "{log:#?}"
    );
}

#[test]
fn a_run_due_while_the_last_still_runs_is_skipped() {
    let api = GateServer::start(false);
    let ws = Workspace::new();
    let job = gated_job(&ws, "sk", "*/10 * * * * *", "overlap = \"skip\"", &api);
    let mut h = Harness::start(options(&ws, vec![job], false), t(0, 0, 1));
    h.expect(
        "loaded, next at :10",
        |e| matches!(e, Event::Loaded { next: Some(n), .. } if *n == t(0, 0, 10)),
    );
    h.clock.set(t(0, 0, 10));
    h.expect("the :10 run", started(t(0, 0, 10), Trigger::Schedule));
    h.clock.set(t(0, 0, 20));
    h.expect("the :20 run skipped", |e| {
        matches!(e, Event::NotRun { entry } if entry.status == Status::Skipped && entry.scheduled_for == Some(t(0, 0, 20)))
    });
    api.open();
    h.expect("the :10 run ends", finished(Some(t(0, 0, 10)), Status::Ok));
    let log = h.stop();
    assert!(
        !log.iter()
            .any(|line| line.contains("scheduled for 2026-03-01T00:00:20")),
        "{log:#?}"
    );
    let statuses: Vec<Status> = history(&ws, "sk").iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Status::Skipped, Status::Ok]);
    assert_eq!(result(&ws, "sk-00-00-10.json")["reducers"]["n"], 6);
    assert_eq!(api.requests(), 1);
}

#[test]
fn a_run_due_while_the_last_still_runs_is_queued() {
    let api = GateServer::start(false);
    let ws = Workspace::new();
    let job = gated_job(&ws, "qu", "*/10 * * * * *", "overlap = \"queue\"", &api);
    let mut h = Harness::start(options(&ws, vec![job], false), t(0, 0, 1));
    h.clock.set(t(0, 0, 10));
    h.expect("the :10 run", started(t(0, 0, 10), Trigger::Schedule));
    h.clock.set(t(0, 0, 20));
    h.expect(
        "the :20 run queued",
        |e| matches!(e, Event::Queued { due: Some(d), .. } if *d == t(0, 0, 20)),
    );
    api.open();
    h.expect("the :10 run ends", finished(Some(t(0, 0, 10)), Status::Ok));
    h.expect(
        "the :20 run, after it",
        started(t(0, 0, 20), Trigger::Schedule),
    );
    h.expect("the :20 run ends", finished(Some(t(0, 0, 20)), Status::Ok));
    h.stop();
    let statuses: Vec<Status> = history(&ws, "qu").iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Status::Ok, Status::Ok]);
    assert_eq!(result(&ws, "qu-00-00-20.json")["reducers"]["n"], 6);
}

#[test]
fn runs_missed_while_down_are_skipped_or_run_once() {
    let api = GateServer::start(true);
    for (policy, runs) in [("skip", 0), ("run_once", 1)] {
        let ws = Workspace::new();
        let name = format!("missed_{policy}");
        let job = gated_job(
            &ws,
            &name,
            "0 * * * *",
            &format!("missed = \"{policy}\""),
            &api,
        );
        let state = StateDir::open(Some(&ws.path().join("state"))).unwrap();
        state.job(&name).set_last_due(t(0, 0, 0)).unwrap();
        // Down from just after 00:00 to 03:30: the runs of 01:00, 02:00 and 03:00 were missed.
        let mut h = Harness::start(options(&ws, vec![job], true), t(3, 30, 0));
        if runs == 0 {
            h.expect("the missed run recorded", |e| {
                matches!(e, Event::NotRun { entry } if entry.status == Status::Missed
                    && entry.scheduled_for == Some(t(3, 0, 0))
                    && entry.error.as_deref().is_some_and(|why| why.contains("3 runs missed")))
            });
        } else {
            h.expect("one catch-up run", started(t(3, 0, 0), Trigger::CatchUp));
            h.expect("it ends", finished(Some(t(3, 0, 0)), Status::Ok));
        }
        let log = h.join();
        let started_runs = log.iter().filter(|line| line.contains(": started")).count();
        assert_eq!(started_runs, runs, "{policy}: {log:#?}");
        let last = state.job(&name).last_due().unwrap();
        assert_eq!(
            last,
            Some(t(3, 0, 0)),
            "{policy}: the missed runs are handled"
        );
    }
}

#[test]
fn once_runs_what_is_due_now_and_nothing_else() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = gated_job(&ws, "hourly", "0 * * * *", "", &api);
    // A first start long after the last scheduled time: nothing was missed, nothing is due.
    let log = Harness::start(options(&ws, vec![job.clone()], true), t(3, 30, 0)).join();
    assert!(
        !log.iter().any(|line| line.contains(": started")),
        "{log:#?}"
    );
    assert_eq!(api.requests(), 0);
    // 30 s after 04:00 is on time (within --late): it runs, once.
    let mut settings = options(&ws, vec![job.clone()], true);
    settings.late = Duration::from_secs(60);
    let mut h = Harness::start(settings, t(4, 0, 30));
    h.expect("the 04:00 run", started(t(4, 0, 0), Trigger::Schedule));
    h.join();
    let log = Harness::start(options(&ws, vec![job], true), t(4, 0, 40)).join();
    assert!(
        !log.iter().any(|line| line.contains(": started")),
        "{log:#?}"
    );
    assert_eq!(api.requests(), 1);
    assert_eq!(history(&ws, "hourly").len(), 1);
}

#[test]
fn a_job_file_edited_while_running_is_reloaded_and_a_broken_edit_keeps_the_last_good() {
    let api = GateServer::start(false);
    let ws = Workspace::new();
    let job = gated_job(&ws, "edited", "*/10 * * * * *", "", &api);
    let mut h = Harness::start(options(&ws, vec![ws.path().to_owned()], false), t(0, 0, 1));
    h.clock.set(t(0, 0, 10));
    h.expect("the :10 run", started(t(0, 0, 10), Trigger::Schedule));
    write_job(&ws, "edited", &job_text("0 99 * * *", "", "n", &api));
    let rejected = h.expect("the broken edit reported", |e| {
        matches!(e, Event::Rejected { .. })
    });
    let Event::Rejected {
        message,
        kept,
        file,
    } = rejected
    else {
        unreachable!()
    };
    assert!(kept);
    assert_eq!(file, job);
    assert!(
        message.contains("edited.toml:1:15: invalid hour field `99`"),
        "{message}"
    );
    // Still scheduled as it was: the :20 run is due (and skipped, the :10 one still runs).
    h.clock.set(t(0, 0, 20));
    h.expect(
        "the last good version goes on",
        |e| matches!(e, Event::NotRun { entry } if entry.scheduled_for == Some(t(0, 0, 20))),
    );
    write_job(
        &ws,
        "edited",
        &job_text("*/15 * * * * *", "", "total", &api),
    );
    h.expect(
        "the good edit loaded",
        |e| matches!(e, Event::Loaded { reloaded: true, next: Some(n), .. } if *n == t(0, 0, 30)),
    );
    api.open();
    h.expect("the :10 run ends", finished(Some(t(0, 0, 10)), Status::Ok));
    h.clock.set(t(0, 0, 30));
    h.expect(
        "the new version runs",
        started(t(0, 0, 30), Trigger::Schedule),
    );
    h.expect("and ends", finished(Some(t(0, 0, 30)), Status::Ok));
    // A file added to the folder is picked up.
    write_job(&ws, "added", &job_text("*/15 * * * * *", "", "n", &api));
    h.expect(
        "the new file loaded",
        |e| matches!(e, Event::Loaded { job, reloaded: false, .. } if job == "added"),
    );
    h.stop();
    assert_eq!(result(&ws, "edited-00-00-10.json")["reducers"]["n"], 6);
    assert_eq!(result(&ws, "edited-00-00-30.json")["reducers"]["total"], 6);
}

#[test]
fn a_stop_lets_runs_finish_within_the_grace_period() {
    let api = GateServer::start(false);
    let ws = Workspace::new();
    let job = gated_job(&ws, "graceful", "*/10 * * * * *", "", &api);
    let mut h = Harness::start(options(&ws, vec![job], false), t(0, 0, 1));
    h.clock.set(t(0, 0, 10));
    h.expect("the :10 run", started(t(0, 0, 10), Trigger::Schedule));
    h.signals.send("SIGTERM").unwrap();
    h.expect("stopping", |e| {
        matches!(e, Event::Stopping { running: 1, .. })
    });
    // No new run starts once stopping, even if due.
    h.clock.set(t(0, 0, 20));
    api.open();
    h.expect("the run ends well", finished(Some(t(0, 0, 10)), Status::Ok));
    let log = h.join();
    assert!(
        !log.iter().any(|line| line.contains("grace period over")),
        "{log:#?}"
    );
    assert!(
        !log.iter()
            .any(|line| line.contains("scheduled for 2026-03-01T00:00:20"))
    );
    assert_eq!(result(&ws, "graceful-00-00-10.json")["reducers"]["n"], 6);
}

#[test]
fn after_the_grace_period_runs_checkpoint_stop_and_resume_at_the_next_start() {
    let api = GateServer::start(false);
    let ws = Workspace::new();
    let job = gated_job(&ws, "held", "*/10 * * * * *", "", &api);
    let mut settings = options(&ws, vec![job.clone()], false);
    settings.grace = Duration::from_millis(50);
    let mut h = Harness::start(settings, t(0, 0, 1));
    h.clock.set(t(0, 0, 10));
    h.expect("the :10 run", started(t(0, 0, 10), Trigger::Schedule));
    h.signals.send("SIGTERM").unwrap();
    h.expect("the grace period ends", |e| {
        matches!(e, Event::GraceOver { running: 1 })
    });
    h.expect(
        "the run stops",
        finished(Some(t(0, 0, 10)), Status::Interrupted),
    );
    h.join();
    let checkpoint = ws
        .path()
        .join("state/jobs/held/checkpoint/held.checkpoint.json");
    assert!(checkpoint.exists(), "the stopped run left its checkpoint");
    assert!(
        !ws.path().join("out").exists(),
        "no result from a stopped run"
    );
    // The next start resumes it, even with nothing due.
    api.open();
    let mut h = Harness::start(options(&ws, vec![job], true), t(0, 0, 15));
    h.expect("the resume", |e| {
        matches!(
            e,
            Event::Started {
                trigger: Trigger::Resume,
                ..
            }
        )
    });
    // It is still the :10 run: its history and its output say so.
    h.expect("it ends", finished(Some(t(0, 0, 10)), Status::Ok));
    h.join();
    assert!(
        !checkpoint.exists(),
        "a finished run removes its checkpoint"
    );
    assert_eq!(result(&ws, "held-00-00-10.json")["reducers"]["n"], 6);
    let statuses: Vec<Status> = history(&ws, "held").iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Status::Interrupted, Status::Ok]);
}

#[test]
fn at_most_max_running_runs_at_a_time() {
    let api = GateServer::start(false);
    let ws = Workspace::new();
    for name in ["a", "b", "c"] {
        gated_job(&ws, name, "*/10 * * * * *", "", &api);
    }
    let mut settings = options(&ws, vec![ws.path().to_owned()], false);
    settings.max_running = 2;
    let mut h = Harness::start(settings, t(0, 0, 1));
    h.clock.set(t(0, 0, 10));
    h.expect("a first run", started(t(0, 0, 10), Trigger::Schedule));
    h.expect("a second run", started(t(0, 0, 10), Trigger::Schedule));
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.requests() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(api.requests(), 2, "two runs at the gate, the third waits");
    h.expect(
        "the third told to wait",
        |e| matches!(e, Event::Queued { behind, .. } if behind.contains("--max-running")),
    );
    api.open();
    let (mut ended, mut third_started_after) = (0, None);
    while ended < 3 {
        match h.expect("runs ending, and the third starting", |e| {
            matches!(e, Event::Started { .. } | Event::Finished { .. })
        }) {
            Event::Started { .. } => third_started_after = Some(ended),
            _ => ended += 1,
        }
    }
    assert!(
        third_started_after.is_some_and(|ended| ended >= 1),
        "the third run starts once a run has ended"
    );
    h.stop();
}

/// `pagefold schedule` on real time: a job every second runs until SIGTERM, which ends the
/// scheduler with exit 0 and leaves the history.
#[test]
fn the_binary_runs_jobs_until_sigterm() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    gated_job(&ws, "every_second", "* * * * * *", "", &api);
    let state = ws.path().join("state");
    let child = command()
        .args(["schedule", "--state"])
        .arg(&state)
        .arg(ws.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let history_file = state.join("jobs/every_second/history.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&history_file).is_ok_and(|text| text.lines().count() >= 2) {
        assert!(Instant::now() < deadline, "no runs recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("every_second: loaded"), "{stderr}");
    assert!(stderr.contains("SIGTERM: no new runs"), "{stderr}");
    let shown = command()
        .args(["history", "every_second", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&shown.stdout);
    assert!(table.starts_with("started "), "{table}");
    assert!(table.lines().any(|line| line.contains(" ok ")), "{table}");
}

#[test]
fn the_binary_with_once_and_nothing_due_does_nothing() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    // Once a year, and never in the minute the test runs.
    let month = if chrono::Utc::now().format("%m").to_string() == "01" {
        7
    } else {
        1
    };
    let job = gated_job(&ws, "new_year", &format!("0 0 1 {month} *"), "", &api);
    let (output, stderr) = schedule_once(&ws, &job);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("new_year: loaded"), "{stderr}");
    assert!(!stderr.contains("started"), "{stderr}");
    assert_eq!(api.requests(), 0);
    assert!(!ws.path().join("out").exists());
    assert!(history(&ws, "new_year").is_empty());
}

#[test]
fn a_broken_file_in_a_folder_is_reported_and_the_others_run() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    write_job(
        &ws,
        "broken",
        "schedule = \"0 * * *\"\n[source]\nurl = \"http://x/\"\n",
    );
    gated_job(&ws, "fine", "0 * * * *", "", &api);
    let (output, stderr) = schedule_once(&ws, ws.path());
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("broken.toml:1:12: a cron expression has 5 or 6 fields, `0 * * *` has 4"),
        "{stderr}"
    );
    assert!(stderr.contains("fine: loaded"), "{stderr}");
    // With nothing else to run, the broken file is the error, with its place.
    std::fs::remove_file(ws.path().join("fine.toml")).unwrap();
    let (output, stderr) = schedule_once(&ws, ws.path());
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("broken.toml:1:12: a cron expression has 5 or 6 fields"),
        "{stderr}"
    );
}

#[test]
fn the_binary_refuses_a_named_file_without_a_schedule() {
    let ws = Workspace::new();
    let job = ws.job("plain.toml", "[source]\nurl = \"http://127.0.0.1:9/x\"\n");
    let (output, stderr) = schedule_once(&ws, &job);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("error: `{}` has no `schedule`", job.display())),
        "{stderr}"
    );
    assert!(stderr.contains("hint: add e.g. schedule ="), "{stderr}");
}

#[test]
fn once_exits_1_when_a_run_fails_and_records_why() {
    let ws = Workspace::new();
    // Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
    let job = write_job(
        &ws,
        "down",
        "schedule = \"* * * * * *\"\n[source]\nurl = \"http://127.0.0.1:9/items\"\n[fetch]\nretries = 0\n",
    );
    let (output, stderr) = schedule_once(&ws, &job);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("down: started"), "{stderr}");
    assert!(stderr.contains(" failed in "), "{stderr}");
    let entries = history(&ws, "down");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, Status::Failed);
    let error = entries[0].error.as_deref().unwrap_or_default();
    assert!(
        error.contains("http://127.0.0.1:9/items"),
        "the URL is named: {error}"
    );
}

#[test]
fn one_run_of_a_job_at_a_time_across_processes() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    // Incremental, so that `pagefold run` of it shares state with scheduled runs.
    let job = write_job(
        &ws,
        "locked",
        &job_text("* * * * * *", "", "n", &api).replace(
            "[[reduce]]",
            "[source.incremental]\nfield = \"/id\"\nparam = \"after\"\n\n[[reduce]]",
        ),
    );
    let state = StateDir::open(Some(&ws.path().join("state"))).unwrap();
    // Another process's run of the job, as far as the lock can tell.
    let held = state.job("locked").lock().unwrap().expect("free at first");
    let run = command()
        .args(["run", "-q", "--state"])
        .arg(ws.path().join("state"))
        .arg(&job)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: `locked` is already running in another pagefold process"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: wait for that run to end"),
        "{stderr}"
    );
    let (output, stderr) = schedule_once(&ws, &job);
    assert_eq!(
        output.status.code(),
        Some(0),
        "a skipped run is no failure: {stderr}"
    );
    assert_eq!(api.requests(), 0);
    let statuses: Vec<Status> = history(&ws, "locked").iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Status::Skipped, Status::Skipped]);
    drop(held);
    let run = command()
        .args(["run", "-q", "--state"])
        .arg(ws.path().join("state"))
        .arg(&job)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(api.requests(), 1, "free again");
}
