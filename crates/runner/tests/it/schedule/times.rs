//! When runs happen: time zones across daylight saving changes, overlap, missed runs,
//! `--once`, and the limit on runs at a time.

use super::*;

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

#[test]
fn a_run_killed_with_its_scheduler_is_in_the_history_as_interrupted_at_the_next_start() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = gated_job(&ws, "hourly", "0 * * * *", "", &api);
    // What a scheduler killed mid-run leaves: the run's marker, no lock held on it any more.
    let running = ws.path().join("state/jobs/hourly/running");
    std::fs::create_dir_all(&running).unwrap();
    std::fs::write(
        running.join("20260301T020000Z-dead.json"),
        r#"{"run_id": "20260301T020000Z-dead", "job": "hourly", "trigger": "schedule",
            "scheduled_for": "2026-03-01T02:00:00Z", "started": "2026-03-01T02:00:00Z", "pid": 1}"#,
    )
    .unwrap();
    Harness::start(options(&ws, vec![job], true), t(3, 30, 0)).join();
    let history = history(&ws, "hourly");
    assert_eq!(history.len(), 1, "{history:#?}");
    assert_eq!(history[0].run_id, "20260301T020000Z-dead");
    assert_eq!(history[0].status, Status::Interrupted);
    assert_eq!(history[0].trigger, Trigger::Schedule);
    assert!(!running.join("20260301T020000Z-dead.json").exists());
}
