//! Job files edited while the scheduler runs: reloaded, or the last good version kept.

use super::*;

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
