//! Pagination where each page names the next: cursors (in the body or Stripe's last id), next
//! URLs, GitHub's `Link` header (fanned out when page-numbered), and loops caught.

use std::time::Duration;

use pagefold_demo_api::{DemoConfig, Order};
use serde_json::json;

use crate::support::{ALL_BUILTINS, Workspace, assert_builtins, demo_server, orders, run_job};

fn job(url: &str, records: &str, pagination: &str) -> String {
    format!(
        "[source]\nurl = \"{url}\"\nrecords = \"{records}\"\n[source.pagination]\n{pagination}\n[fetch]\nconcurrency = 8\n{ALL_BUILTINS}"
    )
}

fn paid(config: &DemoConfig) -> Vec<Order> {
    orders(config)
        .into_iter()
        .filter(|o| o.status == "paid")
        .collect()
}

#[test]
fn each_kind_of_chain_gives_exact_results() {
    let config = DemoConfig {
        records: 537,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let cases = [
        (
            "/cursor/orders",
            "/data",
            "kind = \"cursor\"\nparam = \"cursor\"\nnext = \"/meta/next_cursor\"\nhas_more = \"/meta/has_more\"\nsize_param = \"limit\"\nsize = 40",
        ),
        (
            "/stripe/orders",
            "/data",
            "kind = \"cursor\"\nparam = \"starting_after\"\nnext_from_last_record = \"/id\"\nhas_more = \"/has_more\"\nsize_param = \"limit\"\nsize = 40",
        ),
        (
            "/next/orders",
            "/data",
            "kind = \"next_url\"\nnext = \"/links/next\"\nsize_param = \"per_page\"\nsize = 40",
        ),
        (
            "/links/orders",
            "",
            "kind = \"link_header\"\nsize_param = \"per_page\"\nsize = 40",
        ),
    ];
    for (path, records, pagination) in cases {
        let file = work.job("chain.toml", &job(&server.url(path), records, pagination));
        let result = run_job(&file, &[]).result();
        assert_builtins(&result, &orders(&config));
        assert_eq!(result["pages"], json!(14), "{path}");
    }
    // With a filter in the query, every kind carries it along.
    for (path, records, pagination) in cases {
        let file = work.job(
            "filtered.toml",
            &job(
                &format!("{}?status=paid", server.url(path)),
                records,
                pagination,
            ),
        );
        let result = run_job(&file, &[]).result();
        assert_builtins(&result, &paid(&config));
    }
}

#[test]
fn page_numbered_link_headers_are_fetched_concurrently() {
    let config = DemoConfig {
        records: 800,
        latency: Duration::from_millis(20),
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let file = work.job(
        "links.toml",
        &job(
            &server.url("/links/orders"),
            "",
            "kind = \"link_header\"\nsize_param = \"per_page\"\nsize = 40",
        ),
    );
    let result = run_job(&file, &[]).result();
    assert_builtins(&result, &orders(&config));
    // rel="last" named page 20: pages 2 to 20 went out together, 8 at a time.
    assert_eq!(server.stats().peak_in_flight(), 8);
    assert_eq!(server.stats().requests(), 20);
}

#[test]
fn a_cursor_that_comes_back_is_an_error_not_a_loop() {
    let config = DemoConfig {
        records: 500,
        cursor_loop: true,
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let pagination = "kind = \"cursor\"\nparam = \"cursor\"\nnext = \"/meta/next_cursor\"\nsize_param = \"limit\"\nsize = 50";
    let file = work.job(
        "loop.toml",
        &job(&server.url("/cursor/orders"), "/data", pagination),
    );
    let run = run_job(&file, &[]);
    assert_eq!(run.code(), 1);
    let expected = format!(
        "error: the API loops: after 4 pages, `{}` names `c161` again",
        server.url("/cursor/orders?limit=50&cursor=c161")
    );
    assert!(run.stderr().starts_with(&expected), "{}", run.stderr());
    assert!(server.stats().requests() < 10);
}
