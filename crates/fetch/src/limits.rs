//! How hard to push an API: the concurrency limit (lowered on throttling, raised again as the
//! API recovers: AIMD), the rate limit (a token bucket), and pauses the API asks for.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::StatusCode;
use http::header::HeaderMap;
use tokio::sync::Notify;

use crate::{FetchObserver, WaitSpans};

/// `max_retry_after`'s default: five minutes, longer than any per-minute window resets.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// At most `count` requests per `per`, e.g. 20 per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests…
    pub count: NonZeroU32,
    /// …per this long.
    pub per: Duration,
    /// Requests that may go at once after a quiet spell (1: evenly spaced).
    pub burst: NonZeroU32,
}

impl Rate {
    /// Each of `shards` processes' share of this rate, so that together they keep to it: the
    /// same count over a period `shards` times as long, and the burst divided (at least 1).
    #[must_use]
    pub fn shared_by(self, shards: u32) -> Self {
        let shards = shards.max(1);
        Self {
            count: self.count,
            per: self.per.saturating_mul(shards),
            burst: NonZeroU32::new(self.burst.get() / shards).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// The limits all chains of a job share.
#[derive(Debug)]
pub(crate) struct Limits {
    max: usize,
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    /// Requests sent so far: a request ran alone if none was in flight when it was sent and
    /// this did not move until it ended.
    sent: AtomicU64,
    successes: AtomicUsize,
    /// Responses since the limit was last lowered: it is lowered at most once a round of
    /// requests, as TCP does once a round trip, so one burst of 429s halves it once.
    since_decrease: AtomicUsize,
    room: Notify,
    rate: Option<DefaultDirectRateLimiter>,
    paused_until: Mutex<Option<(Instant, String)>>,
    /// The longest pause an API's headers may impose (`max_retry_after`): a longer one is
    /// cut to it.
    max_pause: Duration,
}

/// A request being sent: whether it was alone then, and its place in the order of sending.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sending {
    alone: bool,
    sent: u64,
}

/// A request slot; frees itself when dropped.
pub(crate) struct Slot<'a> {
    limits: &'a Limits,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.limits.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.limits.room.notify_one();
    }
}

impl Limits {
    pub fn new(concurrency: usize, rate: Option<Rate>) -> Self {
        let max = concurrency.max(1);
        let rate = rate.map(|rate| {
            let period = rate.per / rate.count.get();
            let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
                .expect("a positive period")
                .allow_burst(rate.burst);
            RateLimiter::direct(quota)
        });
        Self {
            max,
            limit: AtomicUsize::new(max),
            in_flight: AtomicUsize::new(0),
            sent: AtomicU64::new(0),
            successes: AtomicUsize::new(0),
            since_decrease: AtomicUsize::new(usize::MAX / 2),
            room: Notify::new(),
            rate,
            paused_until: Mutex::new(None),
            max_pause: DEFAULT_MAX_RETRY_AFTER,
        }
    }

    /// The same limits, with pauses cut to `max_pause`.
    pub fn with_max_pause(mut self, max_pause: Duration) -> Self {
        self.max_pause = max_pause;
        self
    }

    /// Waits for a pause the API asked for, for the rate limit, then for a free slot under the
    /// current concurrency limit. Returns the slot and when it waited on the API's behalf
    /// (pauses and rate), which the run reports; waiting for a slot is not that.
    pub async fn acquire(&self, observer: &dyn FetchObserver) -> (Slot<'_>, WaitSpans) {
        let mut waited = WaitSpans::default();
        loop {
            self.wait_out_pause(observer, &mut waited).await;
            if let Some(rate) = &self.rate {
                let started = Instant::now();
                rate.until_ready().await;
                waited.add(started, Instant::now());
            }
            let slot = self.slot().await;
            // A pause may have begun while this request waited for its slot: then it waits
            // again rather than hammer an API that asked for quiet.
            if self.pause().is_none() {
                return (slot, waited);
            }
            drop(slot);
        }
    }

    /// Requests this limit would let go now: none while paused.
    pub(crate) fn room(&self) -> usize {
        if self.pause().is_some() {
            return 0;
        }
        self.limit
            .load(Ordering::Acquire)
            .saturating_sub(self.in_flight.load(Ordering::Acquire))
    }

    fn pause(&self) -> Option<(Instant, String)> {
        let pause = self
            .paused_until
            .lock()
            .expect("no panics while locked")
            .clone();
        pause.filter(|(until, _)| *until > Instant::now())
    }

    async fn wait_out_pause(&self, observer: &dyn FetchObserver, waited: &mut WaitSpans) {
        while let Some((until, reason)) = self.pause() {
            let started = Instant::now();
            observer.waiting(&reason, until.saturating_duration_since(started));
            tokio::time::sleep_until(until.into()).await;
            waited.add(started, Instant::now());
        }
    }

    /// Marks a request as sent (its slot already held): what [`Limits::ran_alone`] needs.
    pub(crate) fn sending(&self) -> Sending {
        let alone = self.in_flight.load(Ordering::Acquire) == 1;
        let sent = self.sent.fetch_add(1, Ordering::AcqRel) + 1;
        Sending { alone, sent }
    }

    /// Whether the request marked `sending` had the API to itself: nothing else in flight
    /// when it was sent, nothing sent until it ended. Its latency is then what one request
    /// after another would see, not a latency inflated by a server busy with the others.
    pub(crate) fn ran_alone(&self, sending: Sending) -> bool {
        sending.alone && self.sent.load(Ordering::Acquire) == sending.sent
    }

    async fn slot(&self) -> Slot<'_> {
        loop {
            let notified = self.room.notified();
            let in_flight = self.in_flight.load(Ordering::Acquire);
            if in_flight < self.limit.load(Ordering::Acquire)
                && self
                    .in_flight
                    .compare_exchange(
                        in_flight,
                        in_flight + 1,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
            {
                return Slot { limits: self };
            }
            notified.await;
        }
    }

    /// Learns from a response: throttling halves the concurrency limit and pauses everyone
    /// until the API's reset; success raises the limit by one per limit's worth of successes.
    pub fn observe(&self, status: StatusCode, headers: &HeaderMap, retry_after: Option<Duration>) {
        let throttled = status == StatusCode::TOO_MANY_REQUESTS;
        let exhausted = remaining(headers) == Some(0);
        let since_decrease = self.since_decrease.fetch_add(1, Ordering::AcqRel);
        if throttled {
            let limit = self.limit.load(Ordering::Acquire);
            if since_decrease >= limit {
                self.limit.store((limit / 2).max(1), Ordering::Release);
                self.since_decrease.store(0, Ordering::Release);
                tracing::info!(
                    limit = (limit / 2).max(1),
                    "throttled: lowering concurrency"
                );
            }
            self.successes.store(0, Ordering::Release);
        } else if status.is_success() {
            let successes = self.successes.fetch_add(1, Ordering::AcqRel) + 1;
            let limit = self.limit.load(Ordering::Acquire);
            if limit < self.max && successes >= limit {
                self.successes.store(0, Ordering::Release);
                self.limit.store(limit + 1, Ordering::Release);
                self.room.notify_one();
            }
        }
        let pause = if throttled {
            retry_after
                .map(|wait| (wait, "rate limited: Retry-After".to_owned()))
                .or_else(|| reset(headers))
        } else if exhausted {
            reset(headers)
        } else {
            None
        };
        if let Some((wait, reason)) = pause.filter(|(wait, _)| !wait.is_zero()) {
            let until = Instant::now() + wait.min(self.max_pause);
            let mut paused = self.paused_until.lock().expect("no panics while locked");
            if paused.as_ref().is_none_or(|(current, _)| *current < until) {
                *paused = Some((until, reason));
            }
        }
    }

    /// The concurrency limit now.
    pub(crate) fn current(&self) -> usize {
        self.limit.load(Ordering::Acquire)
    }

    /// Requests holding a slot now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

fn header_number(headers: &HeaderMap, names: &[&str]) -> Option<u64> {
    names
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok()?.trim().parse().ok())
}

/// `remaining=…` of the IETF draft's structured `RateLimit` header.
fn structured(headers: &HeaderMap, key: &str) -> Option<u64> {
    let value = headers.get("ratelimit")?.to_str().ok()?;
    value.split([',', ';']).find_map(|part| {
        let (name, number) = part.trim().split_once('=')?;
        (name.trim() == key)
            .then(|| number.trim().parse().ok())
            .flatten()
    })
}

fn remaining(headers: &HeaderMap) -> Option<u64> {
    header_number(headers, &["x-ratelimit-remaining", "ratelimit-remaining"])
        .or_else(|| structured(headers, "remaining"))
}

/// How long until the API's window resets, and which header said so.
fn reset(headers: &HeaderMap) -> Option<(Duration, String)> {
    if let Some(value) = header_number(headers, &["x-ratelimit-reset"]) {
        // GitHub sends the reset as epoch seconds, others as seconds from now.
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let seconds = if value > 1_000_000_000 {
            value.saturating_sub(now)
        } else {
            value
        };
        return Some((
            Duration::from_secs(seconds),
            "rate limited: until X-RateLimit-Reset".into(),
        ));
    }
    let seconds =
        header_number(headers, &["ratelimit-reset"]).or_else(|| structured(headers, "reset"))?;
    Some((
        Duration::from_secs(seconds),
        "rate limited: until RateLimit-Reset".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    #[test]
    fn throttling_halves_and_success_raises_the_limit() {
        let limits = Limits::new(16, None);
        limits.observe(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), None);
        assert_eq!(limits.current(), 8);
        // The rest of the same round of requests does not lower it again…
        for _ in 0..8 {
            limits.observe(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), None);
        }
        assert_eq!(limits.current(), 8);
        // …the next round does.
        limits.observe(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), None);
        assert_eq!(limits.current(), 4);
        for _ in 0..4 {
            limits.observe(StatusCode::OK, &HeaderMap::new(), None);
        }
        assert_eq!(limits.current(), 5);
    }

    #[test]
    fn reads_the_reset_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("42"));
        assert_eq!(remaining(&headers), Some(0));
        assert_eq!(reset(&headers).unwrap().0, Duration::from_secs(42));
        let mut draft = HeaderMap::new();
        draft.insert(
            "ratelimit",
            HeaderValue::from_static("limit=100, remaining=0, reset=7"),
        );
        assert_eq!(remaining(&draft), Some(0));
        assert_eq!(reset(&draft).unwrap().0, Duration::from_secs(7));
    }
}
