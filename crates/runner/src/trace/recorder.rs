//! The recording side of a trace: compact events, kept on a [`Shelf`] as they happen.

use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pagefold_fetch::{FetchObserver, RequestObservation, SafeUrl};

use super::event::{Event, Request, Role, Track};
use super::shelf::{Recorded, Shelf};

/// A run's trace as it is recorded; see the module above. Shared by the fetching tasks
/// (through [`Traced`]), the sampler and the run.
#[derive(Debug)]
pub struct Trace {
    pub(crate) job: String,
    pub(crate) started: Instant,
    /// Pushed to from every fetching task; see [`Shelf`].
    events: Shelf,
    /// The names of the partitions' tracks (their values), set before the run.
    pub(crate) partitions: Mutex<Vec<String>>,
    /// The origin of the job's URL: request URLs are shown without it.
    pub(crate) origin: std::sync::OnceLock<String>,
    /// The run's totals, set at its end.
    pub(crate) totals: Mutex<Option<serde_json::Value>>,
    /// The concurrency limit last seen: a change is an event.
    limit: AtomicUsize,
    /// When the last pause recorded ends (µs): requests that wait out the same pause tell
    /// of it each, and it is recorded once.
    pause_until: Mutex<u64>,
}

impl Trace {
    /// An empty trace of a run of `job`, starting now.
    pub fn new(job: &str) -> Self {
        Self {
            job: job.to_owned(),
            started: Instant::now(),
            events: Shelf::default(),
            partitions: Mutex::default(),
            origin: std::sync::OnceLock::new(),
            totals: Mutex::default(),
            limit: AtomicUsize::new(0),
            pause_until: Mutex::new(0),
        }
    }

    /// µs from the run's start to `at` (0 for earlier times).
    pub(crate) fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_micros() as u64
    }

    fn now(&self) -> u64 {
        self.micros(Instant::now())
    }

    pub(crate) fn push(&self, event: Event) {
        self.events.push(event);
    }

    /// Every event recorded so far, held (recording waits) until dropped.
    pub(crate) fn events(&self) -> Recorded<'_> {
        self.events.read()
    }

    /// Names the partitions' tracks and the origin that request URLs are shown without.
    pub fn set_chains(&self, origin: &str, partitions: Vec<String>) {
        // Read on every request: set once, before the run, so reading it takes no lock.
        let _ = self.origin.set(crate::secrets::redact(origin));
        *self
            .partitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = partitions;
    }

    /// Sets the concurrency limit the run starts with (a change from it is an event).
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// A checkpoint was saved.
    pub fn checkpoint(&self) {
        self.push(Event::Checkpoint { at: self.now() });
    }

    /// The counters now (the sampler calls this).
    pub fn counters(&self, in_flight: usize, limit: usize, queued: usize) {
        self.push(Event::Counters {
            at: self.now(),
            in_flight,
            limit,
            queued,
        });
    }

    /// The run's totals, kept under `otherData` for `pagefold report`.
    pub fn set_totals(&self, totals: serde_json::Value) {
        *self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(totals);
    }

    /// Requests recorded so far (attempts, retries included).
    pub fn requests(&self) -> usize {
        self.events()
            .count(|event| matches!(event, Event::Request(_)))
    }

    /// The request's URL, redacted, without the job's origin when it is on it. Most URLs
    /// carry nothing to hide: those are copied as they are, without [`SafeUrl`]'s parsing and
    /// rewriting, which would be most of what tracing a request costs.
    fn url_of<'a>(&self, request: &RequestObservation<'a>) -> Cow<'a, str> {
        let url = request.url;
        let secret = |key: &str| {
            request
                .secret_params
                .iter()
                .any(|name| name.eq_ignore_ascii_case(key))
        };
        let plain = url.username().is_empty()
            && url.password().is_none()
            && (request.secret_params.is_empty()
                || !url.query_pairs().any(|(key, _)| secret(&key)));
        if !plain {
            return Cow::Owned(self.path_of(&request.safe_url()).into());
        }
        let origin = self.origin.get().map_or("", String::as_str);
        match url.as_str().strip_prefix(origin) {
            Some(rest) if !origin.is_empty() && rest.starts_with('/') => Cow::Borrowed(rest),
            _ => Cow::Borrowed(url.as_str()),
        }
    }

    /// `url` without the job's origin, when it is on it.
    fn path_of(&self, url: &SafeUrl) -> Box<str> {
        let text = url.as_str();
        let origin = self.origin.get().map_or("", String::as_str);
        match text.strip_prefix(origin) {
            Some(rest) if !origin.is_empty() && rest.starts_with('/') => rest.into(),
            _ => text.into(),
        }
    }
}

/// A [`FetchObserver`] that records into a [`Trace`] and forwards to another observer (the
/// progress bar).
pub struct Traced<'a> {
    /// The trace.
    pub trace: &'a Trace,
    /// Which kind of chains this observer's fetches are.
    pub role: Role,
    /// The observer told too.
    pub inner: &'a dyn FetchObserver,
}

impl Traced<'_> {
    fn track(&self, chain: u32) -> Track {
        Track {
            role: self.role,
            chain,
        }
    }
}

impl FetchObserver for Traced<'_> {
    fn total_pages(&self, chain: u32, pages: u64) {
        self.inner.total_pages(chain, pages);
    }

    fn page(&self, records: usize, bytes: usize) {
        self.inner.page(records, bytes);
    }

    fn retry(&self, chain: u32, url: &SafeUrl, reason: &str, wait: Duration, asked: bool) {
        self.inner.retry(chain, url, reason, wait, asked);
        self.trace.push(Event::Retry {
            track: self.track(chain),
            at: self.trace.now(),
            url: self.trace.path_of(url),
            reason: reason.into(),
            wait: wait.as_micros() as u64,
            asked,
        });
    }

    fn waiting(&self, reason: &str, wait: Duration) {
        self.inner.waiting(reason, wait);
        let at = self.trace.now();
        let until = at + wait.as_micros() as u64;
        {
            let mut recorded = self
                .trace
                .pause_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Every request held by one pause tells of it: the first is enough.
            if until <= *recorded + 1_000 {
                return;
            }
            *recorded = until;
        }
        self.trace.push(Event::Pause {
            at,
            reason: reason.into(),
            wait: wait.as_micros() as u64,
        });
    }

    fn request(&self, request: &RequestObservation<'_>) {
        self.inner.request(request);
        let trace = self.trace;
        let previous = trace.limit.swap(request.limit, Ordering::Relaxed);
        let ended = trace.micros(request.ended_at);
        if previous != request.limit && previous != 0 {
            trace.push(Event::Limit {
                at: ended,
                from: previous,
                to: request.limit,
            });
        }
        let track = self.track(request.chain);
        let failure = request.failure.map(|failure| failure.to_string().into());
        trace.events.push_with_url(&trace.url_of(request), |url| {
            Event::Request(Request {
                track,
                index: request.index,
                attempt: request.attempt,
                url,
                queued: trace.micros(request.queued_at),
                throttled: request.throttled.as_micros() as u64,
                sent: trace.micros(request.sent_at),
                headers: request.headers_at.map(|at| trace.micros(at)),
                ended,
                status: request.status,
                bytes: request.bytes,
                failure,
            })
        });
    }

    fn held_back(&self, chain: u32, since: Instant, waited: Duration) {
        self.inner.held_back(chain, since, waited);
        self.trace.push(Event::HeldBack {
            track: self.track(chain),
            at: self.trace.micros(since),
            duration: waited.as_micros() as u64,
        });
    }
}
