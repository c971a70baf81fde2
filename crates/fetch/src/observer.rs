//! Progress callbacks.

use std::time::Duration;

use crate::SafeUrl;

/// Told what fetching does as it happens, for progress bars and logs. Every method has an
/// empty default. Called from the fetching tasks, so keep them cheap.
pub trait FetchObserver: Send + Sync {
    /// The number of pages of a chain became known.
    fn total_pages(&self, _chain: u32, _pages: u64) {}
    /// A page was accepted, with this many records and body bytes.
    fn page(&self, _records: usize, _bytes: usize) {}
    /// A request failed and will be tried again after `wait`.
    fn retry(&self, _url: &SafeUrl, _reason: &str, _wait: Duration) {}
    /// Requests wait `wait` for the reason given (the API's rate limit, say).
    fn waiting(&self, _reason: &str, _wait: Duration) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl FetchObserver for NoObserver {}
