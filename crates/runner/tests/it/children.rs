//! Parent → child: every customer (the parent) names a chain of its orders (the child).

use std::collections::BTreeMap;

use pagefold_demo_api::DemoConfig;
use serde_json::json;

use crate::support::{Workspace, demo_server, orders, run_job};

#[test]
fn each_parent_record_names_a_child_chain_whose_records_are_reduced() {
    let config = DemoConfig {
        records: 1500,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let text = format!(
        r#"
[source]
url = "{customers}"
records = "/data"
[source.pagination]
kind = "page"
size_param = "per_page"
size = 100
total_records = "/meta/total"

[child]
url = "{orders}?customer={{customer}}"
records = "/data"
vars = {{ customer = "/id", region = "/region" }}
carry = ["region"]
[child.pagination]
kind = "page"
size_param = "per_page"
size = 20
total_records = "/meta/total"

[fetch]
concurrency = 16

[[reduce]]
name = "orders"
use = "count"

[[reduce]]
name = "cents"
use = "sum"
field = "/amount_cents"

[[reduce]]
name = "by_region"
use = "count_by"
field = "/_parent/region"

[[reduce]]
name = "customers"
use = "distinct"
field = "/customer"
"#,
        customers = server.url("/customers"),
        orders = server.url("/orders"),
    );
    let result = run_job(&work.job("children.toml", &text), &[]).result();
    let data = orders(&config);
    let mut by_region = BTreeMap::<&str, u64>::new();
    for order in &data {
        let number: usize = order.customer[5..].parse().unwrap();
        *by_region
            .entry(["north", "south", "east", "west"][number % 4])
            .or_default() += 1;
    }
    let customers: std::collections::BTreeSet<&str> =
        data.iter().map(|o| o.customer.as_str()).collect();
    assert_eq!(
        result["reducers"],
        json!({
            "orders": 1500,
            "cents": data.iter().map(|o| o.amount_cents).sum::<u64>(),
            "by_region": by_region,
            "customers": customers.len(),
        })
    );
    assert_eq!(result["parent"]["records"], json!(500));
    assert_eq!(result["records"], json!(1500));
}

#[test]
fn a_failing_child_fails_the_run_instead_of_hanging_it() {
    // Regression: the parents used to wait forever on a channel nobody read any more.
    let config = DemoConfig {
        records: 600,
        faults: pagefold_demo_api::Faults {
            broken_pages: vec![1],
            ..Default::default()
        },
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let text = format!(
        "[source]\nurl = \"{}\"\nrecords = \"/data\"\n[source.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\n\
         size = 100\ntotal_records = \"/meta/total\"\n[child]\nurl = \"{}?customer={{customer}}\"\nrecords = \"/data\"\n\
         vars = {{ customer = \"/id\" }}\n[child.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\nsize = 50\n\
         [fetch]\nretries = 0\nconcurrency = 2\n[[reduce]]\nuse = \"count\"\n",
        server.url("/customers"),
        server.url("/orders")
    );
    let run = run_job(&work.job("failing-child.toml", &text), &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("caused by: HTTP 500: this page is broken"),
        "{}",
        run.stderr()
    );
}
