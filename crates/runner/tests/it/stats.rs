//! What a run says it did: the closing line's estimate of one page after another (from
//! requests that had the API to themselves, never from latencies a busy server inflated), and
//! `stats` as the README defines them (every request counted, waits as a union of intervals).

use std::time::Duration;

use pagefold_demo_api::{DemoConfig, DemoServer, Faults};

use crate::support::{Masks, Run, Workspace, demo_server, pagefold};

/// A page-numbered job of the demo API's orders, `size` a page, with `fetch` in `[fetch]`.
fn orders_job(server: &DemoServer, size: u64, fetch: &str) -> String {
    format!(
        "name = \"orders\"\n[source]\nurl = \"{}\"\nrecords = \"/data\"\n\
         [source.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\nsize = {size}\n\
         total_records = \"/meta/total\"\n[fetch]\n{fetch}\n\
         [[reduce]]\nname = \"orders\"\nuse = \"count\"\n",
        server.url("/orders")
    )
}

fn run(work: &Workspace, job: &str) -> Run {
    let job = work.job("orders.toml", job);
    let out = work.path().join("out.json");
    let run = pagefold(&["run", job.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    run
}

fn result(work: &Workspace) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(work.path().join("out.json")).unwrap()).unwrap()
}

/// Timings vary; the words around them do not.
fn masks(work: &Workspace) -> Masks {
    Masks::new()
        .path(work.path(), "[work]")
        .rule(r"\(\d+\.\d MB, ", "([size] MB, ")
        .rule(r"\d+\.\d{2}s", "[time]")
        .rule(r"\d+\.\d× faster", "[ratio]× faster")
}

#[test]
fn a_saturated_server_is_no_faster_than_one_page_after_another() {
    // One request served at a time, 100 ms each: 8 pages take 8 × 100 ms however many are
    // sent at once. The latencies the client measures grow with the queue (up to 4 × 100
    // ms); summing them used to claim a run ~3× faster than sequential.
    let server = demo_server(DemoConfig {
        records: 160,
        latency: Duration::from_millis(100),
        capacity: Some(1),
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let run = run(
        &work,
        &orders_job(&server, 20, "concurrency = 4\nworkers = 1"),
    );
    let result = result(&work);
    let sequential = result["stats"]["sequential_seconds"].as_f64().unwrap();
    let wall = result["stats"]["seconds"].as_f64().unwrap();
    // The estimate is one alone latency (the first page's) times 8 requests.
    assert!(
        (0.75..1.2).contains(&sequential),
        "{sequential} s for 8 × 100 ms"
    );
    assert!(sequential < wall * 1.2, "{sequential} s, wall {wall} s");
    insta::with_settings!({ filters => masks(&work).filters() }, {
        insta::assert_snapshot!("summary-saturated", run.shown());
    });
}

#[test]
fn a_run_where_no_request_was_alone_says_there_is_no_basis() {
    // Two partitions of one page each, sent together to a server slow enough that they
    // overlap: no latency measured is one a sequential client would see.
    let server = demo_server(DemoConfig {
        records: 40,
        latency: Duration::from_millis(100),
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = format!(
        "name = \"orders\"\n[source]\nurl = \"{}?status={{status}}\"\nrecords = \"/data\"\n\
         [source.partitions]\nstatus = [\"paid\", \"open\"]\n[source.pagination]\nkind = \"none\"\n\
         [fetch]\nconcurrency = 4\n[[reduce]]\nname = \"orders\"\nuse = \"count\"\n",
        server.url("/orders")
    );
    let run = run(&work, &job);
    assert_eq!(
        result(&work)["stats"]["sequential_seconds"],
        serde_json::Value::Null
    );
    insta::with_settings!({ filters => masks(&work).filters() }, {
        insta::assert_snapshot!("summary-no-basis", run.shown());
    });
}

#[test]
fn waits_that_overlap_count_once() {
    // Every page is answered 429 with `Retry-After: 1` once. The first page goes alone and
    // waits 1 s; the other five then fail in rounds (each 429 also halves the concurrency)
    // whose requests wait the same second side by side. Wall-clock time held back: about 3 s
    // of a 3 s run, where a sum over requests says 6 s, more than the run lasted.
    let server = demo_server(DemoConfig {
        records: 120,
        faults: Faults {
            fail_first: 1,
            status: 429,
            retry_after: 1,
            ..Faults::default()
        },
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    run(
        &work,
        &orders_job(&server, 20, "concurrency = 8\nretries = 2"),
    );
    let stats = &result(&work)["stats"];
    assert_eq!(stats["requests"], 12, "{stats}");
    assert_eq!(stats["retries"], 6, "{stats}");
    let waited = stats["waited_seconds"].as_f64().unwrap();
    let seconds = stats["seconds"].as_f64().unwrap();
    assert!(waited >= 1.9, "{stats}");
    assert!(waited <= seconds, "{stats}");
    assert!(waited < 5.0, "{stats}");
}

#[test]
fn the_requests_of_parents_are_counted() {
    // 3 pages of customers (parents), then each customer's one page of orders (children).
    let server = demo_server(DemoConfig {
        records: 600,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = format!(
        "[source]\nurl = \"{}\"\nrecords = \"/data\"\n[source.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\n\
         size = 100\ntotal_records = \"/meta/total\"\n[child]\nurl = \"{}?customer={{customer}}\"\nrecords = \"/data\"\n\
         vars = {{ customer = \"/id\" }}\n[child.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\nsize = 100\n\
         total_records = \"/meta/total\"\n[fetch]\nconcurrency = 8\n[[reduce]]\nuse = \"count\"\n",
        server.url("/customers"),
        server.url("/orders")
    );
    run(&work, &job);
    let result = result(&work);
    assert_eq!(
        result["stats"]["requests"],
        server.stats().requests(),
        "{result}"
    );
    assert_eq!(result["stats"]["retries"], 0);
}
