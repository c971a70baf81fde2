//! What the scheduler tells the outside world, on the hand-moved clock: its metrics match the
//! history after a few runs (and its `/metrics` endpoint serves them, as `promtool` wants
//! them), and each failed or missed run makes exactly one webhook alert, even when the
//! receiver refuses the first attempts, without ever holding up the scheduler.

use std::io::{Read, Write};

use pagefold::observe::{ObserveOptions, endpoint};
use pagefold::state::history::Status;

use super::*;
use crate::promtool::{check_metrics, promtool, samples, value};
use crate::receivers::Receiver;

/// A job that fails at once: nothing listens on port 9 of loopback.
fn failing_job(ws: &Workspace, name: &str, extra: &str) -> PathBuf {
    write_job(
        ws,
        name,
        &format!(
            "schedule = \"*/10 * * * * *\"\nmissed = \"skip\"\n[source]\n\
             url = \"http://127.0.0.1:9/items\"\n[fetch]\nretries = 0\n{extra}"
        ),
    )
}

/// `[alerts]` for `receiver`: failures and missed runs to `/PATH-failure` and `/PATH-missed`,
/// with fast retries.
fn alerts_table(receiver: &Receiver, path: &str) -> String {
    format!(
        "[alerts]\non_failure = \"{}\"\non_missed = \"{}\"\nretries = 5\n\
         backoff = {{ base = \"1ms\", max = \"5ms\" }}\n",
        receiver.url(&format!("/{path}-failure")),
        receiver.url(&format!("/{path}-missed")),
    )
}

/// `GET /metrics` of the endpoint at `addr`: the content type and the body.
fn scrape(addr: std::net::SocketAddr) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: pagefold\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a whole response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let content_type = head
        .lines()
        .find_map(|line| line.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    (content_type, body.to_owned())
}

fn unix(time: DateTime<Utc>) -> f64 {
    time.timestamp_millis() as f64 / 1000.0
}

#[test]
fn after_a_few_scheduled_runs_the_metrics_match_the_history() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    gated_job(&ws, "good", "*/10 * * * * *", "missed = \"skip\"", &api);
    failing_job(&ws, "down", "");
    let state = StateDir::open(Some(&ws.path().join("state"))).unwrap();
    // The good job's runs of :10 and :20 were missed while the scheduler was down; a run of
    // it from before is in its history already, and is counted too.
    state.job("good").set_last_due(t(0, 0, 0)).unwrap();
    let earlier =
        HistoryEntry::not_run("good", t(0, 0, 0), t(0, 0, 0), Status::Skipped, "x".into());
    state.job("good").append(&earlier).unwrap();
    let observer = Observer::default();
    let mut settings = options(&ws, vec![ws.path().to_owned()], false);
    settings.observer = observer.clone();
    let mut h = Harness::start(settings, t(0, 0, 25));
    h.expect(
        "the missed runs",
        |e| matches!(e, Event::NotRun { entry } if entry.status == Status::Missed),
    );
    for due in [t(0, 0, 30), t(0, 0, 40)] {
        h.clock.set(due);
        // The two runs end in either order.
        let mut ended = Vec::new();
        while ended.len() < 2 {
            let done = h.expect(
                "both runs end",
                |e| matches!(e, Event::Finished { entry, .. } if entry.scheduled_for == Some(due)),
            );
            if let Event::Finished { entry, .. } = done {
                ended.push((entry.job, entry.status));
            }
        }
        ended.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            ended,
            [
                ("down".to_owned(), Status::Failed),
                ("good".to_owned(), Status::Ok)
            ]
        );
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(endpoint::bind(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(endpoint::serve(listener, observer.metrics().clone()));
    let (content_type, scraped) = scrape(addr);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    h.stop();

    let values = samples(&scraped);
    for job in ["good", "down"] {
        let entries = history(&ws, job);
        let label = format!("job_name=\"{job}\"");
        for status in Status::ALL {
            let counted = entries.iter().filter(|e| e.status == status).count() as f64;
            let series = format!(
                "pagefold_runs_total{{{label},status=\"{}\"}}",
                status.as_str()
            );
            assert_eq!(value(&values, &series), counted, "{series}");
        }
        let sum = |figure: fn(&HistoryEntry) -> u64| entries.iter().map(figure).sum::<u64>() as f64;
        for (name, expected) in [
            ("pagefold_pages_total", sum(|e| e.pages)),
            ("pagefold_records_total", sum(|e| e.records)),
            ("pagefold_requests_total", sum(|e| e.requests)),
            ("pagefold_retries_total", sum(|e| e.retries)),
            ("pagefold_next_run_timestamp_seconds", unix(t(0, 0, 50))),
            ("pagefold_schedule_interval_seconds", 10.0),
            ("pagefold_running", 0.0),
            ("pagefold_run_duration_seconds_count", 2.0),
        ] {
            assert_eq!(
                value(&values, &format!("{name}{{{label}}}")),
                expected,
                "{name} of {job}"
            );
        }
        let last = |status: Status| {
            entries
                .iter()
                .filter(|e| e.status == status)
                .map(|e| e.ended)
                .max()
                .map(unix)
        };
        for (name, status) in [
            ("pagefold_last_success_timestamp_seconds", Status::Ok),
            ("pagefold_last_failure_timestamp_seconds", Status::Failed),
        ] {
            assert_eq!(
                values.get(&format!("{name}{{{label}}}")).copied(),
                last(status),
                "{name} of {job}"
            );
        }
    }
    assert_eq!(
        value(
            &values,
            "pagefold_runs_total{job_name=\"good\",status=\"ok\"}"
        ),
        2.0
    );
    assert_eq!(
        value(
            &values,
            "pagefold_runs_total{job_name=\"good\",status=\"skipped\"}"
        ),
        1.0,
        "the history from before the scheduler started is counted"
    );
    assert_eq!(
        value(&values, "pagefold_records_total{job_name=\"good\"}"),
        6.0
    );
    if let Some(promtool) = promtool("the endpoint's metrics") {
        check_metrics(&promtool, &scraped);
    }
}

#[test]
fn each_failed_or_missed_run_is_alerted_once_though_the_receiver_refuses_the_first_attempts() {
    let receiver = Receiver::start(2, true);
    let ws = Workspace::new();
    let job = failing_job(&ws, "down", &alerts_table(&receiver, "down"));
    let state = StateDir::open(Some(&ws.path().join("state"))).unwrap();
    state.job("down").set_last_due(t(0, 0, 0)).unwrap();
    let observer = Observer::default();
    let mut settings = options(&ws, vec![job], false);
    settings.observer = observer.clone();
    let mut h = Harness::start(settings, t(0, 0, 25));
    h.expect(
        "the missed runs",
        |e| matches!(e, Event::NotRun { entry } if entry.status == Status::Missed),
    );
    for due in [t(0, 0, 30), t(0, 0, 40), t(0, 0, 50)] {
        h.clock.set(due);
        h.expect("the failed run", finished(Some(due), Status::Failed));
    }
    h.stop();
    observer.finish(Duration::from_secs(20));
    assert_eq!(observer.pending(), 0);

    let entries = history(&ws, "down");
    let mut alerted: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e.run_id.clone(), e.status.as_str().to_owned()))
        .collect();
    alerted.sort();
    assert_eq!(alerted.len(), 4, "one missed line, three failed runs");
    let taken = receiver.taken();
    let mut received: Vec<(String, String)> = taken
        .iter()
        .map(|a| {
            let alert = a.json();
            (
                alert["run_id"].as_str().unwrap().to_owned(),
                alert["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    received.sort();
    assert_eq!(received, alerted, "exactly one alert a run");
    for arrived in &taken {
        let alert = arrived.json();
        let path = format!("/down-{}", alert["event"].as_str().unwrap());
        assert_eq!(arrived.path, path, "each event to its own URL");
        assert_eq!(arrived.content_type.as_deref(), Some("application/json"));
        assert!(
            alert["text"]
                .as_str()
                .unwrap()
                .starts_with("pagefold: `down` ")
        );
    }
    let attempts = receiver.attempts();
    assert_eq!(attempts.len(), 4);
    assert!(
        attempts.values().all(|count| *count == 3),
        "two refused, the third taken: {attempts:?}"
    );
}

#[test]
fn a_receiver_that_does_not_answer_never_holds_up_the_scheduler() {
    let receiver = Receiver::start(0, false);
    let ws = Workspace::new();
    let job = failing_job(&ws, "held", &alerts_table(&receiver, "held"));
    let observer = Observer::default();
    let mut settings = options(&ws, vec![job], false);
    settings.observer = observer.clone();
    let mut h = Harness::start(settings, t(0, 0, 5));
    h.clock.set(t(0, 0, 10));
    h.expect(
        "the :10 run fails",
        finished(Some(t(0, 0, 10)), Status::Failed),
    );
    // Its alert waits at the receiver; the next run starts and ends all the same.
    h.clock.set(t(0, 0, 20));
    h.expect(
        "the :20 run fails",
        finished(Some(t(0, 0, 20)), Status::Failed),
    );
    assert_eq!(observer.pending(), 2, "both alerts still on their way");
    h.stop();
    receiver.open();
    observer.finish(Duration::from_secs(20));
    assert_eq!(receiver.taken().len(), 2);
}

#[test]
fn the_scheduler_s_alerts_stand_in_for_the_keys_a_job_leaves_out() {
    let receiver = Receiver::start(0, true);
    let ws = Workspace::new();
    // The job tells its failures itself; its missed runs go where the scheduler's file says.
    let own = format!(
        "[alerts]\non_failure = \"{}\"\nbackoff = {{ base = \"1ms\", max = \"5ms\" }}\n",
        receiver.url("/own")
    );
    let job = failing_job(&ws, "mixed", &own);
    let file = ws.path().join("alerts.conf");
    std::fs::write(
        &file,
        format!(
            "[alerts]\non_failure = \"{0}\"\non_missed = \"{0}\"\n",
            receiver.url("/scheduler")
        ),
    )
    .unwrap();
    let state = StateDir::open(Some(&ws.path().join("state"))).unwrap();
    state.job("mixed").set_last_due(t(0, 0, 0)).unwrap();
    let observer = Observer::new(ObserveOptions {
        alerts: Some(pagefold::job::load_alerts_file(&file).unwrap()),
        ..ObserveOptions::default()
    });
    let mut settings = options(&ws, vec![job], false);
    settings.observer = observer.clone();
    let mut h = Harness::start(settings, t(0, 0, 25));
    h.clock.set(t(0, 0, 30));
    h.expect("the run fails", finished(Some(t(0, 0, 30)), Status::Failed));
    h.stop();
    observer.finish(Duration::from_secs(20));
    // Each alert is sent on its own: they may arrive in either order.
    let mut events: Vec<(String, String)> = receiver
        .taken()
        .iter()
        .map(|a| {
            (
                a.path.clone(),
                a.json()["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            ("/own".to_owned(), "failure".to_owned()),
            ("/scheduler".to_owned(), "missed".to_owned())
        ]
    );
}
