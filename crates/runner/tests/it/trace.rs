//! `pagefold run --trace FILE`: a trace in the Chrome trace event format that Perfetto opens
//! as it is, with a named track per chain and the retries where the API failed.

use std::collections::{BTreeMap, BTreeSet};

use pagefold_demo_api::{DemoConfig, Faults};
use serde_json::Value;

use crate::support::{Workspace, demo_server, run_job};

/// A job of three partitions (chains) over `url`, with fast retries.
pub fn partitioned_job(url: &str, concurrency: usize) -> String {
    format!(
        r#"
[source]
url = "{url}?status={{status}}"
records = "/data"

[source.partitions]
status = ["paid", "open", "shipped"]

[source.pagination]
kind = "page"
size_param = "per_page"
size = 20
total_records = "/meta/total"

[fetch]
concurrency = {concurrency}
timeout = "5s"
retries = 6
backoff = {{ base = "1ms", max = "4ms" }}

[[reduce]]
name = "orders"
use = "count"

[[reduce]]
name = "cents"
use = "sum"
field = "/amount_cents"

[[reduce]]
name = "by_status"
use = "count_by"
field = "/status"
"#
    )
}

/// The demo API with every page failing its first request (503), so every page is retried.
pub fn faulty_server() -> pagefold_demo_api::DemoServer {
    demo_server(DemoConfig {
        records: 400,
        faults: Faults {
            fail_first: 1,
            status: 503,
            ..Faults::default()
        },
        ..DemoConfig::default()
    })
}

#[test]
fn a_trace_has_a_named_track_per_chain_and_the_retries_of_injected_faults() {
    let server = faulty_server();
    let work = Workspace::new();
    let job = work.job("traced.toml", &partitioned_job(&server.url("/orders"), 4));
    let trace_path = work.path().join("run.trace.json");
    let result = run_job(&job, &["--trace", trace_path.to_str().unwrap()]).result();
    let text = std::fs::read_to_string(&trace_path).expect("the trace is written");
    let trace: Value = serde_json::from_str(&text).expect("the trace is valid JSON");
    let events = trace["traceEvents"]
        .as_array()
        .expect("a traceEvents array");
    for event in events {
        for field in ["name", "ph", "ts", "pid", "tid"] {
            assert!(event.get(field).is_some(), "`{field}` missing in {event}");
        }
        if event["ph"] == "X" {
            assert!(event["dur"].is_u64(), "`dur` missing in {event}");
        }
    }
    // Track names, by tid.
    let names: BTreeMap<u64, String> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (chain, status) in ["paid", "open", "shipped"].iter().enumerate() {
        let name = format!("partition {chain} (status={status})");
        assert!(
            names.values().any(|n| *n == name),
            "no track `{name}` in {names:?}"
        );
    }
    // Every request is on a named track, and every page was asked for twice.
    let requests: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "request")
        .collect();
    for request in &requests {
        let tid = request["tid"].as_u64().unwrap();
        assert!(
            names.contains_key(&tid),
            "request on an unnamed track: {request}"
        );
        assert!(
            request["args"]["url"]
                .as_str()
                .unwrap()
                .starts_with("/orders?")
        );
    }
    let pages = result["pages"].as_u64().unwrap();
    assert_eq!(
        requests.len() as u64,
        2 * pages,
        "one failure and one success a page"
    );
    let failed: Vec<&&Value> = requests
        .iter()
        .filter(|r| r["args"]["status"] == 503)
        .collect();
    assert_eq!(failed.len() as u64, pages);
    let retries: Vec<&Value> = events.iter().filter(|e| e["name"] == "retry").collect();
    assert_eq!(retries.len() as u64, pages, "a retry event a page");
    for retry in &retries {
        assert_eq!(retry["ph"], "i");
        assert_eq!(retry["args"]["kind"], "HTTP 503", "{retry}");
    }
    // The counters and the totals that the report draws.
    let counters: BTreeSet<&str> = events
        .iter()
        .filter(|e| e["ph"] == "C")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        counters,
        BTreeSet::from(["queued for reducers", "requests in flight"])
    );
    let totals = &trace["otherData"]["pagefold"]["totals"];
    assert_eq!(totals["status"], "ok");
    assert_eq!(totals["pages"], result["pages"]);
    assert_eq!(totals["requests"].as_u64(), Some(requests.len() as u64));
}

#[test]
fn a_trace_hides_secret_query_parameters() {
    let server = demo_server(DemoConfig {
        records: 60,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let text = format!(
        r#"
[source]
url = "{}"
records = "/data"
query = {{ api_key = "${{env.TRACE_TEST_KEY}}" }}
secret_params = ["api_key"]

[source.pagination]
kind = "page"
size_param = "per_page"
size = 20

[[reduce]]
name = "orders"
use = "count"
"#,
        server.url("/orders")
    );
    let job = work.job("secret.toml", &text);
    let trace_path = work.path().join("secret.trace.json");
    let run = crate::support::command()
        .env("TRACE_TEST_KEY", "hunter2-trace-secret")
        .args(["run", job.to_str().unwrap(), "-q", "--trace"])
        .arg(&trace_path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&trace_path).unwrap();
    assert!(!text.contains("hunter2-trace-secret"), "{text}");
    assert!(text.contains("api_key=****"), "{text}");
}

#[test]
fn schedule_trace_keeps_a_trace_a_run_in_the_state_folder_which_report_draws() {
    let server = faulty_server();
    let work = Workspace::new();
    let text = format!(
        "schedule = \"* * * * * *\"\n{}",
        partitioned_job(&server.url("/orders"), 4)
    );
    let job = work.job("nightly.toml", &text);
    let state = work.path().join("state");
    let run = crate::support::pagefold(&[
        "schedule",
        "--once",
        "--trace",
        "--state",
        state.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let job_state = pagefold::state::StateDir::open(Some(&state))
        .unwrap()
        .job("nightly");
    let entries = job_state.history().unwrap();
    assert_eq!(entries.len(), 1);
    let path = job_state.trace_path(&entries[0].run_id);
    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        trace["otherData"]["pagefold"]["totals"]["run_id"],
        entries[0].run_id.as_str()
    );
    assert_eq!(job_state.latest_trace(), Some(path.clone()));
    let report = work.path().join("nightly.html");
    let made = crate::support::pagefold(&[
        "report",
        job.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "-o",
        report.to_str().unwrap(),
    ]);
    assert_eq!(made.code(), 0, "{}", made.stderr());
    assert!(
        made.stderr().contains(&path.display().to_string()),
        "{}",
        made.stderr()
    );
}
