//! SIGTERM: runs finish within the grace period, or checkpoint, stop and resume.

use super::*;

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
    let ids: Vec<String> = history(&ws, "held").into_iter().map(|e| e.run_id).collect();
    assert_eq!(
        ids[0], ids[1],
        "the resumed run keeps the id of the run it resumes"
    );
}
