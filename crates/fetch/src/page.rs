//! A fetched page: its body, and where its records are in it.

use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use pagefold_json::Pointer;

use crate::page_parser::{MetaPointers, PageParser};
use crate::{PageFailure, SafeUrl, Secrets};

/// One accepted page: its body as received, and where its records array is in it.
///
/// Invariant: `body` is UTF-8 and well-formed JSON; `records` is the byte range of a JSON array
/// inside it, and `bounds` the byte ranges of that array's elements, relative to `records`.
#[derive(Clone)]
pub struct Page {
    chain: u32,
    index: u64,
    url: SafeUrl,
    body: Bytes,
    records: Range<usize>,
    bounds: Vec<(u32, u32)>,
}

impl Page {
    /// A page from its parts, which the parser checked: `body` is UTF-8 JSON, `records` an
    /// array in it and `bounds` its elements relative to `records`.
    pub(crate) fn checked(
        (chain, index): (u32, u64),
        url: SafeUrl,
        body: Bytes,
        records: Range<usize>,
        bounds: Vec<(u32, u32)>,
    ) -> Self {
        Self {
            chain,
            index,
            url,
            body,
            records,
            bounds,
        }
    }

    /// The request chain the page belongs to.
    pub fn chain(&self) -> u32 {
        self.chain
    }

    /// The page's place in its chain, counting from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The URL it was fetched from, redacted.
    pub fn url(&self) -> &SafeUrl {
        &self.url
    }

    /// The whole body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The records array, as the JSON text the API sent (`[...]`).
    pub fn records_json(&self) -> &str {
        let bytes = &self.body[self.records.clone()];
        // Called once a page by every reduce step: checking the bytes again each time cost
        // as much as a tenth of a run's instructions.
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: a `Page` is only made by `PageParser::parse`, which checks that the whole
        // body is UTF-8; `body` is immutable `Bytes`, and `records` is the range of a JSON
        // array in it, which starts at `[` and ends after `]`: ASCII bytes, so both ends are
        // on character boundaries.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// How many records the page has.
    pub fn record_count(&self) -> usize {
        self.bounds.len()
    }

    /// Where each record is in [`Page::records_json`]: `(start, end)` byte offsets, found
    /// while the page was checked, so consumers need not split the array again.
    pub fn record_bounds(&self) -> &[(u32, u32)] {
        &self.bounds
    }
}

impl Page {
    /// A page from a body already fetched, with its records at `records`: for tools and
    /// benchmarks that have pages without fetching them.
    ///
    /// ```
    /// use pagefold_fetch::{Page, SafeUrl};
    ///
    /// let url = SafeUrl::new("http://api.example/items".parse().unwrap(), &[]);
    /// let body = bytes::Bytes::from_static(br#"{"items":[{"id":1},{"id":2}]}"#);
    /// let page = Page::from_json(url, body, &"/items".parse().unwrap()).unwrap();
    /// assert_eq!(page.record_count(), 2);
    /// ```
    ///
    /// # Errors
    ///
    /// When the body is not JSON or has no array at `records`.
    pub fn from_json(url: SafeUrl, body: Bytes, records: &Pointer) -> Result<Page, PageFailure> {
        PageParser::new(records, MetaPointers::default())
            .parse(0, 0, url, body, &Secrets::default())
            .map(|(page, _)| page)
    }
}

impl Page {
    /// The same page (chain, place, URL) with other records: what a `map` program made of
    /// this page's records, as a JSON array.
    ///
    /// # Errors
    ///
    /// When `records_json` is not a JSON array.
    pub fn with_records(&self, records_json: String) -> Result<Page, PageFailure> {
        PageParser::new(&Pointer::root(), MetaPointers::default())
            .parse(
                self.chain,
                self.index,
                self.url.clone(),
                Bytes::from(records_json),
                &Secrets::default(),
            )
            .map(|(page, _)| page)
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("chain", &self.chain)
            .field("index", &self.index)
            .field("url", &self.url)
            .field("bytes", &self.body.len())
            .field("records", &self.bounds.len())
            .finish()
    }
}
