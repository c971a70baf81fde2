//! Rate limits: the job's own (`rate`), and the API's (`X-RateLimit-*`, 429), measured on the
//! server side.

use std::time::Duration;

use pagefold_demo_api::{DemoConfig, WindowLimit};

use crate::support::{
    ALL_BUILTINS, Workspace, assert_builtins, demo_server, orders, orders_job, run_job,
};

const PAGES: &str =
    "kind = \"page\"\nsize_param = \"per_page\"\nsize = 10\ntotal_records = \"/meta/total\"";

#[test]
fn the_jobs_rate_is_respected_server_side() {
    let config = DemoConfig {
        records: 300,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let text = orders_job(&server, PAGES, 8, ALL_BUILTINS)
        .replace("[fetch]\n", "[fetch]\nrate = \"40/s\"\n");
    let job = work.job("rated.toml", &text);
    let result = run_job(&job, &[]).result();
    assert_builtins(&result, &orders(&config));
    let arrivals = server.stats().arrivals();
    assert_eq!(arrivals.len(), 30);
    // 40/s with a burst of 1: 25 ms apart. Any 10 consecutive requests span at least 9 gaps
    // (allowing 10% for requests that were sent on time but arrived a little late).
    for window in arrivals.windows(10) {
        let span = window[9] - window[0];
        assert!(
            span >= Duration::from_millis(9 * 25 * 9 / 10),
            "10 requests within {span:?}"
        );
    }
    assert!(result["stats"]["waited_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn the_apis_window_limit_pauses_the_run_instead_of_hammering() {
    let limit = WindowLimit {
        requests: 8,
        window: Duration::from_secs(1),
    };
    let config = DemoConfig {
        records: 200,
        window_limit: Some(limit),
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let job = work.job(
        "windowed.toml",
        &orders_job(&server, PAGES, 4, ALL_BUILTINS),
    );
    let result = run_job(&job, &[]).result();
    assert_builtins(&result, &orders(&config));
    // The client stops when X-RateLimit-Remaining reaches 0; only requests already in flight
    // at that moment can go over the limit.
    let throttled = server.stats().throttled();
    assert!(
        throttled <= 2 * 4,
        "{throttled} requests were refused with 429"
    );
    assert!(
        result["stats"]["waited_seconds"].as_f64().unwrap() >= 1.0,
        "{}",
        result["stats"]
    );
}
