//! What a result says about itself: which records had the fields it read, where each warning
//! comes from, how a chain ended after one page; and runs with warnings that say so (on
//! stderr, in the result and in the history) or, denied, fail.

use axum::routing::get;
use pagefold_demo_api::DemoConfig;
use serde_json::{Value, json};

use crate::support::{Loopback, Workspace, demo_server, orders_job, pagefold};

const PAGES: &str =
    "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"";

fn history(state: &str, job: &str) -> Vec<Value> {
    let shown = pagefold(&["history", job, "--state", state, "--json"]);
    shown
        .stdout()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_field_no_record_has_is_a_warning_naming_the_closest_field() {
    let server = demo_server(DemoConfig {
        records: 300,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let state = work.path().join("state");
    let state = state.to_str().unwrap();
    let job = work.job(
        "typo.toml",
        &orders_job(
            &server,
            PAGES,
            4,
            "[[reduce]]\nname = \"revenue\"\nuse = \"sum\"\nfield = \"/amout\"\n\n\
             [[reduce]]\nname = \"cities\"\nuse = \"count_by\"\nfield = \"/shipping/city\"\n",
        ),
    );
    let job = job.to_str().unwrap();
    let run = pagefold(&["run", job, "-q", "-o", "-", "--state", state]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let warning =
        "no record has `/amout` (read by `revenue`; 0 of 300 records): did you mean `/amount`?";
    assert!(
        run.stderr().contains(&format!("warning: {warning}")),
        "{}",
        run.stderr()
    );
    let result = run.result();
    // The document as a user reads it, pinned (times and sizes masked).
    let masks = crate::support::Masks::new()
        .rule(r#""(seconds|sequential_seconds|waited_on_reducers_seconds|waited_seconds)": [0-9.e+-]+"#, "\"$1\": [seconds]")
        .rule(r#""bytes": \d+"#, "\"bytes\": [bytes]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("result-with-coverage", run.stdout());
    });
    assert_eq!(result["warnings"], json!([warning]));
    assert_eq!(
        result["coverage"],
        json!({
            "revenue": {"field": "/amout", "present": 0, "null": 0, "missing": 300},
            "cities": {"field": "/shipping/city", "present": 300, "null": 0, "missing": 0},
        })
    );
    let runs = history(state, job);
    assert_eq!(runs[0]["status"], "warnings");
    assert_eq!(runs[0]["warnings"], json!([warning]));
    // Denied, the same run fails an unattended schedule: exit 4, the result written all the same.
    let denied = pagefold(&["run", job, "-q", "-o", "-", "--deny-warnings"]);
    assert_eq!(denied.code(), 4, "{}", denied.stderr());
    let written: Value = serde_json::from_str(&denied.stdout()).unwrap();
    assert_eq!(written["reducers"]["revenue"], json!(0));
}

#[test]
fn deny_warnings_in_the_job_file_fails_a_run_with_warnings_and_not_a_clean_one() {
    let server = demo_server(DemoConfig {
        records: 100,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = |name: &str, field: &str| {
        let text = format!(
            "deny_warnings = true\n{}",
            orders_job(
                &server,
                PAGES,
                4,
                &format!("[[reduce]]\nuse = \"sum\"\nfield = \"{field}\"\n"),
            )
        );
        work.job(name, &text)
    };
    let clean = pagefold(&[
        "run",
        job("clean.toml", "/amount").to_str().unwrap(),
        "-q",
        "-o",
        "-",
    ]);
    assert_eq!(clean.code(), 0, "{}", clean.stderr());
    let warned = pagefold(&[
        "run",
        job("warned.toml", "/amout").to_str().unwrap(),
        "-q",
        "-o",
        "-",
    ]);
    assert_eq!(warned.code(), 4, "{}", warned.stderr());
}

#[test]
fn a_map_that_drops_every_record_is_a_warning() {
    let server = demo_server(DemoConfig {
        records: 120,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let text = orders_job(&server, PAGES, 4, "[[reduce]]\nuse = \"count\"\n").replace(
        "records = \"/data\"",
        "records = \"/data\"\nmap = 'select(.status == \"no such status\")'",
    );
    let run = pagefold(&[
        "run",
        work.job("dropped.toml", &text).to_str().unwrap(),
        "-q",
        "-o",
        "-",
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.result()["warnings"],
        json!(["`map` dropped every record (120 fetched): the reducers saw none"])
    );
}

/// Child chains stopped by `max_pages`: one warning, with their number and which parents, on
/// stderr, in the result and the history.
#[test]
fn the_same_warning_of_many_chains_is_said_once_with_their_places() {
    let server = demo_server(DemoConfig {
        records: 2000,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let state = work.path().join("state");
    let state = state.to_str().unwrap();
    let text = format!(
        r#"
[source]
url = "{customers}"
records = "/data"
[source.pagination]
kind = "page"
size_param = "per_page"
size = 5
total_records = "/meta/total"
max_pages = 1

[child]
url = "{orders}?customer={{customer}}"
records = "/data"
vars = {{ customer = "/id" }}
[child.pagination]
kind = "page"
size_param = "per_page"
size = 1
total_records = "/meta/total"
max_pages = 1

[[reduce]]
use = "count"
"#,
        customers = server.url("/customers"),
        orders = server.url("/orders"),
    );
    let job = work.job("capped.toml", &text);
    let job = job.to_str().unwrap();
    let run = pagefold(&["run", job, "-q", "-o", "-", "--state", state]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let warnings = run.result()["warnings"].clone();
    let warnings: Vec<&str> = warnings
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    // The parents' chain and the five children's, capped alike: one line.
    assert_eq!(
        warnings,
        [
            "6 chains (the parent source; the child chain of parent customer=cust-000; the child \
          chain of parent customer=cust-001; and 3 more): the API reports more pages than \
          `max_pages` = 1: the result covers only the first page"
        ]
    );
    for warning in &warnings {
        assert!(
            run.stderr().contains(&format!("warning: {warning}")),
            "{}",
            run.stderr()
        );
    }
    let runs = history(state, job);
    assert_eq!(runs[0]["status"], "warnings");
    assert_eq!(
        runs[0]["warnings"].as_array().unwrap().len(),
        warnings.len()
    );
}

/// A `link_header` job whose first URL lacks the page parameter: the API answers one page and
/// no `Link` header, and the result says so rather than passing for all the data.
#[test]
fn one_page_without_a_link_header_is_a_warning() {
    let records: Vec<Value> = (0..50).map(|id| json!({ "id": id })).collect();
    let body = serde_json::to_string(&records).unwrap();
    let router = axum::Router::new().route(
        "/issues",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let server = Loopback::bind().serve(router);
    let work = Workspace::new();
    let text = format!(
        "[source]\nurl = \"http://{}/issues\"\n[source.pagination]\nkind = \"link_header\"\n\
         [[reduce]]\nuse = \"count\"\n",
        server.addr
    );
    let run = pagefold(&[
        "run",
        work.job("links.toml", &text).to_str().unwrap(),
        "-q",
        "-o",
        "-",
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let result = run.result();
    assert_eq!(result["records"], json!(50));
    assert_eq!(result["ended"], json!("no next page named after page 1"));
    assert_eq!(
        result["warnings"],
        json!([
            "one page only: the first response had no `Link` header; does the URL need a page parameter?"
        ])
    );
}
