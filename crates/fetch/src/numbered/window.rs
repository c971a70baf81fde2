//! The window of a numbered chain: which page to request next, the pages that arrived out of
//! turn, and releasing them in order until the end of the data is found.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{Arrived, Plan};
use crate::page_parser::PageMeta;
use crate::paginate::Accepted;
use crate::{ChainEnd, FetchError, NumberedPagination, Page, PageFailure, Resume, StopRule};

/// What the driver does after a page arrived.
pub(super) enum AfterArrival {
    /// Release what can be released, in order.
    Release,
    /// Nothing to release (the total is known: pages were taken as they came).
    Wait,
    /// The chain is complete.
    Done,
}

/// The state of a numbered chain between requests.
///
/// Invariant: every index below `next` was requested, or reduced before a resume; every index
/// below `next_release` was released (handed on, skipped, or found to be past the end).
pub(super) struct Window {
    /// Requests in flight at most, and how far ahead of the last released page requests go
    /// (twice this) while the total is unknown.
    size: u64,
    /// Page-numbered pages requested with the first, before it tells the total.
    speculation: usize,
    /// What the first page decided, once it arrived.
    plan: Option<Plan>,
    /// The next index to request.
    next: u64,
    /// The next index to hand on.
    next_release: u64,
    /// The last page handed on, to tell a page that repeats it.
    previous: Option<Page>,
    /// Pages that arrived (or were reduced before a resume: `None`) and wait for their turn.
    held: BTreeMap<u64, Option<Arrived>>,
    /// Indices of the requests in flight.
    flying: BTreeSet<u64>,
    /// The end of the data was found: how.
    ended: Option<ChainEnd>,
    /// Pages in a row given up on (with `on_error = "skip"`).
    consecutive_skips: u64,
}

impl Window {
    pub(super) fn new(size: u64, speculation: usize) -> Self {
        Self {
            size,
            speculation,
            plan: None,
            next: 0,
            next_release: 0,
            previous: None,
            held: BTreeMap::new(),
            flying: BTreeSet::new(),
            ended: None,
            consecutive_skips: 0,
        }
    }

    pub(super) fn ended(&self) -> bool {
        self.ended.is_some()
    }

    fn known_end(&self) -> bool {
        self.plan.is_some_and(|plan| plan.known_end.is_some())
    }

    fn limit(&self, numbered: &NumberedPagination) -> u64 {
        self.plan.map_or(numbered.max_pages, |plan| plan.limit)
    }

    /// The distance between two pages' positions, and the page size to ask for.
    pub(super) fn step_and_size(&self, numbered: &NumberedPagination) -> (u64, Option<u64>) {
        self.plan
            .map_or((1, numbered.size), |plan| (plan.step, plan.size))
    }

    /// The first page of an offset chain, fetched alone; `false` when it is an empty
    /// collection (nothing more to fetch).
    pub(super) async fn first_page_alone<T: From<Page>>(
        &mut self,
        first: Page,
        meta: PageMeta,
        numbered: &NumberedPagination,
        chain: u32,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<bool, FetchError> {
        let plan = Plan::from_first(&first, meta, numbered, chain, accepted);
        if plan.is_empty_collection(&first) {
            accepted.summary.ended = Some(ChainEnd::EmptyPage { page: 1 });
            return Ok(false);
        }
        self.previous = Some(first.clone());
        accepted.take(first).await?;
        self.plan = Some(plan);
        (self.next, self.next_release) = (1, 1);
        Ok(true)
    }

    /// The next page to request, if the window has room for it; pages reduced before a
    /// resume are passed over (and, without a total, take their turn as pages known to hold
    /// records).
    pub(super) fn next_request(
        &mut self,
        numbered: &NumberedPagination,
        in_flight: u64,
        resume: &Resume,
    ) -> Option<u64> {
        loop {
            let known_end = self.known_end();
            let room = self.ended.is_none()
                && self.next < self.limit(numbered)
                && in_flight < self.size
                && (known_end || self.next < self.next_release + 2 * self.size)
                // Until the first page tells the total, no more than the first window.
                && (self.plan.is_some()
                    || self.next < self.size.min(self.speculation.max(1) as u64));
            if !room {
                return None;
            }
            if self.next > 0 && resume.skips(self.next) {
                if !known_end {
                    self.held.insert(self.next, None);
                }
                self.next += 1;
                continue;
            }
            let index = self.next;
            self.flying.insert(index);
            self.next += 1;
            return Some(index);
        }
    }

    /// Whether the next page to release is already here (reduced before a resume).
    pub(super) fn releasable(&self) -> bool {
        !self.known_end() && self.held.contains_key(&self.next_release)
    }

    /// Page `index` arrived: with a known total it is handed on at once (unless it lies past
    /// the end); otherwise it waits for its turn.
    pub(super) async fn arrived<T: From<Page>>(
        &mut self,
        index: u64,
        outcome: Arrived,
        numbered: &NumberedPagination,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<AfterArrival, FetchError> {
        self.flying.remove(&index);
        if !self.known_end() {
            self.held.insert(index, Some(outcome));
            return Ok(AfterArrival::Release);
        }
        let limit = self.limit(numbered);
        // Pages requested before the end was known may lie past it.
        if index < limit {
            match outcome {
                Ok((page, _)) => accepted.take(page).await?,
                Err(error) => accepted.failed(error)?,
            }
        }
        if self.next >= limit && self.flying.range(..limit).next().is_none() {
            return Ok(AfterArrival::Done);
        }
        Ok(AfterArrival::Wait)
    }

    /// Hands on the pages whose turn it is, in order, until one is missing or the end of the
    /// data is found.
    pub(super) async fn release<T: From<Page>>(
        &mut self,
        numbered: &NumberedPagination,
        chain: u32,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<(), FetchError> {
        while let Some(outcome) = self.held.remove(&self.next_release) {
            self.next_release += 1;
            let Some(outcome) = outcome else {
                // Reduced before the resume: it held records, so the data goes on; it is not
                // here to compare the next page with.
                self.previous = None;
                continue;
            };
            let (page, meta) = match outcome {
                Ok(arrived) => {
                    self.consecutive_skips = 0;
                    arrived
                }
                // The first page decides the plan: without it there is nothing to go on.
                Err(error) if self.plan.is_none() => return Err(error),
                // Past the last page, some APIs answer an error (Django REST Framework: 404):
                // with no total, that status after good pages is the end, like an empty page.
                Err(error) if let Some(status) = end_status(&error, &numbered.end_on) => {
                    self.ended = Some(ChainEnd::Status {
                        status,
                        after: self.next_release - 1,
                    });
                    return Ok(());
                }
                Err(error) => {
                    accepted.failed(error)?;
                    self.consecutive_skips += 1;
                    if self.consecutive_skips >= self.size {
                        accepted.summary.warnings.push(format!(
                            "stopped after {} pages in a row failed: the data may go on past them",
                            self.size
                        ));
                        self.ended = Some(ChainEnd::FailedPages { pages: self.size });
                        return Ok(());
                    }
                    continue;
                }
            };
            let Some(plan) = self.plan else {
                self.first_page(page, meta, numbered, chain, accepted)
                    .await?;
                if self.ended.is_some() {
                    return Ok(());
                }
                // Without a total, pages that arrived before the first are released now.
                continue;
            };
            self.ended = self.take_in_turn(page, &plan, numbered, accepted).await?;
            if self.ended.is_some() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The first page, released: it decides the plan; with a total, everything that arrived
    /// before it, up to the end, is handed on.
    async fn first_page<T: From<Page>>(
        &mut self,
        page: Page,
        meta: PageMeta,
        numbered: &NumberedPagination,
        chain: u32,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<(), FetchError> {
        let plan = Plan::from_first(&page, meta, numbered, chain, accepted);
        if plan.is_empty_collection(&page) {
            self.ended = Some(ChainEnd::EmptyPage { page: 1 });
            return Ok(());
        }
        self.previous = Some(page.clone());
        accepted.take(page).await?;
        if plan.known_end.is_some() {
            for (index, outcome) in std::mem::take(&mut self.held) {
                match outcome {
                    Some(Ok((page, _))) if index < plan.limit => accepted.take(page).await?,
                    Some(Err(error)) if index < plan.limit => accepted.failed(error)?,
                    _ => {}
                }
            }
        }
        self.plan = Some(plan);
        Ok(())
    }

    /// A page after the first, in its turn: handed on, or found to be the end (how).
    async fn take_in_turn<T: From<Page>>(
        &mut self,
        page: Page,
        plan: &Plan,
        numbered: &NumberedPagination,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<Option<ChainEnd>, FetchError> {
        let number = page.index() + 1;
        let repeats = self
            .previous
            .as_ref()
            .is_some_and(|previous| page.records_json() == previous.records_json());
        if page.record_count() == 0 {
            return Ok(Some(ChainEnd::EmptyPage { page: number }));
        }
        if repeats {
            // json-server and others answer past the end with the last page again.
            accepted.summary.warnings.push(format!(
                "`{}` repeated the records of the page before it: taken as the end of the \
                 data (APIs such as json-server answer past the end this way)",
                page.url()
            ));
            return Ok(Some(ChainEnd::RepeatedPage { page: number }));
        }
        let short =
            numbered.stop == StopRule::ShortPage && (page.record_count() as u64) < plan.full_page;
        self.previous = Some(page.clone());
        accepted.take(page).await?;
        Ok(short.then_some(ChainEnd::ShortPage { page: number }))
    }

    /// The chain is over: what the result should say about how it ended.
    pub(super) fn finish<T: From<Page>>(
        &self,
        numbered: &NumberedPagination,
        accepted: &mut Accepted<'_, T>,
    ) {
        let known_end = self.plan.and_then(|plan| plan.known_end);
        if known_end.is_none() && self.ended.is_none() {
            accepted.summary.warnings.push(format!(
                "stopped at `max_pages` = {} before the end of the data: the result is incomplete",
                numbered.max_pages
            ));
        }
        accepted.summary.ended = Some(match (self.ended, known_end) {
            (Some(ended), _) => ended,
            (None, Some(pages)) if pages <= numbered.max_pages => ChainEnd::TotalReached { pages },
            (None, _) => ChainEnd::MaxPages {
                max: numbered.max_pages,
            },
        });
        let received = accepted.summary.records + accepted.resume.records;
        // A shard receives its share only: the merge compares the whole with the total.
        if let Some(reported) = accepted.summary.reported_records
            && accepted.resume.share.is_none()
            && reported != received
            && known_end.is_some_and(|end| end <= numbered.max_pages)
        {
            accepted.summary.warnings.push(format!(
                "the API reported {reported} records but {received} were received"
            ));
        }
    }
}

/// The status of a failed page, when the job takes it as "past the end".
fn end_status(error: &FetchError, end_on: &[u16]) -> Option<u16> {
    match error {
        FetchError::Page {
            failure: PageFailure::Status { status, .. },
            ..
        } if end_on.contains(status) => Some(*status),
        _ => None,
    }
}
