//! Where a trace's events are kept while the run goes on: a few shards, each a vector of
//! events and one text arena for their URLs, a thread keeping to one shard.
//!
//! Recording must cost next to nothing per request. What it cost before was not the
//! recording code but the heap: a boxed event and a boxed URL per request, small blocks that
//! live to the end of the run, scattered between the page buffers that come and go, made
//! every page's allocations slower (glibc's `malloc` spent twice as long finding and
//! merging free blocks, more than all the rest of tracing). Here a request is a plain value
//! pushed onto a vector and its URL is appended to a string: both grow by doubling, so a run
//! of N requests makes O(log N) allocations, large ones, out of the page buffers' way.
//! A thread keeps to its shard, so two threads rarely contend for a lock (a lock held by a
//! thread the kernel preempted would make the others wait).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::event::{Event, Url};

/// Shards: more than the threads that record at once (the runtime's workers, the sampler).
const SHARDS: usize = 8;

/// The events recorded from one group of threads.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    events: Vec<Event>,
    /// The URLs of the shard's requests, one after the other ([`Url`] ranges into it).
    urls: String,
}

/// The shards of one trace.
#[derive(Debug)]
pub(crate) struct Shelf {
    shards: Box<[Mutex<Shard>]>,
}

impl Default for Shelf {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

/// The shard of the calling thread: threads are dealt to shards in turn, once.
fn my_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    MINE.with(|mine| *mine)
}

impl Shelf {
    /// Records `event`.
    pub(crate) fn push(&self, event: Event) {
        self.lock(my_shard()).events.push(event);
    }

    /// Records the event that `make` builds with `url` kept in the shard's arena.
    pub(crate) fn push_with_url(&self, url: &str, make: impl FnOnce(Url) -> Event) {
        let mut shard = self.lock(my_shard());
        let start = shard.urls.len();
        shard.urls.push_str(url);
        // A trace's arena past 4 GiB of URLs would take a run of tens of millions of
        // requests; such a URL is shown empty rather than wrong.
        let range = match (u32::try_from(start), u32::try_from(shard.urls.len())) {
            (Ok(start), Ok(end)) => Url { start, end },
            _ => Url { start: 0, end: 0 },
        };
        shard.events.push(make(range));
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything recorded so far, held until the returned value is dropped.
    pub(crate) fn read(&self) -> Recorded<'_> {
        Recorded {
            shards: (0..self.shards.len())
                .map(|shard| self.lock(shard))
                .collect(),
        }
    }
}

/// Every shard, locked: what [`Shelf::read`] returns.
pub(crate) struct Recorded<'a> {
    shards: Vec<MutexGuard<'a, Shard>>,
}

/// An event and the arena its URL is in.
#[derive(Clone, Copy)]
pub(crate) struct Recalled<'a> {
    pub(crate) event: &'a Event,
    urls: &'a str,
}

impl<'a> Recalled<'a> {
    /// The text of `url`, one of this event's.
    pub(crate) fn url(&self, url: Url) -> &'a str {
        self.urls
            .get(url.start as usize..url.end as usize)
            .unwrap_or_default()
    }
}

impl Recorded<'_> {
    /// The events, in the order they happened (ties in the order recorded).
    pub(crate) fn in_order(&self) -> Vec<Recalled<'_>> {
        let mut events: Vec<Recalled<'_>> = self
            .shards
            .iter()
            .flat_map(|shard| {
                shard.events.iter().map(|event| Recalled {
                    event,
                    urls: &shard.urls,
                })
            })
            .collect();
        events.sort_by_key(|recalled| recalled.event.at());
        events
    }

    /// How many events satisfy `test`.
    pub(crate) fn count(&self, test: impl Fn(&Event) -> bool) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.events.iter().filter(|event| test(event)).count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::event::{Request, Role, Track};

    fn request(sent: u64, url: Url) -> Event {
        Event::Request(Request {
            track: Track {
                role: Role::Partition,
                chain: 0,
            },
            index: sent,
            attempt: 1,
            url,
            queued: sent,
            throttled: 0,
            sent,
            headers: None,
            ended: sent + 1,
            status: Some(200),
            bytes: 1,
            failure: None,
        })
    }

    #[test]
    fn events_come_back_in_time_order_with_their_urls() {
        let shelf = Shelf::default();
        std::thread::scope(|scope| {
            for sent in [30u64, 10, 20] {
                let shelf = &shelf;
                scope.spawn(move || {
                    shelf.push_with_url(&format!("/page/{sent}"), |url| request(sent, url));
                });
            }
        });
        shelf.push(Event::Checkpoint { at: 15 });
        let recorded = shelf.read();
        let seen: Vec<(u64, &str)> = recorded
            .in_order()
            .iter()
            .map(|recalled| match recalled.event {
                Event::Request(request) => (request.sent, recalled.url(request.url)),
                other => (other.at(), ""),
            })
            .collect();
        assert_eq!(
            seen,
            [
                (10, "/page/10"),
                (15, ""),
                (20, "/page/20"),
                (30, "/page/30")
            ]
        );
        assert_eq!(
            recorded.count(|event| matches!(event, Event::Request(_))),
            3
        );
    }
}
