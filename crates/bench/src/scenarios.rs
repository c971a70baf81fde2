//! The benchmark's scenarios: one row of the table each, with the API it runs against and
//! the reducers it folds.

use std::time::Duration;

use crate::demo_api::DemoApi;

pub(crate) const AGGREGATES: &str = r#"
[[reduce]]
name = "orders"
use = "count"
[[reduce]]
name = "revenue"
use = "sum"
field = "/amount"
[[reduce]]
name = "by_status"
use = "count_by"
field = "/status"
[[reduce]]
name = "top_customers"
use = "top_k"
field = "/customer"
k = 10
"#;

pub(crate) const SUM_BUILTIN: &str =
    "[[reduce]]\nname = \"revenue\"\nuse = \"sum\"\nfield = \"/amount\"\n";

/// One row of the table.
pub(crate) struct Scenario {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) pages: u64,
    pub(crate) page_size: u64,
    pub(crate) latency: Duration,
    pub(crate) concurrency: usize,
    pub(crate) totals: bool,
    pub(crate) reducers: String,
    /// Extra `pagefold demo-api` flags: injected faults, capacity.
    pub(crate) faults: &'static [&'static str],
    /// Whether to check the run's sequential estimate against a run at concurrency 1.
    pub(crate) check_sequential: bool,
}

impl Scenario {
    /// A scenario of a module of its own: the API gives its totals, no faults are injected and
    /// the sequential estimate is not checked.
    pub(crate) fn plain(
        (id, name): (&'static str, &'static str),
        (pages, page_size): (u64, u64),
        latency: Duration,
        concurrency: usize,
        reducers: impl Into<String>,
    ) -> Self {
        Self {
            id,
            name,
            pages,
            page_size,
            latency,
            concurrency,
            totals: true,
            reducers: reducers.into(),
            faults: &[],
            check_sequential: false,
        }
    }
}

/// Every scenario, with page counts multiplied by `scale` (`--pages-scale`); `sum_plugin`
/// is the `[[reduce]]` table of the `sum_field` plugin built for this run.
pub(crate) fn all(scale: f64, sum_plugin: String) -> [Scenario; 9] {
    let scaled = |pages: u64| ((pages as f64 * scale).round() as u64).max(1);
    let ms = Duration::from_millis;
    [
        Scenario {
            id: "1",
            name: "latency-bound, total known",
            pages: scaled(2000),
            page_size: 50,
            latency: ms(50),
            concurrency: 64,
            totals: true,
            reducers: AGGREGATES.into(),
            faults: &[],
            check_sequential: true,
        },
        Scenario {
            id: "2",
            name: "latency-bound, total unknown",
            pages: scaled(2000),
            page_size: 50,
            latency: ms(50),
            concurrency: 64,
            totals: false,
            reducers: AGGREGATES.into(),
            faults: &[],
            check_sequential: true,
        },
        Scenario {
            id: "3a",
            name: "throughput, fetch only",
            pages: scaled(20_000),
            page_size: 100,
            latency: ms(0),
            concurrency: 64,
            totals: true,
            reducers: String::new(),
            faults: &[],
            check_sequential: true,
        },
        Scenario {
            id: "3b",
            name: "throughput, count+sum+count_by+top_k",
            pages: scaled(20_000),
            page_size: 100,
            latency: ms(0),
            concurrency: 64,
            totals: true,
            reducers: AGGREGATES.into(),
            faults: &[],
            check_sequential: false,
        },
        Scenario {
            id: "4",
            name: "memory: 2 000 pages (vs 3b: 20 000)",
            pages: scaled(2000),
            page_size: 100,
            latency: ms(0),
            concurrency: 64,
            totals: true,
            reducers: AGGREGATES.into(),
            faults: &[],
            check_sequential: false,
        },
        Scenario {
            id: "5a",
            name: "sum, built-in",
            pages: scaled(20_000),
            page_size: 100,
            latency: ms(0),
            concurrency: 64,
            totals: true,
            reducers: SUM_BUILTIN.into(),
            faults: &[],
            check_sequential: false,
        },
        Scenario {
            id: "5b",
            name: "sum, plugin (sum_field)",
            pages: scaled(20_000),
            page_size: 100,
            latency: ms(0),
            concurrency: 64,
            totals: true,
            reducers: sum_plugin,
            faults: &[],
            check_sequential: false,
        },
        Scenario {
            id: "7",
            name: "faults: 5% 5xx, 2% resets, 2% truncated",
            pages: scaled(2000),
            page_size: 50,
            latency: ms(20),
            concurrency: 64,
            totals: true,
            reducers: AGGREGATES.into(),
            faults: &[
                "--error-rate",
                "0.05",
                "--reset-rate",
                "0.02",
                "--truncate-rate",
                "0.02",
            ],
            check_sequential: false,
        },
        Scenario {
            id: "10",
            name: "saturated server: 4 served at once",
            pages: scaled(400),
            page_size: 50,
            latency: ms(20),
            concurrency: 64,
            totals: true,
            reducers: AGGREGATES.into(),
            faults: &["--capacity", "4"],
            check_sequential: true,
        },
    ]
}

/// The job of `scenario` over `server`, with `concurrency` requests in flight at most.
pub(crate) fn scenario_job(scenario: &Scenario, server: &DemoApi, concurrency: usize) -> String {
    let total = if scenario.totals {
        "total_records = \"/meta/total\""
    } else {
        ""
    };
    format!(
        "[source]\nurl = \"{url}\"\nrecords = \"/data\"\n[source.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\nsize = {size}\n\
         max_pages = 1000000\n{total}\n[fetch]\nconcurrency = {concurrency}\nretries = 8\n\
         backoff = {{ base = \"5ms\", max = \"100ms\" }}\n{reducers}",
        url = server.url("/orders"),
        size = scenario.page_size,
        reducers = scenario.reducers,
    )
}
