//! `pagefold schedule` as a supervisor: each run in a child process, so that a run that
//! aborts, segfaults or overflows its stack is recorded as failed with its signal, and the
//! scheduler and its other jobs go on; a stop reaches the children.

use super::process::ScheduleProcess;
use super::*;
use crate::plugins::plugin;

/// A job every second whose plugin crashes its process, `how`, on the record with id 2.
fn crashing_job(ws: &Workspace, name: &str, how: &str, api: &GateServer) -> PathBuf {
    let text = job_text("* * * * * *", "", "n", api).replace(
        "use = \"sum\"\nfield = \"/n\"",
        &format!(
            "plugin = \"{}\"\nconfig = {{ how = \"{how}\", on_id = 2 }}",
            plugin("crashy").display()
        ),
    );
    write_job(ws, name, &text)
}

fn statuses(ws: &Workspace, job: &str) -> Vec<Status> {
    history(ws, job).iter().map(|entry| entry.status).collect()
}

/// `--once` with a healthy job and three that crash: each crash is a failed run with its
/// signal and last stderr lines, the healthy job's run is whole, and the scheduler exits 1
/// (a run failed) rather than dying.
#[test]
fn a_run_that_crashes_its_process_is_recorded_and_the_others_run() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    gated_job(&ws, "healthy", "* * * * * *", "", &api);
    for how in ["abort", "segfault", "stack_overflow"] {
        crashing_job(&ws, how, how, &api);
    }
    let (output, stderr) = schedule_once(&ws, ws.path());
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(statuses(&ws, "healthy"), [Status::Ok], "{stderr}");
    for (job, signal, words) in [
        ("abort", "SIGABRT", None),
        ("segfault", "SIGSEGV", None),
        ("stack_overflow", "SIGABRT", Some("overflowed its stack")),
    ] {
        let entries = history(&ws, job);
        assert_eq!(entries.len(), 1, "{job}: {entries:?}");
        assert_eq!(entries[0].status, Status::Failed);
        let error = entries[0].error.as_deref().unwrap_or_default();
        assert!(
            error.starts_with(&format!("the run's process was killed by {signal}")),
            "{job}: {error}"
        );
        assert!(
            error.contains("hint: the scheduler and its other jobs go on"),
            "{error}"
        );
        if let Some(words) = words {
            assert!(error.contains(words), "the last stderr lines: {error}");
        } else {
            // What `pagefold history` shows of the crash, pinned (the stack overflow's
            // last lines name a thread, which varies).
            insta::with_settings!({ snapshot_suffix => job }, {
                insta::assert_snapshot!("crashed_run_error", error);
            });
        }
        // Recorded once: its marker does not come back as an interrupted run.
        assert!(
            !ws.path()
                .join(format!("state/jobs/{job}/running"))
                .read_dir()
                .is_ok_and(|mut files| files.next().is_some()),
            "{job}: a marker is left"
        );
    }
    assert!(
        stderr.contains("the run's process was killed by SIGABRT"),
        "{stderr}"
    );
    // The next start records nothing more of them.
    let (_, stderr) = schedule_once(&ws, ws.path());
    assert!(!stderr.contains("interrupted"), "{stderr}");
}

/// A scheduler on real time with a healthy job and a crashing one, both every second: the
/// healthy job keeps running on time while the other crashes again and again.
#[test]
fn the_healthy_job_keeps_running_on_time_beside_a_crashing_one() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    gated_job(&ws, "healthy", "* * * * * *", "", &api);
    crashing_job(&ws, "crashing", "abort", &api);
    let state = ws.path().join("state");
    let scheduler = ScheduleProcess::start(&[], &state, ws.path());
    let first_crash =
        scheduler.wait_for(Duration::from_secs(60), "not enough runs recorded", || {
            let crashes: Vec<HistoryEntry> = history(&ws, "crashing")
                .into_iter()
                .filter(|entry| entry.status == Status::Failed)
                .collect();
            // The first crash, once the healthy job has run twice after the second.
            crashes.get(1).and_then(|second| {
                let healthy = history(&ws, "healthy");
                let later: Vec<&HistoryEntry> = healthy
                    .iter()
                    .filter(|entry| {
                        entry.status == Status::Ok && entry.scheduled_for > second.scheduled_for
                    })
                    .collect();
                (later.len() >= 2).then(|| crashes[0].clone())
            })
        });
    let (code, stderr) = scheduler.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    // Besides the runs skipped while the last still ran (`overlap = "skip"`, on a busy
    // machine), every crash is a failed run with its signal.
    let crashing = history(&ws, "crashing");
    assert!(
        crashing.iter().all(|entry| entry.status == Status::Skipped
            || entry.status == Status::Failed
                && entry
                    .error
                    .as_deref()
                    .is_some_and(|error| error.contains("killed by SIGABRT"))),
        "{crashing:?}\n{stderr}"
    );
    let healthy = history(&ws, "healthy");
    let after: Vec<&HistoryEntry> = healthy
        .iter()
        .filter(|entry| entry.status != Status::Skipped)
        .filter(|entry| entry.scheduled_for > first_crash.scheduled_for)
        .collect();
    assert!(after.len() >= 2, "{healthy:?}");
    for entry in after {
        assert_eq!(entry.status, Status::Ok, "{entry:?}");
        assert_eq!(entry.trigger, Trigger::Schedule, "on time, not caught up");
    }
}

/// SIGTERM reaches a run in its child after the grace period: it checkpoints and stops
/// (`interrupted`), and the scheduler exits 0.
#[test]
fn a_stop_reaches_the_run_in_its_child_after_the_grace_period() {
    let api = GateServer::start(false);
    let ws = Workspace::new();
    gated_job(&ws, "held", "* * * * * *", "", &api);
    let state = ws.path().join("state");
    let scheduler = ScheduleProcess::start(&["--grace", "100ms"], &state, ws.path());
    // A run is under way once its request waits at the closed gate.
    scheduler.wait_for(Duration::from_secs(30), "no run started", || {
        (api.requests() > 0).then_some(())
    });
    let (code, stderr) = scheduler.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("grace period over"), "{stderr}");
    // Besides the runs skipped while it ran (`overlap = "skip"`).
    let ran: Vec<Status> = statuses(&ws, "held")
        .into_iter()
        .filter(|status| *status != Status::Skipped)
        .collect();
    assert_eq!(ran, [Status::Interrupted], "{stderr}");
    assert!(
        state
            .join("jobs/held/checkpoint")
            .read_dir()
            .is_ok_and(|mut files| files.next().is_some()),
        "its checkpoint is kept: {stderr}"
    );
}

/// A run that cannot stop (its reducer never returns) does not hold the scheduler's stop
/// forever: told to stop after the grace period, then killed, it is recorded as
/// interrupted, and the scheduler exits 0.
#[test]
fn a_run_that_does_not_stop_is_killed_after_the_grace_period() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    crashing_job(&ws, "stuck", "hang", &api);
    let state = ws.path().join("state");
    let scheduler = ScheduleProcess::start(&["--grace", "100ms"], &state, ws.path());
    // Its reducer is stuck once its page has been served, and its marker written.
    scheduler.wait_for(Duration::from_secs(30), "no run started", || {
        let marked = state
            .join("jobs/stuck/running")
            .read_dir()
            .is_ok_and(|mut files| files.next().is_some());
        (api.requests() > 0 && marked).then_some(())
    });
    let (code, stderr) = scheduler.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("did not stop in time"), "{stderr}");
    let ran: Vec<Status> = statuses(&ws, "stuck")
        .into_iter()
        .filter(|status| *status != Status::Skipped)
        .collect();
    assert_eq!(ran, [Status::Interrupted], "{stderr}");
}
