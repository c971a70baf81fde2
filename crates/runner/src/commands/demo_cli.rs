//! The command line of the demo: `pagefold demo` and `pagefold demo-api`.

use std::time::Duration;

use clap::Args;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Pages of the demo collection (of 50 orders each).
    #[arg(long, default_value_t = 500)]
    pub pages: u64,
    /// Server latency added to every response.
    #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// Reduce worker threads.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
}

#[derive(Debug, Args)]
pub struct DemoApiArgs {
    /// The port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 7878)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Orders in the collection (overrides --pages).
    #[arg(long)]
    pub records: Option<u64>,
    /// Pages in the collection, of --page-size orders each.
    #[arg(long, default_value_t = 500)]
    pub pages: u64,
    /// Orders a page when counting --pages, and the default page size.
    #[arg(long, default_value_t = 50)]
    pub page_size: u64,
    /// The largest page served, whatever the client asks.
    #[arg(long, default_value_t = 100)]
    pub page_size_cap: u64,
    /// Latency added to every response.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// Serve at most N requests at once; the others queue, each waiting out the latency of
    /// those ahead (a saturated server).
    #[arg(long, value_name = "N")]
    pub capacity: Option<usize>,
    /// Leave `total` and `total_pages` out of pages.
    #[arg(long)]
    pub no_totals: bool,
    /// Answer pages past the end with the last page again, as json-server does.
    #[arg(long)]
    pub repeat_last_page: bool,
    /// Fail the first N requests of every page with HTTP 500.
    #[arg(long, default_value_t = 0)]
    pub fail_first: u32,
    /// Varies the generated orders.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A page number that always answers 500 (repeat the flag for more).
    #[arg(long)]
    pub broken_page: Vec<u64>,
    /// Chooses which requests the fault rates below hit (the same seed, the same faults).
    #[arg(long, default_value_t = 1)]
    pub fault_seed: u64,
    /// Fraction of requests answered 500, 502, 503 or 504.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Fraction of requests answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Seconds in the Retry-After of a 429.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Fraction of requests whose connection is dropped mid-body.
    #[arg(long, default_value_t = 0.0)]
    pub reset_rate: f64,
    /// Fraction of requests that stall for --stall before answering.
    #[arg(long, default_value_t = 0.0)]
    pub stall_rate: f64,
    /// How long a stalled request waits.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub stall: Duration,
    /// Fraction of requests whose body ends halfway (truncated JSON).
    #[arg(long, default_value_t = 0.0)]
    pub truncate_rate: f64,
    /// Allow this many requests per --window, announced in X-RateLimit-* headers (429 past it).
    #[arg(long)]
    pub window_limit: Option<u64>,
    /// The window of --window-limit and --token-budget.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// Require `Authorization: Bearer T` with one of these tokens (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tokens: Vec<String>,
    /// With --tokens: each token may make this many requests per --window (429 past it).
    #[arg(long)]
    pub token_budget: Option<u64>,
    /// Render every page of --page-size at start and serve it from memory (for benchmarks).
    #[arg(long)]
    pub prerender: bool,
}

impl DemoApiArgs {
    /// The demo API configuration these flags describe.
    pub fn config(&self) -> pagefold_demo_api::DemoConfig {
        pagefold_demo_api::DemoConfig {
            records: self.records.unwrap_or(self.pages * self.page_size),
            seed: self.seed,
            max_page_size: self.page_size_cap,
            default_page_size: self.page_size,
            latency: self.latency,
            capacity: self.capacity,
            totals: !self.no_totals,
            repeat_last_page: self.repeat_last_page,
            prerender: self.prerender,
            cursor_loop: false,
            auth: (!self.tokens.is_empty())
                .then(|| pagefold_demo_api::DemoAuth::Tokens(self.tokens.clone())),
            token_budget: self
                .token_budget
                .map(|requests| pagefold_demo_api::WindowLimit {
                    requests,
                    window: self.window,
                }),
            revoked_after: None,
            log_requests: false,
            window_limit: self
                .window_limit
                .map(|requests| pagefold_demo_api::WindowLimit {
                    requests,
                    window: self.window,
                }),
            faults: pagefold_demo_api::Faults {
                fail_first: self.fail_first,
                status: 500,
                broken_pages: self.broken_page.clone(),
                seed: self.fault_seed,
                errors: self.error_rate,
                throttles: self.throttle_rate,
                retry_after: self.retry_after,
                resets: self.reset_rate,
                stalls: self.stall_rate,
                stall: self.stall,
                truncations: self.truncate_rate,
            },
        }
    }
}
