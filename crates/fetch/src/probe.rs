//! A look at the first page of a source, to estimate a run before making it.

use std::time::{Duration, Instant};

use crate::chain::parse_link_header;
use crate::fetcher::PageRequest;
use crate::page_parser::{MetaPointers, PageParser};
use crate::{FetchError, Fetcher, NextPage, NoObserver, NumberedStyle, Pagination, Source};

/// What the first page of a source says.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Records on the first page.
    pub records: usize,
    /// Requests the whole source will take, when the first page tells.
    pub pages: Option<u64>,
    /// Records the API reports, if it does.
    pub total_records: Option<u64>,
    /// The pages the API reports when `max_pages` is fewer (then `pages` is `max_pages`): the
    /// run will stop short of the end.
    pub beyond_max_pages: Option<u64>,
    /// The first page's records (a JSON array), to check the job's fields against; empty
    /// past 4 MiB.
    pub records_json: String,
    /// How long the first request took.
    pub latency: Duration,
}

impl Fetcher {
    /// Fetches the first page of `source` (with retries) and reads what it says about the
    /// rest.
    ///
    /// # Errors
    ///
    /// When the first page cannot be had.
    pub async fn probe(&self, source: &Source) -> Result<Probe, FetchError> {
        let (total_pages, total_records) = match &source.pagination {
            Pagination::Numbered(numbered) => (
                numbered.total_pages.as_ref(),
                numbered.total_records.as_ref(),
            ),
            _ => (None, None),
        };
        let parser = PageParser::new(
            &source.records,
            MetaPointers {
                total_pages,
                total_records,
                errors: source.errors_pointer(),
                ..MetaPointers::default()
            },
        );
        let request = PageRequest::new(source, &parser, 0, 0, source.first_target());
        let started = Instant::now();
        let (page, meta, _) = self
            .fetch_page(request, &NoObserver)
            .await
            .map_err(|(error, _)| error)?;
        let latency = started.elapsed();
        let records = page.record_count();
        let records_json = if page.records_json().len() <= 4 << 20 {
            page.records_json().to_owned()
        } else {
            String::new()
        };
        let pages = match &source.pagination {
            Pagination::None => Some(1),
            Pagination::Numbered(numbered) => {
                let full = records as u64;
                let pages = match (meta.total_pages, meta.total_records) {
                    (Some(pages), _) => Some(pages.max(1)),
                    (None, Some(total)) if full > 0 => Some(total.div_ceil(full)),
                    (None, Some(_)) => Some(1),
                    _ => None,
                };
                let offsets_cannot_tell = numbered.style == NumberedStyle::Offset && full == 0;
                pages.filter(|_| !offsets_cannot_tell)
            }
            Pagination::Chained(chained) => match &chained.next {
                NextPage::LinkHeader => meta.link.as_deref().and_then(|link| {
                    let last = parse_link_header(link)
                        .into_iter()
                        .find(|(_, rel)| rel == "last")?;
                    let last = source.first_url().join(&last.0).ok()?;
                    let page = last
                        .query_pairs()
                        .find(|(k, _)| k == "page")?
                        .1
                        .parse::<u64>()
                        .ok()?;
                    Some(page)
                }),
                _ => None,
            },
        };
        let max_pages = match &source.pagination {
            Pagination::None => 1,
            Pagination::Numbered(numbered) => numbered.max_pages,
            Pagination::Chained(chained) => chained.max_pages,
        };
        Ok(Probe {
            records,
            pages: pages.map(|pages| pages.min(max_pages)),
            total_records: meta.total_records,
            beyond_max_pages: pages.filter(|pages| *pages > max_pages),
            records_json,
            latency,
        })
    }
}
