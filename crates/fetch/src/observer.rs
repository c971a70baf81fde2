//! Progress callbacks, and what one HTTP request did, for traces.

use std::time::{Duration, Instant};

use url::Url;

use crate::{PageFailure, SafeUrl};

/// Told what fetching does as it happens, for progress bars, logs and traces. Every method
/// has an empty default. Called from the fetching tasks, so keep them cheap.
pub trait FetchObserver: Send + Sync {
    /// The number of pages of a chain became known.
    fn total_pages(&self, _chain: u32, _pages: u64) {}
    /// A page was accepted, with this many records and body bytes.
    fn page(&self, _records: usize, _bytes: usize) {}
    /// A request of chain `chain` failed and will be tried again after `wait`;
    /// `asked` when the API named the wait (`Retry-After`), not the backoff.
    fn retry(&self, _chain: u32, _url: &SafeUrl, _reason: &str, _wait: Duration, _asked: bool) {}
    /// Requests wait `wait` for the reason given (the API's rate limit, say).
    fn waiting(&self, _reason: &str, _wait: Duration) {}
    /// One HTTP request ended (each attempt of a page is one), with its timings.
    fn request(&self, _request: &RequestObservation<'_>) {}
    /// Chain `chain` waited `waited`, from `since`, for the consumer to make room for a page:
    /// reducing held fetching back.
    fn held_back(&self, _chain: u32, _since: Instant, _waited: Duration) {}
}

/// What one HTTP request did, as measured around it. The phases are those that can be
/// measured honestly from outside the HTTP client: hyper does not tell connection set-up
/// apart from waiting for the answer, so [`RequestObservation::headers_at`] covers both.
#[derive(Debug)]
pub struct RequestObservation<'a> {
    /// The request chain.
    pub chain: u32,
    /// The page's index within its chain.
    pub index: u64,
    /// 1 for the first attempt at the page, 2 for its first retry, …
    pub attempt: u32,
    /// The URL asked for, unredacted: show it through [`RequestObservation::safe_url`] only.
    pub url: &'a Url,
    /// The query parameters whose values are secrets.
    pub secret_params: &'a [String],
    /// When the request began to wait for its turn (a pause, the rate limit, a slot).
    pub queued_at: Instant,
    /// Of the wait, the part spent on the API's behalf: its pauses and the rate limit.
    pub throttled: Duration,
    /// When it was sent (a slot was free).
    pub sent_at: Instant,
    /// When the response's headers arrived (connection set-up included), if they did.
    pub headers_at: Option<Instant>,
    /// When the body was read, or the request failed.
    pub ended_at: Instant,
    /// The HTTP status, if a response came.
    pub status: Option<u16>,
    /// Body bytes received.
    pub bytes: u64,
    /// Why the request failed, if it did.
    pub failure: Option<&'a PageFailure>,
    /// The concurrency limit after the response (AIMD lowers it on throttling).
    pub limit: usize,
}

impl RequestObservation<'_> {
    /// The URL, redacted.
    pub fn safe_url(&self) -> SafeUrl {
        SafeUrl::new(self.url.clone(), self.secret_params)
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl FetchObserver for NoObserver {}
