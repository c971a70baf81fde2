//! `pagefold schedule` itself, on real time: signals, `--once`, bad files, the job lock.

use super::process::ScheduleProcess;
use super::*;

/// `pagefold schedule` on real time: a job every second runs until SIGTERM, which ends the
/// scheduler with exit 0 and leaves the history.
#[test]
fn the_binary_runs_jobs_until_sigterm() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    gated_job(&ws, "every_second", "* * * * * *", "", &api);
    let state = ws.path().join("state");
    let scheduler = ScheduleProcess::start(&[], &state, ws.path());
    let history_file = state.join("jobs/every_second/history.jsonl");
    scheduler.wait_for(Duration::from_secs(30), "no runs recorded", || {
        std::fs::read_to_string(&history_file)
            .is_ok_and(|text| text.lines().count() >= 2)
            .then_some(())
    });
    let (code, stderr) = scheduler.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("every_second: loaded"), "{stderr}");
    assert!(stderr.contains("SIGTERM: "), "{stderr}");
    let shown = command()
        .args(["history", "every_second", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&shown.stdout);
    assert!(table.starts_with("started "), "{table}");
    assert!(table.lines().any(|line| line.contains(" ok ")), "{table}");
}

/// What the scheduler prints, pinned: a banner naming the jobs it took, then a job due this
/// very second said to start now (not a "next run" a second later than the run that starts).
#[test]
fn the_scheduler_says_what_it_took_and_what_runs_now() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = gated_job(&ws, "every_second", "* * * * * *", "", &api);
    let (output, stderr) = schedule_once(&ws, &job);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let masks = crate::support::Masks::new()
        .path(ws.path(), "[work]")
        .rule(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[time]")
        .rule(r"\d{8}T\d{6}Z-[0-9a-f]+", "[run id]")
        .rule(
            r"every_second-\d{2}-\d{2}-\d{2}\.json",
            "every_second-[time].json",
        )
        .rule(r"in \d+\.\ds", "in [took]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("schedule-once-due-now", stderr);
    });
}

/// `--once` under cron or a CronJob: a run with warnings exits 4 when its job denies them, or
/// `--deny-warnings` does; 0 otherwise.
#[test]
fn once_exits_4_for_a_run_with_denied_warnings() {
    let api = GateServer::start(true);
    for (extra, flag, code) in [
        ("", false, 0),
        ("", true, 4),
        ("deny_warnings = true", false, 4),
    ] {
        let ws = Workspace::new();
        let text =
            job_text("* * * * * *", extra, "n", &api).replace("\"/n\"", "\"/no_such_field\"");
        let job = write_job(&ws, "warned", &text);
        let mut command = command();
        command
            .args(["schedule", "--once", "--state"])
            .arg(ws.path().join("state"));
        if flag {
            command.arg("--deny-warnings");
        }
        let output = command.arg(&job).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{extra} {flag}: {stderr}");
        assert!(stderr.contains("finished with warnings"), "{stderr}");
        assert!(
            stderr.contains("warning: no record has `/no_such_field`"),
            "{stderr}"
        );
    }
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
    assert!(
        stderr.contains("scheduling 1 job (new_year); state in `"),
        "{stderr}"
    );
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
