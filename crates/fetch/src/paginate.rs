//! Driving a source from its first page to its end: what a run of one source did
//! ([`FetchSummary`]), how accepted pages reach the consumer, and the URLs of pages. The
//! pagination styles live in `numbered` (page numbers and offsets) and `chain` (cursors, next
//! URLs, `Link` headers).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::fetcher::{Attempts, PageRequest};
use crate::page_parser::{MetaPointers, PageMeta, PageParser};
use crate::request::Target;
use crate::{
    ChainEnd, FetchError, FetchObserver, Fetcher, OnError, Page, Pagination, Source, WaitSpans,
};

/// What a run of one source did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchSummary {
    /// Pages whose records were counted.
    pub pages: u64,
    /// Records counted.
    pub records: u64,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Body bytes of the counted pages.
    pub bytes: u64,
    /// The sum of all request durations. Under a server that slows down as more requests
    /// come at once, this is *not* what one page after another would take: see
    /// [`FetchSummary::sequential_estimate`].
    pub request_time: Duration,
    /// Requests that had the API to themselves: none other in flight from when they were
    /// sent to when they ended (the first page of a numbered chain always is, when the chain
    /// runs alone).
    pub alone_requests: u64,
    /// Their summed durations.
    pub alone_request_time: Duration,
    /// When requests were held back on the API's behalf: backoff, `Retry-After`, rate
    /// limits, pauses. [`FetchSummary::waited`] is the length of their union.
    pub waits: WaitSpans,
    /// Time fetching waited for the consumer to make room for a page (reducing was slower
    /// than fetching for that long).
    pub consumer_wait: Duration,
    /// The number of records the API reported, if it did.
    pub reported_records: Option<u64>,
    /// The number of pages the API reported, if it did.
    pub reported_pages: Option<u64>,
    /// Things the user should know about the result.
    pub warnings: Vec<String>,
    /// Pages given up on (only with [`OnError::Skip`]).
    pub skipped: Vec<SkippedPage>,
    /// How the chain ended (of a summary of several chains: the first's).
    pub ended: Option<ChainEnd>,
}

/// Pages this process does not hand on: those an earlier, interrupted run of the same chain
/// already reduced, and those of other shards. They are not fetched (the first page is, for
/// what it says, but not handed on).
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Indices of the pages already reduced.
    pub done: BTreeSet<u64>,
    /// How many records they held.
    pub records: u64,
    /// When the chain is split across shards: the share of its pages that is this shard's.
    pub share: Option<Share>,
}

impl Resume {
    /// Whether page `index` is not this process's to hand on.
    pub fn skips(&self, index: u64) -> bool {
        self.done.contains(&index) || self.share.is_some_and(|share| !share.takes(index))
    }
}

/// One shard's share of a numbered chain split across `of` shards: page `k` (0-based) is
/// shard `k mod of`'s. Dealt page by page rather than in ranges, so that a chain whose total
/// is unknown splits as evenly as one whose total is known, and each shard finds the end of
/// the data on its own pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// This shard, `0..of`.
    pub index: u32,
    /// The number of shards.
    pub of: u32,
}

impl Share {
    /// Whether page `index` of the chain is this shard's.
    pub fn takes(&self, index: u64) -> bool {
        index % u64::from(self.of.max(1)) == u64::from(self.index)
    }

    /// How many of the pages `0..limit` are this shard's.
    pub fn pages_below(&self, limit: u64) -> u64 {
        let (of, index) = (u64::from(self.of.max(1)), u64::from(self.index));
        if limit <= index {
            0
        } else {
            (limit - index).div_ceil(of)
        }
    }
}

/// A page given up on, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedPage {
    /// The page's URL, redacted.
    pub url: String,
    /// What happened on its last attempt.
    pub reason: String,
}

impl FetchSummary {
    pub(crate) fn count_attempts(&mut self, attempts: Attempts) {
        self.requests += u64::from(attempts.requests);
        self.retries += u64::from(attempts.requests.saturating_sub(1));
        self.request_time += attempts.request_time;
        self.alone_requests += u64::from(attempts.alone);
        self.alone_request_time += attempts.alone_time;
        self.waits.union(&attempts.waits);
    }

    /// Wall-clock time during which at least one request was held back by the API: two
    /// requests backing off over the same second count one second.
    pub fn waited(&self) -> Duration {
        self.waits.total()
    }

    /// What fetching the same requests one after another would take: their number times the
    /// mean latency of the requests that ran alone. `None` when none did: then no latency
    /// measured is one a sequential client would see (a server that slows down under load
    /// inflates them all), and there is no honest estimate.
    pub fn sequential_estimate(&self) -> Option<Duration> {
        (self.alone_requests > 0).then(|| {
            self.alone_request_time
                .div_f64(self.alone_requests as f64)
                .mul_f64(self.requests as f64)
        })
    }

    /// Adds what `other`'s requests cost (requests, retries, their time, their waits), not
    /// its pages: the parents of child chains, whose records are not the result's.
    pub fn absorb_costs(&mut self, other: &FetchSummary) {
        self.requests += other.requests;
        self.retries += other.retries;
        self.request_time += other.request_time;
        self.alone_requests += other.alone_requests;
        self.alone_request_time += other.alone_request_time;
        self.waits.union(&other.waits);
    }

    /// Adds another chain's summary to this one.
    pub fn absorb(&mut self, other: FetchSummary) {
        self.pages += other.pages;
        self.records += other.records;
        self.requests += other.requests;
        self.retries += other.retries;
        self.bytes += other.bytes;
        self.request_time += other.request_time;
        self.alone_requests += other.alone_requests;
        self.alone_request_time += other.alone_request_time;
        self.consumer_wait += other.consumer_wait;
        self.waits.union(&other.waits);
        self.reported_records = sum_reported(self.reported_records, other.reported_records);
        self.reported_pages = sum_reported(self.reported_pages, other.reported_pages);
        self.warnings.extend(other.warnings);
        self.skipped.extend(other.skipped);
        self.ended = self.ended.or(other.ended);
    }
}

fn sum_reported(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

/// Hands accepted pages to the consumer and keeps the books.
pub(crate) struct Accepted<'a, T> {
    sink: async_channel::Sender<T>,
    pub(crate) observer: &'a dyn FetchObserver,
    pub(crate) summary: FetchSummary,
    on_error: OnError,
    pub(crate) resume: &'a Resume,
}

impl<T: From<Page>> Accepted<'_, T> {
    /// A page failed for good: the run fails, or (with [`OnError::Skip`]) the page is listed
    /// as skipped and the run goes on.
    pub(crate) fn failed(&mut self, error: FetchError) -> Result<(), FetchError> {
        match error {
            FetchError::Page { url, failure, .. } if self.on_error == OnError::Skip => {
                tracing::warn!(%url, %failure, "skipping a page");
                self.summary.skipped.push(SkippedPage {
                    url: url.to_string(),
                    reason: failure.to_string(),
                });
                Ok(())
            }
            other => Err(other),
        }
    }

    pub(crate) async fn take(&mut self, page: Page) -> Result<(), FetchError> {
        if self.resume.skips(page.index()) {
            // Reduced by the run this one resumes, or another shard's: not counted or
            // reduced twice.
            return Ok(());
        }
        self.summary.pages += 1;
        self.summary.records += page.record_count() as u64;
        self.summary.bytes += page.body().len() as u64;
        self.observer.page(page.record_count(), page.body().len());
        let page_chain = page.chain();
        if page.record_count() > 0 {
            // Time spent waiting for room in the channel is time the consumer held fetching
            // back: the measure of whether reducing is the bottleneck.
            match self.sink.try_send(T::from(page)) {
                Ok(()) => {}
                Err(async_channel::TrySendError::Closed(_)) => {
                    return Err(FetchError::ConsumerGone);
                }
                Err(async_channel::TrySendError::Full(work)) => {
                    let chain = page_chain;
                    let waiting = std::time::Instant::now();
                    self.sink
                        .send(work)
                        .await
                        .map_err(|_| FetchError::ConsumerGone)?;
                    let waited = waiting.elapsed();
                    self.summary.consumer_wait += waited;
                    self.observer.held_back(chain, waiting, waited);
                }
            }
        }
        Ok(())
    }
}

impl Fetcher {
    /// Fetches every page of `source` as request chain `chain`, sending each page with records
    /// into `sink` (whose capacity bounds how far fetching runs ahead of the consumer).
    ///
    /// # Errors
    ///
    /// The first page that fails for good ends the run: in-flight requests are cancelled.
    pub async fn run<T: From<Page>>(
        &self,
        source: &Source,
        chain: u32,
        sink: async_channel::Sender<T>,
        observer: &dyn FetchObserver,
        resume: &Resume,
    ) -> Result<FetchSummary, FetchError> {
        let mut accepted = Accepted {
            sink,
            observer,
            summary: FetchSummary::default(),
            on_error: self.options.on_error,
            resume,
        };
        // A chain whose first URL was made from an API's data (a child's) may name another
        // origin than the job's: the same rule as for a next page.
        if let Some(warning) = source.allow_next(&source.url, &source.url)? {
            accepted.summary.warnings.push(warning);
        }
        match &source.pagination {
            Pagination::None => {
                let parser = PageParser::new(
                    &source.records,
                    MetaPointers {
                        errors: source.errors_pointer(),
                        ..MetaPointers::default()
                    },
                );
                observer.total_pages(chain, 1);
                match self
                    .fetch_one(source, &parser, chain, 0, source.target(&[]), observer)
                    .await
                {
                    Ok((page, _, attempts)) => {
                        accepted.summary.count_attempts(attempts);
                        accepted.take(page).await?;
                    }
                    Err(error) => accepted.failed(error)?,
                }
                accepted.summary.ended = Some(ChainEnd::Single);
            }
            Pagination::Numbered(numbered) => {
                self.run_numbered(source, numbered, chain, &mut accepted)
                    .await?;
            }
            Pagination::Chained(chained) => {
                self.run_chained(source, chained, chain, &mut accepted)
                    .await?;
            }
        }
        Ok(accepted.summary)
    }

    pub(crate) async fn fetch_one(
        &self,
        source: &Source,
        parser: &PageParser,
        chain: u32,
        index: u64,
        target: Target,
        observer: &dyn FetchObserver,
    ) -> Result<(Page, PageMeta, Attempts), FetchError> {
        let request = PageRequest::new(source, parser, chain, index, target);
        self.fetch_page(request, observer)
            .await
            .map_err(|(error, _)| error)
    }
}

#[cfg(test)]
mod tests {
    use super::Share;

    #[test]
    fn a_share_takes_every_nth_page_and_counts_them() {
        let share = Share { index: 1, of: 4 };
        let taken: Vec<u64> = (0..10).filter(|&page| share.takes(page)).collect();
        assert_eq!(taken, [1, 5, 9]);
        for limit in 0..12 {
            let counted = (0..limit).filter(|&page| share.takes(page)).count() as u64;
            assert_eq!(share.pages_below(limit), counted, "limit {limit}");
        }
    }
}
