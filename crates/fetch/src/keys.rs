//! Several credentials for one job, each with a budget of its own: its own rate limit, its own
//! AIMD concurrency and its own pause on `429`, `Retry-After` and `X-RateLimit-Remaining: 0`,
//! so that one exhausted key pauses only the requests that use it.
//!
//! A chain whose pages name the next (a cursor, a next URL) keeps its key from its first page
//! to its last: a cursor issued to one key is never sent with another (unless that key is
//! dropped). Numbered pages need no such care: each goes to the key with the most room.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::Auth;
use crate::limits::{Limits, Rate};

/// What a key the API refuses (401, 403) does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnKeyError {
    /// The run fails, naming the key by its position (the default).
    #[default]
    Fail,
    /// The key is dropped and the run goes on with the others.
    Drop,
}

/// One credential and its budget.
#[derive(Debug)]
pub struct Key {
    /// How it is named in messages and stats: a label, or its position (`key 2`).
    pub label: String,
    pub(crate) auth: Auth,
    pub(crate) limits: Limits,
    requests: AtomicU64,
    retries: AtomicU64,
    waited_micros: AtomicU64,
    dropped: AtomicBool,
}

/// What a key did in a run.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyStats {
    /// The key's label.
    pub label: String,
    /// Requests sent with it.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Time its requests waited on its budget (rate, pauses, backoff).
    pub waited: Duration,
    /// Whether the API refused it and it was dropped.
    pub dropped: bool,
}

/// The keys of a job.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<Arc<Key>>,
    on_error: OnKeyError,
}

impl KeyRing {
    /// A ring of `credentials` (with their labels), each allowed `concurrency` requests in
    /// flight and `rate`.
    ///
    /// # Panics
    ///
    /// When `credentials` is empty.
    pub fn new(
        credentials: Vec<(String, Auth)>,
        concurrency: usize,
        rate: Option<Rate>,
        on_error: OnKeyError,
    ) -> Self {
        assert!(!credentials.is_empty(), "a key ring holds at least one key");
        let keys = credentials
            .into_iter()
            .map(|(label, auth)| {
                Arc::new(Key {
                    label,
                    auth,
                    limits: Limits::new(concurrency, rate),
                    requests: AtomicU64::new(0),
                    retries: AtomicU64::new(0),
                    waited_micros: AtomicU64::new(0),
                    dropped: AtomicBool::new(false),
                })
            })
            .collect();
        Self { keys, on_error }
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring is empty (never: [`KeyRing::new`] refuses that).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// What a refused key does.
    pub fn on_error(&self) -> OnKeyError {
        self.on_error
    }

    /// The key of chain `chain`: the same for all its pages, the next live one if it was
    /// dropped. `None` when every key was dropped.
    pub(crate) fn for_chain(&self, chain: u32) -> Option<Arc<Key>> {
        let count = self.keys.len();
        (0..count)
            .map(|step| &self.keys[(chain as usize + step) % count])
            .find(|key| !key.dropped.load(Ordering::Acquire))
            .cloned()
    }

    /// The key with the most room now for a page that may go with any key.
    pub(crate) fn with_most_room(&self, chain: u32, index: u64) -> Option<Arc<Key>> {
        let count = self.keys.len();
        let first = (chain as usize).wrapping_add(index as usize) % count;
        // The most room wins; on a tie, the first in turn from `first`, so that pages rotate
        // over idle keys instead of piling on one.
        let mut best: Option<(&Arc<Key>, usize)> = None;
        for key in (0..count).map(|step| &self.keys[(first + step) % count]) {
            if key.dropped.load(Ordering::Acquire) {
                continue;
            }
            let room = key.limits.room();
            if best.is_none_or(|(_, most)| room > most) {
                best = Some((key, room));
            }
        }
        best.map(|(key, _)| key.clone())
    }

    /// Each key's stats, in order.
    pub fn stats(&self) -> Vec<KeyStats> {
        self.keys
            .iter()
            .map(|key| KeyStats {
                label: key.label.clone(),
                requests: key.requests.load(Ordering::Relaxed),
                retries: key.retries.load(Ordering::Relaxed),
                waited: Duration::from_micros(key.waited_micros.load(Ordering::Relaxed)),
                dropped: key.dropped.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Position (from 1) of `key`, for messages.
    pub(crate) fn position(&self, key: &Key) -> usize {
        self.keys
            .iter()
            .position(|known| std::ptr::eq(known.as_ref(), key))
            .map_or(0, |at| at + 1)
    }
}

impl Key {
    pub(crate) fn count(&self, retry: bool, waited: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if retry {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
        self.waited_micros
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
    }

    pub(crate) fn drop_key(&self) {
        self.dropped.store(true, Ordering::Release);
    }
}
