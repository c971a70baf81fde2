//! `map`: a jq program between the page and the reducers, exact over loopback.

use std::collections::BTreeMap;

use pagefold_demo_api::DemoConfig;
use serde_json::json;

use crate::support::{Loopback, Workspace, demo_server, orders, run_job};

#[test]
fn map_reshapes_and_select_filters_records() {
    let config = DemoConfig {
        records: 640,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let text = format!(
        r#"
[source]
url = "{}"
records = "/data"
map = 'select(.status == "paid" and .items > 2) | {{cents: .amount_cents, city: .shipping.city}}'
[source.pagination]
kind = "page"
size_param = "per_page"
size = 50
total_records = "/meta/total"

[[reduce]]
name = "orders"
use = "count"

[[reduce]]
name = "cents"
use = "sum"
field = "/cents"

[[reduce]]
name = "by_city"
use = "count_by"
field = "/city"
"#,
        server.url("/orders")
    );
    let result = run_job(&work.job("mapped.toml", &text), &[]).result();
    let kept: Vec<_> = orders(&config)
        .into_iter()
        .filter(|o| o.status == "paid" && o.items > 2)
        .collect();
    let mut by_city = BTreeMap::<&str, u64>::new();
    for order in &kept {
        *by_city.entry(order.shipping.city).or_default() += 1;
    }
    assert_eq!(
        result["reducers"],
        json!({
            "orders": kept.len(),
            "cents": kept.iter().map(|o| o.amount_cents).sum::<u64>(),
            "by_city": by_city,
        })
    );
    // `records` counts what the API sent; the reducers saw what `map` kept.
    assert_eq!(result["records"], json!(640));
}

#[test]
fn a_map_that_does_not_compile_is_a_job_file_error() {
    let work = Workspace::new();
    let job = work.job(
        "bad-map.toml",
        "[source]\nurl = \"http://127.0.0.1:1/\"\nmap = \"select(.a ==\"\n",
    );
    let run = crate::support::pagefold(&["validate", job.to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr()
            .contains(":3:14: `map` is not a jq program: this `(` is never closed by `)`"),
        "{}",
        run.stderr()
    );
}

/// Records and programs that aborted the process (a stack overflow), panicked (exit 101) or
/// ran without end: each is now an error naming the page and the record, the run's exit code
/// that of a failed page.
#[test]
fn hostile_records_and_programs_end_the_run_with_an_error() {
    let deep = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let deep_field = |depth: usize| format!("{{\"k\":{}}}", deep(depth));
    // (what, the records, `map`, the reducer's `use`, what stderr says)
    let cases: Vec<(&str, String, Option<&str>, &str, &str)> = vec![
        (
            "a record 5 000 levels deep, even with `map = \".\"`",
            deep(5000),
            Some("."),
            "count",
            "the record is nested 5000 levels deep",
        ),
        (
            "a program that recurses without end",
            "{}".into(),
            Some("def f: [f]; f"),
            "count",
            "the jq program recursed too deep",
        ),
        (
            "a program with a billion outputs",
            "{}".into(),
            Some("range(1000000000)"),
            "count",
            "more than 10000 outputs",
        ),
        (
            "a program that builds a value 100 000 levels deep",
            "{}".into(),
            Some("reduce range(100000) as $i (0; [.])"),
            "count",
            "nested more than 512 levels deep",
        ),
        (
            "count_by over a field 200 levels deep",
            deep_field(200),
            None,
            "count_by",
            "nested 200 levels deep",
        ),
        (
            "distinct over a field 200 levels deep",
            deep_field(200),
            None,
            "distinct",
            "nested 200 levels deep",
        ),
        (
            "top_k over a field 5 000 levels deep",
            deep_field(5000),
            None,
            "top_k",
            "nested 5000 levels deep",
        ),
    ];
    // What a user reads of each case, pinned as one reviewed text.
    let mut shown = String::new();
    for (what, record, map, reducer, expected) in cases {
        let body = format!("{{\"data\":[{{}},{record}]}}");
        let serving = Loopback::bind().serve(axum::Router::new().route(
            "/items",
            axum::routing::get(move || {
                let body = body.clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        ));
        let work = Workspace::new();
        let map_line = map
            .map(|code| format!("map = '{code}'\n"))
            .unwrap_or_default();
        let field = if reducer == "count" {
            ""
        } else {
            "field = \"/k\"\n"
        };
        let k = if reducer == "top_k" { "k = 3\n" } else { "" };
        let text = format!(
            "[source]\nurl = \"http://{}/items\"\nrecords = \"/data\"\n{map_line}\
             [[reduce]]\nname = \"r\"\nuse = \"{reducer}\"\n{field}{k}",
            serving.addr
        );
        let run = run_job(&work.job("hostile.toml", &text), &[]);
        let stderr = run.stderr();
        shown.push_str(&format!("=== {what}\n{}\n", run.shown()));
        assert_eq!(run.output.status.code(), Some(1), "{what}:\n{stderr}");
        assert!(stderr.contains(expected), "{what}:\n{stderr}");
        // The hostile record is the second (record 1); a hostile program fails on the first.
        let record = if record == "{}" {
            "record 0"
        } else {
            "record 1"
        };
        assert!(
            stderr.contains(record),
            "{what}: names the record\n{stderr}"
        );
        assert!(
            stderr.contains("/items"),
            "{what}: names the page\n{stderr}"
        );
    }
    let masks = crate::support::Masks::new().rule(r"\d+(\.\d+)?(ms|s)\b", "[time]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("map_hostile_records_and_programs", shown);
    });
}

/// A native jq loop never calls back, so the guard cannot stop it where it runs: the watchdog
/// ends the process, saying why, once the program has run `HARD_LIMIT` on one record.
#[test]
fn a_native_loop_that_never_yields_ends_the_run_with_an_error() {
    let serving = Loopback::bind().serve(axum::Router::new().route(
        "/items",
        axum::routing::get(|| async {
            ([("content-type", "application/json")], "{\"data\":[{}]}")
        }),
    ));
    let work = Workspace::new();
    let text = format!(
        "[source]\nurl = \"http://{}/items\"\nrecords = \"/data\"\nmap = 'last(range(1e15))'\n\
         [[reduce]]\nname = \"r\"\nuse = \"count\"\n",
        serving.addr
    );
    let output = work.path().join("out.json");
    let run = run_job(
        &work.job("native-loop.toml", &text),
        &["-o", output.to_str().unwrap()],
    );
    let stderr = run.stderr();
    assert_eq!(run.output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("has run 10s on one record inside a jq built-in that cannot be interrupted"),
        "{stderr}"
    );
    assert!(!output.exists(), "no output is written");
    insta::assert_snapshot!("map_native_loop", run.shown());
}
