//! Page-number and offset pagination: pages addressed by a number, so many can be requested at
//! once.
//!
//! The first page tells the total (if the API reports one) and how many records a full page
//! really holds (APIs often cap the size asked for). Then:
//!
//! * **total known**: every remaining page is requested at once, under the concurrency limit,
//!   and pages are handed on as they arrive;
//! * **total unknown**: a [`Window`] of pages runs ahead of the last page known to be real,
//!   and pages are released in order, so that the end (the first empty page, a page repeating
//!   the previous one, or a short page if the job opts in) is found before anything after it
//!   is counted. Requests in flight past the end are cancelled; an error on a page past the
//!   end is not an error.

mod plan;
mod window;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::fetcher::PageRequest;
use crate::page_parser::{MetaPointers, PageParser};
use crate::paginate::Accepted;
use crate::request::numbered_target;
use crate::{FetchError, Fetcher, NumberedPagination, NumberedStyle, Page, Source};
use window::{AfterArrival, Window};

impl Fetcher {
    pub(crate) async fn run_numbered<T: From<Page>>(
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
                errors: source.errors_pointer(),
                ..MetaPointers::default()
            },
        );
        let mut window = Window::new(self.options.concurrency.max(1) as u64, source.speculation);
        if numbered.style == NumberedStyle::Offset {
            // Offsets depend on how many records a page really holds, which only the first
            // page tells: it is fetched alone.
            let first = numbered_target(source, numbered, 0, numbered.size);
            let (first, meta, attempts) = self
                .fetch_one(source, &parser, chain, 0, first, accepted.observer)
                .await?;
            accepted.summary.count_attempts(attempts);
            if !window
                .first_page_alone(first, meta, numbered, chain, accepted)
                .await?
            {
                return Ok(());
            }
        }
        // Page numbers do not depend on the first page: as many as `speculation` allows (by
        // default the first alone, see `Source::speculation`) go before it tells the total.
        let mut in_flight = FuturesUnordered::new();
        loop {
            while let Some(index) =
                window.next_request(numbered, in_flight.len() as u64, accepted.resume)
            {
                let (step, size) = window.step_and_size(numbered);
                let target = numbered_target(source, numbered, index * step, size);
                let parser = &parser;
                let observer = accepted.observer;
                in_flight.push(async move {
                    let request = PageRequest::new(source, parser, chain, index, target);
                    (index, self.fetch_page(request, observer).await)
                });
            }
            if window.ended() {
                break;
            }
            // Pages reduced before a resume may be releasable without waiting for anything.
            let releasable = window.releasable();
            let arrival = if releasable {
                None
            } else {
                in_flight.next().await
            };
            if !releasable && arrival.is_none() {
                break;
            }
            if let Some((index, outcome)) = arrival {
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
                match window.arrived(index, outcome, numbered, accepted).await? {
                    AfterArrival::Release => {}
                    AfterArrival::Wait => continue,
                    // All that is still in flight lies past the end: dropping it cancels it.
                    AfterArrival::Done => break,
                }
            }
            window.release(numbered, chain, accepted).await?;
        }
        window.finish(numbered, accepted);
        Ok(())
    }
}
