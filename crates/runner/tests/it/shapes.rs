//! Real APIs as they are: an error past the last page (Django REST Framework's 404), totals
//! and next pages in headers, requests with a body (GraphQL, `search_after`). Each example job
//! of `jobs/` for these shapes runs as written against the demo API, exactly.

use std::path::Path;

use pagefold_demo_api::{DemoConfig, DemoServer};
use serde_json::{Value, json};

use crate::support::{Run, Workspace, demo_server, orders, pagefold};

const RECORDS: u64 = 1234;

fn server() -> (DemoServer, DemoConfig) {
    let config = DemoConfig {
        records: RECORDS,
        ..DemoConfig::default()
    };
    (demo_server(config.clone()), config)
}

/// The example job `name`, pointed at `server`, edited by `edit`, run.
fn run_example(server: &DemoServer, name: &str, edit: impl Fn(String) -> String) -> Run {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../jobs")
            .join(name),
    )
    .unwrap()
    .replace("127.0.0.1:7878", &server.addr().to_string());
    let work = Workspace::new();
    let job = work.job(name, &edit(text));
    pagefold(&["run", job.to_str().unwrap(), "-q"])
}

/// The result's count and revenue are those of every order.
fn assert_exact(result: &Value, config: &DemoConfig, name: &str) {
    let cents: u64 = orders(config).iter().map(|o| o.amount_cents).sum();
    assert_eq!(result["records"], json!(RECORDS), "{name}");
    assert_eq!(result["reducers"]["orders"], json!(RECORDS), "{name}");
    let revenue = result["reducers"]["revenue"].as_f64().unwrap();
    assert!(
        (revenue - cents as f64 / 100.0).abs() < 1e-6,
        "{name}: {revenue}"
    );
}

#[test]
fn every_example_of_the_new_shapes_runs_exactly_as_written() {
    let pages = RECORDS.div_ceil(50);
    let cases = [
        ("drf-orders.toml", format!("HTTP 404 past page {pages}")),
        (
            "header-totals.toml",
            format!("the reported total reached ({pages} pages)"),
        ),
        (
            "next-header.toml",
            format!("no next page named after page {pages}"),
        ),
        (
            "cursor-header.toml",
            format!("no next page named after page {pages}"),
        ),
        (
            "graphql-orders.toml",
            format!("no next page named after page {pages}"),
        ),
        (
            "graphql-pages.toml",
            format!("the reported total reached ({pages} pages)"),
        ),
        (
            "search-after.toml",
            format!("no next page named after page {}", pages + 1),
        ),
    ];
    for (name, ended) in cases {
        let (server, config) = server();
        let run = run_example(&server, name, |text| text);
        let result = run.result();
        assert_exact(&result, &config, name);
        assert_eq!(result["ended"], json!(ended), "{name}");
        assert!(
            result.get("warnings").is_none(),
            "{name}: {}",
            result["warnings"]
        );
    }
}

#[test]
fn a_404_past_the_end_ends_the_chain_but_is_an_error_on_the_first_page_or_when_turned_off() {
    let (server, config) = server();
    // With a total, the same job fetches every page at once and never reaches the 404.
    let run = run_example(&server, "drf-orders.toml", |text| {
        text.replace("end_on = [404]", "total_records = \"/count\"")
    });
    assert_exact(&run.result(), &config, "drf with a total");
    let requests_before = server.stats().requests();
    let run = run_example(&server, "drf-orders.toml", |text| {
        text.replace("end_on = [404]", "end_on = []")
    });
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("caused by: HTTP 404: {\"detail\":\"Invalid page.\"}"),
        "{}",
        run.stderr()
    );
    assert!(server.stats().requests() > requests_before);
    // The first page: an error, whatever `end_on` says.
    let run = run_example(&server, "drf-orders.toml", |text| {
        text.replace("kind = \"page\"", "kind = \"page\"\nstart = 99")
    });
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("HTTP 404"), "{}", run.stderr());
}

#[test]
fn totals_in_content_range_and_page_counts_in_headers_are_read() {
    for header in ["Content-Range", "X-Total-Pages"] {
        let (server, config) = server();
        let run = run_example(&server, "header-totals.toml", |text| {
            let key = if header == "X-Total-Pages" {
                "total_pages_header"
            } else {
                "total_records_header"
            };
            text.replace(
                "total_records_header = \"X-Total-Count\"",
                &format!("{key} = \"{header}\""),
            )
        });
        assert_exact(&run.result(), &config, header);
        // The total was known from the first page: no request past the end.
        assert_eq!(server.stats().requests(), RECORDS.div_ceil(50), "{header}");
    }
}

#[test]
fn graphql_errors_name_their_messages_and_only_rate_limits_are_retried() {
    let (api, _) = server();
    let run = run_example(&api, "graphql-orders.toml", |text| {
        text.replace("variables = { first = 50 }", "variables = { first = 500 }")
    });
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("the API answered with errors: `first` may be at most 100"),
        "{}",
        run.stderr()
    );
    assert_eq!(api.stats().requests(), 1, "not retried");

    for (retry_post, requests) in [(true, 3), (false, 1)] {
        let (api, _) = server();
        let run = run_example(&api, "graphql-orders.toml", |text| {
            text.replace("query($first", "query rateLimited($first")
                .replace("retry_post = true", &format!("retry_post = {retry_post}"))
                + "\n[fetch]\nretries = 2\nbackoff = { base = \"1ms\", max = \"2ms\" }\n"
        });
        assert_eq!(run.code(), 1, "{}", run.stderr());
        assert!(
            run.stderr()
                .contains("API rate limit exceeded for this token"),
            "{}",
            run.stderr()
        );
        assert_eq!(
            api.stats().requests(),
            requests,
            "retry_post = {retry_post}"
        );
    }
}

#[test]
fn partition_values_fill_the_body() {
    let (server, config) = server();
    // Two partitions that ask for different page sizes in the body: the same records twice.
    let run = run_example(&server, "graphql-orders.toml", |text| {
        text.replace(
            "variables = { first = 50 }",
            "variables = { first = \"{size}\" }",
        )
        .replace(
            "[source.pagination]",
            "[source.partitions]\nsize = [\"40\", \"60\"]\n\n[source.pagination]",
        )
    });
    let result = run.result();
    assert_eq!(result["records"], json!(2 * RECORDS), "{result}");
    let sizes: Vec<Value> = result["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|partition| partition["values"]["size"].clone())
        .collect();
    assert_eq!(sizes, [json!("40"), json!("60")]);
    let _ = config;
}
