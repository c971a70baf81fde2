//! The sketching built-ins over the demo API: `approx_distinct` and `approx_quantiles` within
//! the error bounds their results state, of the exact answers computed from the data, and the
//! same result from one reduce worker as from four, and from four shards whose parts carry the
//! saved sketches (their merges are exact).

use pagefold_demo_api::DemoConfig;
use serde_json::Value;

use crate::support::{Workspace, demo_server, orders, orders_job, run_job};

const PAGES: &str = r#"
kind = "page"
size_param = "per_page"
size = 25
"#;

const SKETCHES: &str = r#"
[[reduce]]
name = "ids"
use = "approx_distinct"
field = "/id"

[[reduce]]
name = "ids_coarse"
use = "approx_distinct"
field = "/id"
precision = 8

[[reduce]]
name = "customers"
use = "approx_distinct"
field = "/customer"

[[reduce]]
name = "cents"
use = "approx_quantiles"
field = "/amount_cents"
q = [0, 0.1, 0.5, 0.95, 0.99, 1]

[[reduce]]
name = "cents_coarse"
use = "approx_quantiles"
field = "/amount_cents"
relative_accuracy = 0.05
"#;

/// `estimate` within 3 of the standard errors the result states of `exact`.
fn assert_distinct_within_bound(result: &Value, exact: usize) {
    let estimate = result["estimate"].as_f64().unwrap();
    let error = result["relative_standard_error"].as_f64().unwrap();
    let exact = exact as f64;
    assert!(
        (estimate - exact).abs() <= 3.0 * error * exact,
        "{result} for {exact} distinct values"
    );
}

/// Each quantile within the stated relative accuracy of the value at its rank; count and
/// extremes exact.
fn assert_quantiles_within_bound(result: &Value, sorted: &[f64], quantiles: &[(f64, &str)]) {
    let accuracy = result["relative_accuracy"].as_f64().unwrap();
    for &(q, key) in quantiles {
        let exact = sorted[(q * (sorted.len() - 1) as f64) as usize];
        let estimate = result[key].as_f64().unwrap();
        assert!(
            (estimate - exact).abs() <= accuracy * exact * (1.0 + 1e-9),
            "{key}: {estimate} vs {exact} ({result})"
        );
    }
    assert_eq!(result["count"].as_u64(), Some(sorted.len() as u64));
    assert_eq!(result["min"].as_f64(), sorted.first().copied());
    assert_eq!(result["max"].as_f64(), sorted.last().copied());
    assert!(result.get("collapsed_below").is_none(), "{result}");
}

#[test]
fn sketches_are_within_their_stated_bounds_for_any_worker_count() {
    let config = DemoConfig {
        records: 3000,
        max_page_size: 25,
        totals: false,
        ..DemoConfig::default()
    };
    let orders = orders(&config);
    let customers: std::collections::BTreeSet<&str> =
        orders.iter().map(|o| o.customer.as_str()).collect();
    let mut cents: Vec<f64> = orders.iter().map(|o| o.amount_cents as f64).collect();
    cents.sort_by(f64::total_cmp);

    let server = demo_server(config);
    let work = Workspace::new();
    let job = work.job("sketches.toml", &orders_job(&server, PAGES, 8, SKETCHES));
    let mut results = Vec::new();
    for workers in ["1", "4"] {
        let result = run_job(&job, &["--workers", workers]).result();
        let reducers = result["reducers"].clone();
        assert_distinct_within_bound(&reducers["ids"], orders.len());
        assert_distinct_within_bound(&reducers["ids_coarse"], orders.len());
        assert_distinct_within_bound(&reducers["customers"], customers.len());
        assert_eq!(reducers["ids"]["precision"], 14);
        assert_eq!(reducers["ids_coarse"]["precision"], 8);
        assert_quantiles_within_bound(
            &reducers["cents"],
            &cents,
            &[
                (0.0, "p0"),
                (0.1, "p10"),
                (0.5, "p50"),
                (0.95, "p95"),
                (0.99, "p99"),
                (1.0, "p100"),
            ],
        );
        assert_quantiles_within_bound(
            &reducers["cents_coarse"],
            &cents,
            &[(0.5, "p50"), (0.95, "p95"), (0.99, "p99")],
        );
        assert_eq!(reducers["cents_coarse"]["relative_accuracy"], 0.05);
        results.push(reducers);
    }
    // Register-wise maxima and bucket sums: four workers merge to exactly one's sketch.
    assert_eq!(results[0], results[1]);
}

/// The sketches' states travel in the parts of a sharded run (saved by each shard, loaded and
/// merged by the last): the merged result is a single run's.
#[test]
fn sketches_saved_in_shard_parts_merge_to_a_single_runs_result() {
    let server = demo_server(DemoConfig {
        records: 2000,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job(
        "sketches.toml",
        &orders_job(&server, crate::shards::PAGES, 8, SKETCHES),
    );
    let single = run_job(&job, &[]).result();
    let parts = work.path().join("parts");
    let merged = work.path().join("merged.json");
    crate::shards::run_indexed_job_with(&job, parts.to_str().unwrap(), 4, &merged, &[]);
    let merged = crate::shards::read(&merged);
    assert_eq!(merged["merged_from"]["shards"], 4);
    assert_eq!(merged["reducers"], single["reducers"]);
}
