//! Partitions: one chain per value or date window, run side by side, reported each.

use std::time::Duration;

use pagefold_demo_api::{DemoConfig, Order};
use serde_json::{Value, json};

use crate::support::{ALL_BUILTINS, Workspace, assert_builtins, demo_server, orders, run_job};

fn job(url: &str, partitions: &str, pagination: &str, concurrency: usize) -> String {
    format!(
        "[source]\nurl = \"{url}\"\nrecords = \"/data\"\n[source.partitions]\n{partitions}\n[source.pagination]\n{pagination}\n\
         [fetch]\nconcurrency = {concurrency}\n{ALL_BUILTINS}"
    )
}

const CURSOR: &str = "kind = \"cursor\"\nparam = \"cursor\"\nnext = \"/meta/next_cursor\"\nsize_param = \"limit\"\nsize = 25";

#[test]
fn value_partitions_each_get_a_chain_and_a_line_in_the_result() {
    let config = DemoConfig {
        records: 900,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let statuses = ["paid", "open", "shipped"];
    let pagination =
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 40\ntotal_records = \"/meta/total\"";
    let text = job(
        &format!("{}?status={{status}}", server.url("/orders")),
        "status = [\"paid\", \"open\", \"shipped\"]",
        pagination,
        8,
    );
    let result = run_job(&work.job("statuses.toml", &text), &[]).result();
    let selected: Vec<Order> = orders(&config)
        .into_iter()
        .filter(|o| statuses.contains(&o.status))
        .collect();
    let mut by_id = selected.clone();
    by_id.sort_by_key(|o| (statuses.iter().position(|s| *s == o.status), o.id));
    assert_builtins(&result, &by_id);
    let partitions = result["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 3);
    for (partition, status) in partitions.iter().zip(statuses) {
        let count = selected.iter().filter(|o| o.status == status).count();
        assert_eq!(partition["values"], json!({ "status": status }));
        assert_eq!(partition["records"], json!(count));
        assert_eq!(partition["pages"], json!(count.div_ceil(40)));
    }
}

#[test]
fn date_windows_cover_every_day_once() {
    let config = DemoConfig {
        records: 700,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let url = format!(
        "{}?since={{day}}&until={{day.end}}",
        server.url("/cursor/orders")
    );
    let text = job(
        &url,
        "day = { since = \"2026-01-01\", until = \"2026-03-02\", step = \"7d\" }",
        CURSOR,
        8,
    );
    let result = run_job(&work.job("days.toml", &text), &[]).result();
    // Windows go by date; `collect` goes by partition, then page: order ids by window.
    let mut by_window = orders(&config);
    by_window.sort_by_key(|o| (day_of(&o.created) / 7, o.id));
    assert_builtins(&result, &by_window);
    let partitions = result["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 9);
    assert_eq!(
        partitions[8]["values"],
        json!({ "day": "2026-02-26", "day.end": "2026-03-02" })
    );
    let total: u64 = partitions
        .iter()
        .map(|p| p["records"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 700);
}

fn day_of(date: &str) -> u64 {
    let month: u64 = date[5..7].parse().unwrap();
    let day: u64 = date[8..10].parse().unwrap();
    match month {
        1 => day - 1,
        2 => 30 + day,
        _ => 58 + day,
    }
}

#[test]
fn partition_chains_run_side_by_side() {
    let config = DemoConfig {
        records: 600,
        latency: Duration::from_millis(20),
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let url = format!("{}?status={{status}}", server.url("/cursor/orders"));
    let statuses = "status = [\"paid\", \"open\", \"shipped\", \"cancelled\", \"refunded\"]";
    let result: Value = run_job(
        &work.job("side-by-side.toml", &job(&url, statuses, CURSOR, 8)),
        &[],
    )
    .result();
    assert_eq!(result["records"], json!(600));
    // Five cursor chains, each one request at a time, overlapping.
    assert_eq!(server.stats().peak_in_flight(), 5);
}

/// Regression: two ranges of 100 000 values each made a vector of 10^10 chains before the cap
/// was checked ("memory allocation of 240000000000 bytes failed", an abort) in `validate`,
/// `plan` and `run` alike.
#[test]
fn a_product_of_ranges_past_the_cap_is_refused_by_every_command() {
    let work = Workspace::new();
    let text = job(
        "http://127.0.0.1:9/items?a={a}&b={b}",
        "a = { from = 0, to = 99999 }\nb = { from = 0, to = 99999 }",
        "kind = \"none\"",
        4,
    );
    let path = work.job("product.toml", &text);
    let path = path.to_str().unwrap();
    for command in ["validate", "plan", "run"] {
        let run = crate::support::pagefold(&[command, path]);
        assert_eq!(run.code(), 2, "{command}:\n{}", run.stderr());
        assert!(
            run.stderr()
                .contains("the partitions make more than 100000 chains"),
            "{command}:\n{}",
            run.stderr()
        );
    }
}

/// Regression: `to - from` wrapped near the ends of `i64`, and this range made no chain at all.
#[test]
fn ranges_near_the_ends_of_i64_make_every_chain() {
    let config = DemoConfig {
        records: 30,
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let url = format!("{}?shard={{n}}", server.url("/orders"));
    let text = job(
        &url,
        "n = { from = -5000000000000000000, to = 5000000000000000000, step = 5000000000000000000 }",
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 40\ntotal_records = \"/meta/total\"",
        4,
    );
    let result = run_job(&work.job("ends.toml", &text), &[]).result();
    let values: Vec<Value> = result["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|partition| partition["values"]["n"].clone())
        .collect();
    assert_eq!(
        values,
        [
            json!("-5000000000000000000"),
            json!("0"),
            json!("5000000000000000000")
        ]
    );
}
