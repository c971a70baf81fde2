//! What to fetch: a URL, how its pages chain, where the records are.

use http::header::HeaderMap;
use pagefold_json::Pointer;
use url::Url;

use crate::{Auth, FetchError, ParamIn, RequestBody, SafeUrl, Secrets};

/// One API endpoint to page through.
#[derive(Debug, Clone)]
pub struct Source {
    /// The URL of the first page, without pagination parameters.
    pub url: Url,
    /// Extra query parameters sent with every request.
    pub query: Vec<(String, String)>,
    /// Extra headers sent with every request.
    pub headers: HeaderMap,
    /// Query parameters whose values are secrets, hidden wherever a URL is shown.
    pub secret_params: Vec<String>,
    /// Credentials, sent only to [`Source::origin`].
    pub auth: Option<Auth>,
    /// Several credentials with a budget each, used instead of `auth` when set.
    pub keys: Option<std::sync::Arc<crate::KeyRing>>,
    /// The one origin (scheme, host, port) that sees the credentials and `headers`: the
    /// job's `url`. A page, a `Link` header or a redirect that names another origin never
    /// decides where credentials go.
    pub origin: Url,
    /// Whether a next page on another origin is followed (without credentials or headers)
    /// rather than refused.
    pub follow_other_origins: bool,
    /// Values never to show, hidden in error excerpts before they are cut.
    pub secrets: Secrets,
    /// The HTTP method (GET unless the API pages in a request body).
    pub method: http::Method,
    /// The request body sent with every page, if any.
    pub body: Option<RequestBody>,
    /// Where the pagination's parameters go: the query, or the JSON body.
    pub param_in: ParamIn,
    /// Whether a request whose method is not idempotent (POST) may be retried.
    pub retry_post: bool,
    /// Whether a `200` whose body holds a non-empty `errors` array is an error (GraphQL).
    pub graphql_errors: bool,
    /// Page-numbered pages requested with the first, before it tells the total (at most the
    /// concurrency). 1 by default: the first page goes alone, which costs one round trip and
    /// buys two things: a small collection is not sent a window of requests past its end, and
    /// the run measures one latency that no other request inflated, the honest basis of
    /// [`crate::FetchSummary::sequential_estimate`].
    pub speculation: usize,
    /// Where the records array is in a page (`""`: the page is the array).
    pub records: Pointer,
    /// How pages follow each other.
    pub pagination: Pagination,
}

impl Source {
    /// A source with no extra query parameters, headers or credentials; `url`'s origin is
    /// the one that would see credentials.
    pub fn new(url: Url, records: Pointer, pagination: Pagination) -> Self {
        Self {
            origin: url.clone(),
            url,
            query: Vec::new(),
            headers: HeaderMap::new(),
            secret_params: Vec::new(),
            auth: None,
            keys: None,
            follow_other_origins: false,
            secrets: Secrets::default(),
            method: http::Method::GET,
            body: None,
            param_in: ParamIn::Query,
            retry_post: false,
            graphql_errors: false,
            speculation: 1,
            records,
            pagination,
        }
    }
}

/// How the pages of a source are addressed.
#[derive(Debug, Clone)]
pub enum Pagination {
    /// One request; its records are everything.
    None,
    /// Pages addressed by a number or an offset in a query parameter, which can be requested
    /// concurrently.
    Numbered(NumberedPagination),
    /// Each page names the next: a chain.
    Chained(ChainedPagination),
}

/// Pagination where each page names the next.
#[derive(Debug, Clone)]
pub struct ChainedPagination {
    /// Where the next page is named.
    pub next: NextPage,
    /// The query parameter of the page size, if the API takes one.
    pub size_param: Option<String>,
    /// The page size to ask for.
    pub size: Option<u64>,
    /// Never request more than this many pages.
    pub max_pages: u64,
}

/// How a page names the next.
#[derive(Debug, Clone)]
pub enum NextPage {
    /// A cursor, sent back as the query parameter `param`.
    Cursor {
        /// The query parameter.
        param: String,
        /// Where the cursor is.
        from: CursorFrom,
        /// A boolean that says whether more pages follow.
        has_more: Option<Pointer>,
    },
    /// The next page's URL (relative URLs resolve against the current page's).
    Url {
        /// Where the URL is.
        next: Pointer,
    },
    /// RFC 8288 `Link: <…>; rel="next"`.
    LinkHeader,
    /// The next page's URL in a response header of the API's choosing (`X-Next-Page-Url`).
    UrlHeader {
        /// The header.
        header: http::header::HeaderName,
    },
}

/// Where a cursor is.
#[derive(Debug, Clone)]
pub enum CursorFrom {
    /// At a JSON Pointer in the page.
    Field(Pointer),
    /// In a field of the page's last record (Stripe's `starting_after` = the last id).
    LastRecord(Pointer),
    /// In a response header (`X-Next-Cursor`).
    Header(http::header::HeaderName),
}

/// Whether the parameter counts pages or records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberedStyle {
    /// `param` is a page number: `start`, `start + 1`, …
    Page,
    /// `param` is a record offset: `start`, `start + n`, … where `n` is the number of records
    /// the API actually returns in a full page (which may be less than the size asked for).
    Offset,
}

/// What ends a chain besides the reported total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopRule {
    /// The first empty page (the safe default: short pages in the middle are common).
    #[default]
    EmptyPage,
    /// Also a page with fewer records than a full one; faster for APIs that are known to fill
    /// every page but the last.
    ShortPage,
}

/// Page-number or offset pagination.
#[derive(Debug, Clone)]
pub struct NumberedPagination {
    /// Page numbers or offsets.
    pub style: NumberedStyle,
    /// The query parameter that carries the page number or offset.
    pub param: String,
    /// The first page number or offset.
    pub start: u64,
    /// The query parameter that carries the page size, if the API takes one.
    pub size_param: Option<String>,
    /// The page size to ask for.
    pub size: Option<u64>,
    /// Where the first page reports the number of pages.
    pub total_pages: Option<Pointer>,
    /// Where the first page reports the number of records.
    pub total_records: Option<Pointer>,
    /// Never request more than this many pages.
    pub max_pages: u64,
    /// What ends the chain when no total is known.
    pub stop: StopRule,
    /// Statuses that, after at least one good page and with no total known, mean "past the
    /// end" rather than an error (Django REST Framework answers 404 there).
    pub end_on: Vec<u16>,
    /// A response header holding the number of records (`X-Total-Count`, `Content-Range`).
    pub total_records_header: Option<http::header::HeaderName>,
    /// A response header holding the number of pages (`X-Total-Pages`).
    pub total_pages_header: Option<http::header::HeaderName>,
}

impl NumberedPagination {
    /// Page numbers in `param`, starting at 1, no size, no totals, at most 100 000 pages, a
    /// 404 past the last page taken as the end.
    pub fn pages(param: impl Into<String>) -> Self {
        Self {
            style: NumberedStyle::Page,
            param: param.into(),
            start: 1,
            size_param: None,
            size: None,
            total_pages: None,
            total_records: None,
            max_pages: 100_000,
            stop: StopRule::EmptyPage,
            end_on: vec![404],
            total_records_header: None,
            total_pages_header: None,
        }
    }

    /// Record offsets in `param`, starting at 0; otherwise as [`NumberedPagination::pages`].
    pub fn offsets(param: impl Into<String>) -> Self {
        Self {
            style: NumberedStyle::Offset,
            start: 0,
            ..Self::pages(param)
        }
    }
}

impl Source {
    /// Whether `url` is on the origin that sees the credentials and the job's headers.
    pub fn is_trusted(&self, url: &Url) -> bool {
        url.origin() == self.origin.origin()
    }

    /// Whether the chain may go on from `page` to `next`: on the job's origin it may; on
    /// another it is refused (`page == next` for a chain's first page), unless [`Source::follow_other_origins`] is set, and then it is
    /// followed without credentials and the warning to give is returned.
    pub(crate) fn allow_next(&self, page: &Url, next: &Url) -> Result<Option<String>, FetchError> {
        if self.is_trusted(next) {
            return Ok(None);
        }
        let (origin, other) = (origin_of(&self.origin), origin_of(next));
        if !self.follow_other_origins {
            return Err(FetchError::OtherOrigin {
                page: (page != next).then(|| SafeUrl::new(page.clone(), &self.secret_params)),
                next: SafeUrl::new(next.clone(), &self.secret_params),
                origin,
                other,
            });
        }
        Ok(Some(format!(
            "followed pages on `{other}` without the job's credentials or headers (they go to `{origin}` only)"
        )))
    }
}

/// How an origin is written in messages: `scheme://host:port`.
fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}
