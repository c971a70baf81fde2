//! Driving a source from its first page to its end.
//!
//! The first page is fetched alone: it tells the total (if the API reports one) and how many
//! records a full page really holds (APIs often cap the size asked for). Then:
//!
//! * **total known**: every remaining page is requested at once, under the concurrency limit,
//!   and pages are handed on as they arrive;
//! * **total unknown**: a window of pages runs ahead of the last page known to be real, and
//!   pages are released in order, so that the end (the first empty page, a page repeating the
//!   previous one, or a short page if the job opts in) is found before anything after it is
//!   counted. Requests in flight past the end are cancelled; an error on a page past the end is
//!   not an error.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use url::Url;

use crate::fetcher::{Attempts, PageRequest};
use crate::page::{MetaPointers, PageMeta, PageParser};
use crate::{
    FetchError, FetchObserver, Fetcher, NumberedPagination, NumberedStyle, OnError, Page,
    Pagination, Source, StopRule,
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
    /// The sum of all request durations: what fetching one page after another would take.
    pub request_time: Duration,
    /// Time spent waiting on the API's behalf: backoff, `Retry-After`, rate limits, pauses.
    pub waited: Duration,
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
}

/// What an earlier, interrupted run of the same chain already reduced: those pages are not
/// fetched again (the first page is, for what it says, but not handed on).
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Indices of the pages already reduced.
    pub done: BTreeSet<u64>,
    /// How many records they held.
    pub records: u64,
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
        self.waited += attempts.waited;
    }

    /// Adds another chain's summary to this one.
    pub fn absorb(&mut self, other: FetchSummary) {
        self.pages += other.pages;
        self.records += other.records;
        self.requests += other.requests;
        self.retries += other.retries;
        self.bytes += other.bytes;
        self.request_time += other.request_time;
        self.consumer_wait += other.consumer_wait;
        self.waited += other.waited;
        self.reported_records = sum_reported(self.reported_records, other.reported_records);
        self.reported_pages = sum_reported(self.reported_pages, other.reported_pages);
        self.warnings.extend(other.warnings);
        self.skipped.extend(other.skipped);
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
    resume: &'a Resume,
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
        if self.resume.done.contains(&page.index()) {
            // Reduced by the run this one resumes: not counted or reduced twice.
            return Ok(());
        }
        self.summary.pages += 1;
        self.summary.records += page.record_count() as u64;
        self.summary.bytes += page.body().len() as u64;
        self.observer.page(page.record_count(), page.body().len());
        if page.record_count() > 0 {
            // Time spent waiting for room in the channel is time the consumer held fetching
            // back: the measure of whether reducing is the bottleneck.
            match self.sink.try_send(T::from(page)) {
                Ok(()) => {}
                Err(async_channel::TrySendError::Closed(_)) => {
                    return Err(FetchError::ConsumerGone);
                }
                Err(async_channel::TrySendError::Full(work)) => {
                    let waiting = std::time::Instant::now();
                    self.sink
                        .send(work)
                        .await
                        .map_err(|_| FetchError::ConsumerGone)?;
                    self.summary.consumer_wait += waiting.elapsed();
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
                let parser = PageParser::new(&source.records, MetaPointers::default());
                let url = with_query(&source.url, &source.query, &[]);
                observer.total_pages(chain, 1);
                match self
                    .fetch_one(source, &parser, chain, 0, url, observer)
                    .await
                {
                    Ok((page, _, attempts)) => {
                        accepted.summary.count_attempts(attempts);
                        accepted.take(page).await?;
                    }
                    Err(error) => accepted.failed(error)?,
                }
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
        url: Url,
        observer: &dyn FetchObserver,
    ) -> Result<(Page, PageMeta, Attempts), FetchError> {
        let request = PageRequest::new(source, parser, chain, index, url);
        self.fetch_page(request, observer)
            .await
            .map_err(|(error, _)| error)
    }

    async fn run_numbered<T: From<Page>>(
        &self,
        source: &Source,
        numbered: &NumberedPagination,
        chain: u32,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<(), FetchError> {
        let parser = PageParser::new(
            &source.records,
            MetaPointers {
                total_pages: numbered.total_pages.as_ref(),
                total_records: numbered.total_records.as_ref(),
                ..MetaPointers::default()
            },
        );
        let window = self.options.concurrency.max(1) as u64;
        let mut plan: Option<Plan> = None;
        let mut next = 0;
        let mut next_release = 0;
        let mut previous: Option<Page> = None;
        if numbered.style == NumberedStyle::Offset {
            // Offsets depend on how many records a page really holds, which only the first
            // page tells: it is fetched alone.
            let first_url = numbered_url(source, numbered, 0, numbered.size);
            let (first, meta, attempts) = self
                .fetch_one(source, &parser, chain, 0, first_url, accepted.observer)
                .await?;
            accepted.summary.count_attempts(attempts);
            let first_plan = Plan::from_first(&first, meta, numbered, chain, accepted);
            if first_plan.is_empty_collection(&first) {
                return Ok(());
            }
            previous = Some(first.clone());
            accepted.take(first).await?;
            plan = Some(first_plan);
            (next, next_release) = (1, 1);
        }
        // Page numbers do not depend on the first page, so the whole first window is requested
        // at once, the first page among them.
        let mut in_flight = FuturesUnordered::new();
        // Pages that arrived (or were reduced before a resume) and wait for their turn.
        let mut held: BTreeMap<u64, Option<Arrived>> = BTreeMap::new();
        // Indices of the requests in flight.
        let mut flying = std::collections::BTreeSet::new();
        let mut ended = false;
        let mut consecutive_skips = 0;
        loop {
            let known_end = plan.as_ref().is_some_and(|plan| plan.known_end.is_some());
            let limit = plan.as_ref().map_or(numbered.max_pages, |plan| plan.limit);
            let (step, size) = plan
                .as_ref()
                .map_or((1, numbered.size), |plan| (plan.step, plan.size));
            while !ended
                && next < limit
                && (in_flight.len() as u64) < window
                && (known_end || next < next_release + 2 * window)
                // Until the first page tells the total, no more than the first window.
                && (plan.is_some() || next < window.min(source.speculation.max(1) as u64))
            {
                if next > 0 && accepted.resume.done.contains(&next) {
                    // Reduced before the resume: not fetched; without a total it still takes
                    // its turn, as a page known to hold records.
                    if !known_end {
                        held.insert(next, None);
                    }
                    next += 1;
                    continue;
                }
                let url = numbered_url(source, numbered, next * step, size);
                let index = next;
                let parser = &parser;
                let observer = accepted.observer;
                in_flight.push(async move {
                    let request = PageRequest::new(source, parser, chain, index, url);
                    (index, self.fetch_page(request, observer).await)
                });
                flying.insert(next);
                next += 1;
            }
            if ended {
                break;
            }
            // Pages reduced before a resume may be releasable without waiting for anything.
            let releasable = !known_end && held.contains_key(&next_release);
            let arrival = if releasable {
                None
            } else {
                in_flight.next().await
            };
            if !releasable && arrival.is_none() {
                break;
            }
            if let Some((index, outcome)) = arrival {
                flying.remove(&index);
                let outcome = match outcome {
                    Ok((page, meta, attempts)) => {
                        accepted.summary.count_attempts(attempts);
                        Ok((page, meta))
                    }
                    Err((error, attempts)) => {
                        accepted.summary.count_attempts(attempts);
                        Err(error)
                    }
                };
                if known_end {
                    // Pages requested before the end was known may lie past it.
                    if index < limit {
                        match outcome {
                            Ok((page, _)) => accepted.take(page).await?,
                            Err(error) => accepted.failed(error)?,
                        }
                    }
                    if next >= limit && flying.range(..limit).next().is_none() {
                        // All that is still in flight lies past the end: dropping it cancels it.
                        break;
                    }
                    continue;
                }
                held.insert(index, Some(outcome));
            }
            while let Some(outcome) = held.remove(&next_release) {
                next_release += 1;
                let Some(outcome) = outcome else {
                    // Reduced before the resume: it held records, so the data goes on; it is
                    // not here to compare the next page with.
                    previous = None;
                    continue;
                };
                let (page, meta) = match outcome {
                    Ok(arrived) => {
                        consecutive_skips = 0;
                        arrived
                    }
                    // The first page decides the plan: without it there is nothing to go on.
                    Err(error) if plan.is_none() => return Err(error),
                    Err(error) => {
                        accepted.failed(error)?;
                        consecutive_skips += 1;
                        if consecutive_skips >= window {
                            accepted.summary.warnings.push(format!(
                                "stopped after {window} pages in a row failed: the data may go on past them"
                            ));
                            ended = true;
                            break;
                        }
                        continue;
                    }
                };
                let Some(chain_plan) = &plan else {
                    let first_plan = Plan::from_first(&page, meta, numbered, chain, accepted);
                    if first_plan.is_empty_collection(&page) {
                        ended = true;
                        break;
                    }
                    previous = Some(page.clone());
                    accepted.take(page).await?;
                    if first_plan.known_end.is_some() {
                        // Everything that arrived before the first page, up to the end.
                        for (index, outcome) in std::mem::take(&mut held) {
                            match outcome {
                                Some(Ok((page, _))) if index < first_plan.limit => {
                                    accepted.take(page).await?
                                }
                                Some(Err(error)) if index < first_plan.limit => {
                                    accepted.failed(error)?
                                }
                                _ => {}
                            }
                        }
                    }
                    plan = Some(first_plan);
                    // Without a total, pages that arrived before the first are released now.
                    continue;
                };
                let repeats = previous
                    .as_ref()
                    .is_some_and(|previous| page.records_json() == previous.records_json());
                if page.record_count() == 0 {
                    ended = true;
                } else if repeats {
                    // json-server and others answer past the end with the last page again.
                    accepted.summary.warnings.push(format!(
                        "`{}` repeated the records of the page before it: taken as the end of the \
                         data (APIs such as json-server answer past the end this way)",
                        page.url()
                    ));
                    ended = true;
                } else {
                    let short = numbered.stop == StopRule::ShortPage
                        && (page.record_count() as u64) < chain_plan.full_page;
                    previous = Some(page.clone());
                    accepted.take(page).await?;
                    ended = short;
                }
                if ended {
                    break;
                }
            }
        }
        let known_end = plan.as_ref().and_then(|plan| plan.known_end);
        if known_end.is_none() && !ended {
            accepted.summary.warnings.push(format!(
                "stopped at `max_pages` = {} before the end of the data: the result is incomplete",
                numbered.max_pages
            ));
        }
        let received = accepted.summary.records + accepted.resume.records;
        if let Some(reported) = accepted.summary.reported_records
            && reported != received
            && known_end.is_some_and(|end| end <= numbered.max_pages)
        {
            accepted.summary.warnings.push(format!(
                "the API reported {reported} records but {received} were received"
            ));
        }
        Ok(())
    }
}

/// A page that arrived, or why it did not.
type Arrived = Result<(Page, PageMeta), FetchError>;

/// What the first page of a numbered chain decides.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Records in a full page as the API really serves them.
    full_page: u64,
    /// The distance between the positions of two pages.
    step: u64,
    /// The page size to ask for.
    size: Option<u64>,
    /// The number of pages, if the API reported a total.
    known_end: Option<u64>,
    /// Never request a page at or past this index.
    limit: u64,
}

impl Plan {
    fn from_first<T: From<Page>>(
        first: &Page,
        meta: PageMeta,
        numbered: &NumberedPagination,
        chain: u32,
        accepted: &mut Accepted<'_, T>,
    ) -> Self {
        accepted.summary.reported_pages = meta.total_pages;
        accepted.summary.reported_records = meta.total_records;
        let full_page = first.record_count() as u64;
        if let Some(size) = numbered
            .size
            .filter(|&size| full_page > 0 && full_page < size)
        {
            tracing::info!(
                asked = size,
                served = full_page,
                "the API serves fewer records a page than asked"
            );
        }
        // For offsets, ask for exactly what a full page holds from now on, so that a short
        // first page can never make later pages overlap.
        let (step, size) = match numbered.style {
            NumberedStyle::Page => (1, numbered.size),
            NumberedStyle::Offset if full_page > 0 => (full_page, Some(full_page)),
            NumberedStyle::Offset => (numbered.size.unwrap_or(1), numbered.size),
        };
        let known_end = match (meta.total_pages, meta.total_records) {
            (Some(pages), _) => Some(pages.max(1)),
            (None, Some(0)) => Some(1),
            (None, Some(records)) if full_page > 0 => Some(records.div_ceil(full_page)),
            _ => None,
        };
        let limit = known_end.unwrap_or(u64::MAX).min(numbered.max_pages);
        if let Some(end) = known_end {
            accepted.observer.total_pages(chain, limit);
            if end > numbered.max_pages {
                accepted.summary.warnings.push(format!(
                    "the API reports {end} pages but `max_pages` is {}: the result covers only the first {} pages",
                    numbered.max_pages, numbered.max_pages
                ));
            }
        }
        Self {
            full_page,
            step,
            size,
            known_end,
            limit,
        }
    }

    /// An empty first page and no total: an empty collection.
    fn is_empty_collection(&self, first: &Page) -> bool {
        self.known_end.is_none() && first.record_count() == 0
    }
}

/// The URL of the page at `position` (a page number offset or a record offset from `start`).
pub(crate) fn numbered_url(
    source: &Source,
    numbered: &NumberedPagination,
    position: u64,
    size: Option<u64>,
) -> Url {
    let value = (numbered.start + position).to_string();
    let mut paging = vec![(numbered.param.as_str(), value)];
    if let (Some(param), Some(size)) = (&numbered.size_param, size) {
        paging.push((param.as_str(), size.to_string()));
    }
    with_query(&source.url, &source.query, &paging)
}

/// `base` with `query` and then `paging` set, each replacing a parameter of the same name.
pub(crate) fn with_query(base: &Url, query: &[(String, String)], paging: &[(&str, String)]) -> Url {
    let mut url = base.clone();
    let replaced =
        |key: &str| query.iter().any(|(k, _)| k == key) || paging.iter().any(|(k, _)| *k == key);
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(key, _)| !replaced(key))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() && query.is_empty() && paging.is_empty() {
        return url;
    }
    let mut pairs = url.query_pairs_mut();
    pairs.clear();
    for (key, value) in kept.iter().chain(query) {
        pairs.append_pair(key, value);
    }
    for (key, value) in paging {
        pairs.append_pair(key, value);
    }
    drop(pairs);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_parameters_replace_those_in_the_url() {
        let base: Url = "http://api/x?page=9&keep=1".parse().unwrap();
        let url = with_query(
            &base,
            &[("status".into(), "open".into())],
            &[("page", "3".into())],
        );
        assert_eq!(url.as_str(), "http://api/x?keep=1&status=open&page=3");
    }
}
