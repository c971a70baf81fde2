//! How the demo API behaves: its data, pages, latency, totals and faults.

use std::time::Duration;

use crate::Faults;
use crate::auth::DemoAuth;

/// How the demo API behaves.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// How many orders there are.
    pub records: u64,
    /// Varies the orders.
    pub seed: u64,
    /// The largest page served, whatever the client asks for.
    pub max_page_size: u64,
    /// The page size when the client names none.
    pub default_page_size: u64,
    /// Added before every response.
    pub latency: Duration,
    /// Requests served at once, at most (`None`: any number): the others queue for their
    /// turn, so with `latency` each waits for those ahead of it. A saturated server, whose
    /// latency grows with the requests it is sent at once.
    pub capacity: Option<usize>,
    /// Whether pages report `total` and `total_pages` in `meta`.
    pub totals: bool,
    /// Whether a page past the end repeats the last page (as json-server does) instead of
    /// being empty.
    pub repeat_last_page: bool,
    /// Failures to inject.
    pub faults: Faults,
    /// A per-window request limit, announced in `X-RateLimit-*` headers and enforced with 429.
    pub window_limit: Option<WindowLimit>,
    /// Render every page of `default_page_size` once at start and serve it from memory, so
    /// that a benchmark measures the client, not the fake API's JSON encoding.
    pub prerender: bool,
    /// Whether `/cursor/orders` hands out, from the third page on, the cursor of the first
    /// again (a broken API that would make a naive client loop forever).
    pub cursor_loop: bool,
    /// Credentials every request must carry (401 without them).
    pub auth: Option<DemoAuth>,
    /// With [`DemoAuth::Tokens`]: each token's own budget; a request over it gets 429 with
    /// `Retry-After` (the window's rest), as APIs that meter each credential do.
    pub token_budget: Option<WindowLimit>,
    /// A token the API stops taking after this many of its requests (answers 401): a key
    /// revoked mid-run.
    pub revoked_after: Option<(String, u64)>,
    /// Keep the path and query of every request, in arrival order ([`crate::Stats::log`]):
    /// what tests check a deal of pages against.
    pub log_requests: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            records: 10_000,
            seed: 1,
            max_page_size: 100,
            default_page_size: 20,
            latency: Duration::ZERO,
            capacity: None,
            totals: true,
            repeat_last_page: false,
            faults: Faults::default(),
            prerender: false,
            window_limit: None,
            cursor_loop: false,
            auth: None,
            token_budget: None,
            revoked_after: None,
            log_requests: false,
        }
    }
}

/// At most `requests` requests per `window`, GitHub style: every response says how many are
/// left (`X-RateLimit-Remaining`) and in how many seconds the window resets
/// (`X-RateLimit-Reset`); a request over the limit gets 429 with `Retry-After`.
#[derive(Debug, Clone, Copy)]
pub struct WindowLimit {
    /// Requests a window.
    pub requests: u64,
    /// The window.
    pub window: Duration,
}
