//! What the first page of a numbered chain decides: the step between pages, the size to ask
//! for, and the end when the API reports a total.

use super::super::paginate::Accepted;
use crate::page_parser::PageMeta;
use crate::{FetchError, NumberedPagination, NumberedStyle, Page};

/// A page that arrived, or why it did not.
pub(super) type Arrived = Result<(Page, PageMeta), FetchError>;

/// What the first page of a numbered chain decides.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    /// Records in a full page as the API really serves them.
    pub(super) full_page: u64,
    /// The distance between the positions of two pages.
    pub(super) step: u64,
    /// The page size to ask for.
    pub(super) size: Option<u64>,
    /// The number of pages, if the API reported a total.
    pub(super) known_end: Option<u64>,
    /// Never request a page at or past this index.
    pub(super) limit: u64,
}

impl Plan {
    pub(super) fn from_first<T: From<Page>>(
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
            // A shard's bar counts the pages it hands on: its share of the chain.
            let pages = accepted
                .resume
                .share
                .map_or(limit, |share| share.pages_below(limit));
            accepted.observer.total_pages(chain, pages);
            if end > numbered.max_pages {
                accepted.summary.warnings.push(format!(
                    "the API reports more pages than `max_pages` = {}: the result covers only the first {}",
                    numbered.max_pages,
                    if numbered.max_pages == 1 {
                        "page".to_owned()
                    } else {
                        format!("{} pages", numbered.max_pages)
                    }
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
    pub(super) fn is_empty_collection(&self, first: &Page) -> bool {
        self.known_end.is_none() && first.record_count() == 0
    }
}
