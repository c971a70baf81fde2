//! Under injected faults (server errors, throttling, dropped connections, stalls, truncated
//! bodies), the result is exactly the clean result, and retries stay bounded.

use std::time::Duration;

use pagefold_demo_api::{DemoConfig, Faults};
use serde_json::json;

use crate::support::{ALL_BUILTINS, Workspace, assert_builtins, demo_server, orders, run_job};

const RETRIES: u64 = 12;
const CONCURRENCY: u64 = 6;

fn faulty_job(url: &str, pagination: &str) -> String {
    format!(
        r#"
[source]
url = "{url}"
records = "/data"

[source.pagination]
{pagination}

[fetch]
concurrency = {CONCURRENCY}
timeout = "250ms"
retries = {RETRIES}
backoff = {{ base = "1ms", max = "4ms" }}

{ALL_BUILTINS}
"#
    )
}

/// Runs the job over an API with `faults` for several seeds, with and without a total.
fn exact_under(faults: Faults) {
    for seed in [1, 2, 3] {
        for totals in [true, false] {
            let config = DemoConfig {
                records: 600,
                totals,
                faults: Faults {
                    seed,
                    ..faults.clone()
                },
                ..DemoConfig::default()
            };
            let server = demo_server(config.clone());
            let work = Workspace::new();
            let pagination = if totals {
                "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\""
            } else {
                "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50"
            };
            let job = work.job(
                "faulty.toml",
                &faulty_job(&server.url("/orders"), pagination),
            );
            let result = run_job(&job, &[]).result();
            assert_builtins(&result, &orders(&config));
            let requests = server.stats().requests();
            // Twelve pages (and, without a total, the empty page and a window past it).
            let pages = 12 + if totals { 0 } else { 1 + 2 * CONCURRENCY };
            assert!(
                requests <= pages * (RETRIES + 1),
                "seed {seed}: {requests} requests"
            );
            assert!(
                result["stats"]["retries"].as_u64().unwrap() > 0,
                "seed {seed}: faults were injected"
            );
            if totals {
                assert_eq!(
                    result["stats"]["requests"],
                    json!(requests),
                    "the client counts every request"
                );
            }
        }
    }
}

#[test]
fn server_errors() {
    exact_under(Faults {
        errors: 0.3,
        ..Faults::default()
    });
}

#[test]
fn throttling_with_retry_after() {
    exact_under(Faults {
        throttles: 0.3,
        retry_after: 0,
        ..Faults::default()
    });
}

#[test]
fn connections_dropped_mid_body() {
    exact_under(Faults {
        resets: 0.3,
        ..Faults::default()
    });
}

#[test]
fn truncated_bodies() {
    exact_under(Faults {
        truncations: 0.3,
        ..Faults::default()
    });
}

#[test]
fn stalled_responses_time_out_and_are_retried() {
    exact_under(Faults {
        stalls: 0.1,
        stall: Duration::from_secs(5),
        ..Faults::default()
    });
}

#[test]
fn every_fault_at_once() {
    exact_under(Faults {
        errors: 0.1,
        throttles: 0.1,
        retry_after: 0,
        resets: 0.1,
        truncations: 0.1,
        stalls: 0.05,
        stall: Duration::from_secs(5),
        ..Faults::default()
    });
}

#[test]
fn retry_after_is_honoured() {
    // The only page is throttled once with `Retry-After: 1`; the backoff alone would retry
    // within milliseconds.
    let faults = Faults {
        fail_first: 1,
        status: 429,
        retry_after: 1,
        ..Faults::default()
    };
    let config = DemoConfig {
        records: 10,
        faults,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let job = work.job(
        "throttled.toml",
        &faulty_job(&server.url("/orders"), "kind = \"none\""),
    );
    let result = run_job(&job, &[]).result();
    assert_builtins(&result, &orders(&config));
    let arrivals = server.stats().arrivals();
    assert_eq!(arrivals.len(), 2);
    let waited = arrivals[1] - arrivals[0];
    assert!(
        waited >= Duration::from_secs(1),
        "the retry came after {waited:?}"
    );
}
