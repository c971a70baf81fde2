//! `map`: a jq program between the page and the reducers, exact over loopback.

use std::collections::BTreeMap;

use pagefold_demo_api::DemoConfig;
use serde_json::json;

use crate::support::{Workspace, demo_server, orders, run_job};

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
            .contains(":3:7: `select(.a ==` is not a jq program"),
        "{}",
        run.stderr()
    );
}
