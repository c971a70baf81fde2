//! What the demo API served, for tests and benchmarks to check.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the server has seen, for tests and benchmarks.
#[derive(Debug)]
pub struct Stats {
    /// Per bearer token: requests answered, and requests over its budget (429).
    pub(crate) by_token: Mutex<std::collections::BTreeMap<String, (u64, u64)>>,
    pub(crate) started: Instant,
    pub(crate) arrivals: Mutex<Vec<Instant>>,
    pub(crate) requests: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) credentialed: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) peak_in_flight: AtomicU64,
    pub(crate) body_bytes: AtomicU64,
    /// With `log_requests`: the path and query of every request, in arrival order.
    pub(crate) log: Mutex<Vec<String>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            by_token: Mutex::default(),
            started: Instant::now(),
            arrivals: Mutex::default(),
            requests: AtomicU64::default(),
            throttled: AtomicU64::default(),
            credentialed: AtomicU64::default(),
            in_flight: AtomicU64::default(),
            peak_in_flight: AtomicU64::default(),
            body_bytes: AtomicU64::default(),
            log: Mutex::default(),
        }
    }
}

impl Stats {
    /// Per bearer token (with [`crate::DemoAuth::Tokens`]): requests served and requests
    /// refused for being over the token's budget.
    pub fn by_token(&self) -> std::collections::BTreeMap<String, (u64, u64)> {
        self.by_token
            .lock()
            .expect("no panics while locked")
            .clone()
    }

    /// When each request arrived, since the server started, in arrival order.
    pub fn arrivals(&self) -> Vec<Duration> {
        let arrivals = self.arrivals.lock().expect("no panics while locked");
        arrivals
            .iter()
            .map(|at| at.duration_since(self.started))
            .collect()
    }

    /// The path and query of every request (with `log_requests`), in arrival order.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("no panics while locked").clone()
    }

    /// Requests received.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests that carried credentials: an `Authorization` or `X-API-Key` header.
    pub fn credentialed(&self) -> u64 {
        self.credentialed.load(Ordering::Relaxed)
    }

    /// Requests refused with 429 for going over the window limit.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// The most requests that were being handled at once.
    pub fn peak_in_flight(&self) -> u64 {
        self.peak_in_flight.load(Ordering::Relaxed)
    }

    /// Bytes of response bodies sent.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes.load(Ordering::Relaxed)
    }
}
