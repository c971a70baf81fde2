//! Jobs over the demo API, checked against values computed from the data itself.

use pagefold_demo_api::{DemoConfig, Faults};
use serde_json::json;

use crate::support::{
    ALL_BUILTINS, Workspace, assert_builtins, demo_server, orders, orders_job, pagefold, run_job,
};

const PAGES_WITH_TOTAL: &str = r#"
kind = "page"
size_param = "per_page"
size = 50
total_records = "/meta/total"
"#;

const PAGES_WITHOUT_TOTAL: &str = r#"
kind = "page"
size_param = "per_page"
size = 50
"#;

#[test]
fn known_total_gives_every_builtin_exactly() {
    let config = DemoConfig {
        records: 1234,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let job = work.job(
        "orders.toml",
        &orders_job(&server, PAGES_WITH_TOTAL, 8, ALL_BUILTINS),
    );
    let result = run_job(&job, &[]).result();
    assert_builtins(&result, &orders(&config));
    assert_eq!(result["pages"], json!(25));
    assert_eq!(result["job"], json!("orders"));
    assert_eq!(result["stats"]["requests"], json!(25));
    assert_eq!(result["stats"]["retries"], json!(0));
    // One request per page: the total was read from the first page.
    assert_eq!(server.stats().requests(), 25);
}

#[test]
fn unknown_total_ends_at_the_first_empty_page() {
    let config = DemoConfig {
        records: 1234,
        totals: false,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let job = work.job(
        "orders.toml",
        &orders_job(&server, PAGES_WITHOUT_TOTAL, 8, ALL_BUILTINS),
    );
    let result = run_job(&job, &[]).result();
    assert_builtins(&result, &orders(&config));
    assert_eq!(result["pages"], json!(25));
    // The window runs ahead of the end, but never by more than two windows.
    assert!(
        server.stats().requests() <= 25 + 1 + 16,
        "{} requests",
        server.stats().requests()
    );
}

#[test]
fn a_page_size_cap_below_size_loses_nothing() {
    // The API serves at most 20 a page whatever is asked; short pages are not the end.
    for (pagination, totals) in [
        (PAGES_WITHOUT_TOTAL, false),
        (PAGES_WITH_TOTAL, true),
        (
            "kind = \"offset\"\nparam = \"offset\"\nsize_param = \"limit\"\nsize = 50",
            false,
        ),
        (
            "kind = \"offset\"\nsize_param = \"limit\"\nsize = 50\ntotal_records = \"/meta/total\"",
            true,
        ),
    ] {
        let config = DemoConfig {
            records: 457,
            max_page_size: 20,
            totals,
            ..DemoConfig::default()
        };
        let server = demo_server(config.clone());
        let work = Workspace::new();
        let job = work.job(
            "capped.toml",
            &orders_job(&server, pagination, 6, ALL_BUILTINS),
        );
        let result = run_job(&job, &[]).result();
        assert_builtins(&result, &orders(&config));
        assert_eq!(result["pages"], json!(23), "{pagination}");
    }
}

#[test]
fn offset_pagination_with_a_known_total() {
    let config = DemoConfig {
        records: 999,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let pagination =
        "kind = \"offset\"\nsize_param = \"limit\"\nsize = 100\ntotal_records = \"/meta/total\"";
    let job = work.job(
        "offsets.toml",
        &orders_job(&server, pagination, 4, ALL_BUILTINS),
    );
    let result = run_job(&job, &[]).result();
    assert_builtins(&result, &orders(&config));
    assert_eq!(server.stats().requests(), 10);
}

#[test]
fn an_empty_collection_gives_each_reducers_empty_value() {
    for totals in [true, false] {
        let config = DemoConfig {
            records: 0,
            totals,
            ..DemoConfig::default()
        };
        let server = demo_server(config.clone());
        let work = Workspace::new();
        let pagination = if totals {
            PAGES_WITH_TOTAL
        } else {
            PAGES_WITHOUT_TOTAL
        };
        let job = work.job(
            "empty.toml",
            &orders_job(&server, pagination, 4, ALL_BUILTINS),
        );
        let result = run_job(&job, &[]).result();
        assert_eq!(result["records"], json!(0));
        assert_eq!(
            result["reducers"],
            json!({
                "orders": 0, "cents": 0, "amount": 0, "cheapest": null, "dearest": null,
                "mean_items": null, "by_status": {}, "customers": 0, "top_cities": [],
                "coupons": {}, "ids": []
            })
        );
    }
}

#[test]
fn a_page_repeated_past_the_end_ends_the_chain_and_is_not_counted() {
    // json-server answers every page past the end with the last page again.
    let config = DemoConfig {
        records: 130,
        totals: false,
        repeat_last_page: true,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let job = work.job(
        "repeat.toml",
        &orders_job(&server, PAGES_WITHOUT_TOTAL, 4, ALL_BUILTINS),
    );
    let result = run_job(&job, &[]).result();
    assert_builtins(&result, &orders(&config));
    assert_eq!(result["pages"], json!(3));
}

#[test]
fn results_are_identical_for_any_concurrency_and_worker_count() {
    let config = DemoConfig {
        records: 2000,
        max_page_size: 25,
        totals: false,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let mut results = Vec::new();
    // Without `--workers`, built-ins fold on the fetching thread; with it, on that many threads.
    for (concurrency, workers) in [(1, Some("1")), (64, Some("4")), (7, Some("3")), (16, None)] {
        let job = work.job(
            "c.toml",
            &orders_job(&server, PAGES_WITHOUT_TOTAL, concurrency, ALL_BUILTINS),
        );
        let args: &[&str] = match workers {
            Some(workers) => &["--workers", workers],
            None => &[],
        };
        let result = run_job(&job, args).result();
        assert_builtins(&result, &orders(&config));
        results.push(result);
    }
    // Everything but the run's own statistics (requests, time) is identical.
    let without_stats = |mut result: serde_json::Value| {
        result.as_object_mut().unwrap().remove("stats");
        result
    };
    let results: Vec<_> = results.into_iter().map(without_stats).collect();
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
    assert_eq!(results[0], results[3]);
}

#[test]
fn a_failing_page_is_retried_until_it_succeeds() {
    let config = DemoConfig {
        records: 300,
        faults: Faults {
            fail_first: 2,
            status: 503,
            ..Faults::default()
        },
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let job = work.job(
        "flaky.toml",
        &orders_job(&server, PAGES_WITH_TOTAL, 4, ALL_BUILTINS),
    );
    let result = run_job(&job, &[]).result();
    assert_builtins(&result, &orders(&config));
    // Six pages, each failing twice before it succeeds.
    assert_eq!(server.stats().requests(), 18);
    assert_eq!(result["stats"]["retries"], json!(12));
}

#[test]
fn exhausted_retries_fail_the_run_and_write_nothing() {
    let config = DemoConfig {
        records: 300,
        faults: Faults {
            fail_first: 100,
            status: 500,
            ..Faults::default()
        },
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let out = work.path().join("out/result.json");
    let text = format!(
        "{}\n[output]\npath = \"out/result.json\"\n",
        orders_job(&server, PAGES_WITH_TOTAL, 4, ALL_BUILTINS)
    );
    let job = work.job("down.toml", &text);
    let run = run_job(&job, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let expected = format!(
        "error: `{}` failed after 4 attempts in",
        server.url("/orders?page=1&per_page=50")
    );
    assert!(run.stderr().starts_with(&expected), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("caused by: HTTP 500: injected failure 4 of 100"),
        "{}",
        run.stderr()
    );
    assert!(!out.exists(), "no output file after a failed run");
    assert_eq!(run.stdout(), "");
}

#[test]
fn the_output_file_is_written_whole() {
    let config = DemoConfig {
        records: 120,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let text = format!(
        "{}\n[output]\npath = \"out/result.json\"\n",
        orders_job(&server, PAGES_WITH_TOTAL, 4, ALL_BUILTINS)
    );
    let job = work.job("to-file.toml", &text);
    let run = run_job(&job, &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.stdout(), "", "the result goes to the file, not stdout");
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.path().join("out/result.json")).unwrap(),
    )
    .unwrap();
    assert_builtins(&written, &orders(&config));
}

#[test]
fn a_page_without_the_records_array_names_the_url() {
    let server = demo_server(DemoConfig {
        records: 10,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let text = orders_job(&server, PAGES_WITH_TOTAL, 2, ALL_BUILTINS)
        .replace("records = \"/data\"", "records = \"/items\"");
    let job = work.job("wrong-pointer.toml", &text);
    let run = run_job(&job, &[]);
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(
        stderr.contains(&format!(
            "`{}` failed after 1 attempt",
            server.url("/orders?page=1&per_page=50")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("caused by: no records array at `/items`: nothing is there"),
        "{stderr}"
    );
}

#[test]
fn a_record_field_of_the_wrong_type_is_an_error_naming_the_reducer_and_page() {
    let server = demo_server(DemoConfig {
        records: 10,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let reducer = "[[reduce]]\nname = \"total\"\nuse = \"sum\"\nfield = \"/status\"\n";
    let job = work.job(
        "types.toml",
        &orders_job(&server, PAGES_WITH_TOTAL, 2, reducer),
    );
    let run = run_job(&job, &[]);
    assert_eq!(run.code(), 1);
    let expected = format!(
        "error: reducer `total` (built-in `sum`) failed: record 0: `sum` needs numbers, but the field is the string `\"{}\"` on `{}`",
        pagefold_demo_api::Dataset { len: 10, seed: 1 }
            .order(0)
            .status,
        server.url("/orders?page=1&per_page=50")
    );
    assert!(run.stderr().starts_with(&expected), "{}", run.stderr());
}

#[test]
fn a_bad_job_file_exits_2_naming_line_and_column() {
    let work = Workspace::new();
    let job = work.job(
        "bad.toml",
        "[source]\nurl = \"http://127.0.0.1:1/\"\nrecords = 5\n",
    );
    for command in ["run", "validate"] {
        let run = pagefold(&[command, job.to_str().unwrap()]);
        assert_eq!(run.code(), 2);
        let expected = format!(
            "error: {}:3:11: invalid type: integer `5`, expected a string\n    |\n  3 | records = 5\n    |           ^\n",
            job.display()
        );
        assert!(run.stderr().starts_with(&expected), "{}", run.stderr());
    }
    let missing = pagefold(&["run", "/nonexistent/job.toml"]);
    assert_eq!(missing.code(), 2);
    assert!(
        missing
            .stderr()
            .starts_with("error: cannot read job file `/nonexistent/job.toml`"),
        "{}",
        missing.stderr()
    );
}

#[test]
fn validate_accepts_the_demo_job() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../jobs/demo.toml");
    let run = pagefold(&["validate", demo]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("is a valid job: `demo-orders`, 8 reducers"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_demo_runs_end_to_end() {
    let run = pagefold(&["demo", "--pages", "40", "--latency", "1ms"]);
    let result = run.result();
    assert_eq!(result["records"], json!(2000));
    assert_eq!(result["reducers"]["orders"], json!(2000));
    // With 1 ms of latency the run may or may not beat one page after another (the summary
    // line says which, honestly: `stats.rs` pins both wordings); the line is there.
    assert!(
        run.stderr().contains("one page after another would"),
        "{}",
        run.stderr()
    );
}

#[test]
fn secrets_in_the_query_never_show() {
    let server = demo_server(DemoConfig {
        records: 100,
        faults: Faults {
            fail_first: 100,
            status: 401,
            ..Faults::default()
        },
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let text = orders_job(&server, PAGES_WITH_TOTAL, 2, ALL_BUILTINS).replace(
        "records = \"/data\"",
        "records = \"/data\"\nquery = { api_key = \"s3cret-token\", ref = \"x\" }",
    );
    let job = work.job("secret.toml", &text);
    let run = run_job(&job, &["-vv"]);
    assert_eq!(run.code(), 1);
    let (stdout, stderr) = (run.stdout(), run.stderr());
    assert!(
        !stdout.contains("s3cret") && !stderr.contains("s3cret"),
        "{stderr}"
    );
    assert!(stderr.contains("api_key=****&ref=x"), "{stderr}");
}

#[test]
fn max_pages_below_the_window_keeps_every_page_it_fetched() {
    // Regression: with no total and `max_pages` under the concurrency, pages that arrived
    // before the first one were dropped.
    let config = DemoConfig {
        records: 1000,
        totals: false,
        latency: std::time::Duration::from_millis(5),
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let pagination = format!("{PAGES_WITHOUT_TOTAL}\nmax_pages = 3");
    let job = work.job(
        "capped-pages.toml",
        &orders_job(&server, &pagination, 8, ALL_BUILTINS),
    );
    let result = run_job(&job, &[]).result();
    assert_eq!(result["pages"], json!(3));
    assert_eq!(result["records"], json!(150));
    assert!(
        result["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("stopped at `max_pages` = 3"),
        "{}",
        result["warnings"]
    );
}

#[test]
fn on_error_skip_lists_the_pages_it_gave_up_on_and_exits_3() {
    let config = DemoConfig {
        records: 500,
        faults: Faults {
            broken_pages: vec![3, 7],
            ..Faults::default()
        },
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let text = format!(
        "on_error = \"skip\"\n{}\n[output]\npath = \"out.json\"\n",
        orders_job(&server, PAGES_WITH_TOTAL, 4, ALL_BUILTINS)
            .replace("retries = 3", "retries = 1")
    );
    let job = work.job("skip.toml", &text);
    let run = run_job(&job, &[]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(
        run.stderr().contains("warning: 2 pages were skipped"),
        "{}",
        run.stderr()
    );
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("out.json")).unwrap())
            .unwrap();
    let kept: Vec<_> = orders(&config)
        .into_iter()
        .filter(|o| !(100..150).contains(&(o.id - 1)) && !(300..350).contains(&(o.id - 1)))
        .collect();
    assert_eq!(result["records"], json!(400));
    assert_eq!(result["reducers"]["orders"], json!(kept.len()));
    let skipped = result["skipped"].as_array().unwrap();
    let mut urls: Vec<&str> = skipped.iter().map(|s| s["url"].as_str().unwrap()).collect();
    urls.sort_unstable();
    assert_eq!(
        urls,
        [
            server.url("/orders?page=3&per_page=50"),
            server.url("/orders?page=7&per_page=50")
        ]
    );
    assert_eq!(skipped[0]["reason"], json!("HTTP 500: this page is broken"));

    // The same job failing instead: no output at all.
    std::fs::remove_file(work.path().join("out.json")).unwrap();
    let failing = work.job(
        "fail.toml",
        &text.replace("on_error = \"skip\"", "on_error = \"fail\""),
    );
    let run = run_job(&failing, &[]);
    assert_eq!(run.code(), 1);
    assert!(!work.path().join("out.json").exists());
}
