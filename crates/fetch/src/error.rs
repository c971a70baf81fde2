//! What can go wrong while fetching.

use std::time::Duration;

use crate::SafeUrl;

/// A fetch that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The HTTP client could not be built (a TLS or configuration problem).
    #[error("cannot set up the HTTP client")]
    Client(#[source] crate::client::BoxError),
    /// A page failed for good: after its retries, or with an error that retrying cannot fix.
    #[error("`{url}` failed after {attempts} attempt{s} in {elapsed:.1?}", s = if *attempts == 1 { "" } else { "s" })]
    Page {
        /// The page's URL, redacted.
        url: SafeUrl,
        /// The page's number within its chain, counting from 0.
        page: u64,
        /// How many requests were made for it.
        attempts: u32,
        /// Time spent on it, waits included.
        elapsed: Duration,
        /// What happened on the last attempt.
        #[source]
        failure: PageFailure,
    },
    /// A chain named a page it had already named: following it would never end.
    #[error("the API loops: after {pages} pages, `{url}` names `{repeated}` again")]
    Loop {
        /// The page that would be fetched again, redacted.
        url: SafeUrl,
        /// The cursor or URL seen twice.
        repeated: String,
        /// Pages fetched before.
        pages: u64,
    },
    /// A page named a next page (or a chain began) on an origin other than the one that
    /// sees the job's credentials.
    #[error("`{next}`{} is on the origin `{other}`, not on the job's `{origin}`", named_by(.page))]
    OtherOrigin {
        /// The page that named it as the next (none for a chain's first page), redacted.
        page: Option<SafeUrl>,
        /// The page on the other origin, redacted.
        next: SafeUrl,
        /// The job's origin, which sees its credentials.
        origin: String,
        /// The other origin.
        other: String,
    },
    /// The API refused one of the job's keys (401 or 403).
    #[error("the API refused key {position} of {of} (`{key}`) on `{url}`: {failure}")]
    KeyRefused {
        /// The key's label (never its value).
        key: String,
        /// Its position, from 1.
        position: usize,
        /// How many keys the job has.
        of: usize,
        /// The page, redacted.
        url: SafeUrl,
        /// What the API answered.
        failure: PageFailure,
    },
    /// The API asked for a wait (`Retry-After`) longer than the job allows: the run ends
    /// rather than sleep for hours; its checkpoint, if any, resumes it later.
    #[error("`{url}` asked to wait {} before trying again (`Retry-After`), longer than `max_retry_after` ({}) allows", crate::retry::human(*.asked), crate::retry::human(*.max))]
    WaitTooLong {
        /// The page, redacted.
        url: SafeUrl,
        /// The page's number within its chain, counting from 0.
        page: u64,
        /// The wait the API asked for.
        asked: Duration,
        /// `[fetch] max_retry_after`.
        max: Duration,
    },
    /// The run's `deadline` passed (or a wait would take it past): the run ends; its
    /// checkpoint, if any, resumes it later.
    #[error("the run's `deadline` of {} {}{}", crate::retry::human(*.deadline), match .wait { Some(wait) => format!("would pass during a wait of {}", crate::retry::human(*wait)), None => "passed".to_owned() }, .url.as_ref().map(|url| format!(" while fetching `{url}`")).unwrap_or_default())]
    Deadline {
        /// `[fetch] deadline`.
        deadline: Duration,
        /// The page being fetched, redacted, if one was.
        url: Option<SafeUrl>,
        /// The wait that would have gone past it, if one would have.
        wait: Option<Duration>,
    },
    /// The consumer of pages went away (it failed, or the run is being stopped).
    #[error("the consumer of pages stopped")]
    ConsumerGone,
}

/// Why one request for a page did not give a usable page.
#[derive(Debug, thiserror::Error)]
pub enum PageFailure {
    /// Could not connect, or the connection broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// No complete response within the timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The server answered with an error status.
    #[error("HTTP {status}{}", detail_suffix(.detail))]
    Status {
        /// The status code.
        status: u16,
        /// The start of the response body, if it was text.
        detail: String,
    },
    /// Redirects went on too long.
    #[error("more than {0} redirects")]
    Redirects(usize),
    /// The body could not be read completely.
    #[error("the response body broke off: {0}")]
    Body(String),
    /// The body says it is gzip (`Content-Encoding: gzip`) and cannot be inflated.
    #[error("the body says it is gzip but cannot be inflated: {0}")]
    NotGzip(String),
    /// The body was larger than allowed.
    #[error("the response body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The body is not JSON.
    #[error("the body is not JSON ({reason}); it starts with `{start}`")]
    NotJson {
        /// The parser's message, with line and column.
        reason: String,
        /// The first bytes of the body.
        start: String,
    },
    /// The body is not UTF-8, so it cannot be JSON.
    #[error("the body is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
        /// The first bytes of the body.
        start: String,
    },
    /// A GraphQL answer (status 200) that reports errors instead of data.
    #[error("the API answered with errors: {messages}")]
    GraphQl {
        /// The errors' messages.
        messages: String,
        /// Whether they say the query was rate limited (then it is retried).
        rate_limited: bool,
    },
    /// The body is JSON but has no records array where the job says.
    #[error("no records array at `{pointer}`: {found}")]
    NoRecords {
        /// The job's `records` pointer.
        pointer: String,
        /// What is there instead.
        found: String,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl FetchError {
    /// Whether the same run can go on later: the API asked for a long wait or the run's
    /// budget ran out, nothing is wrong with the job or its data.
    pub fn resumable_later(&self) -> bool {
        matches!(self, Self::WaitTooLong { .. } | Self::Deadline { .. })
    }
}

impl PageFailure {
    /// Whether another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect(_)
            | Self::Timeout(_)
            | Self::Body(_)
            | Self::NotGzip(_)
            | Self::NotJson { .. }
            | Self::NotUtf8 { .. } => true,
            Self::Status { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            Self::GraphQl { rate_limited, .. } => *rate_limited,
            Self::TooLarge { .. } | Self::NoRecords { .. } | Self::Redirects(_) => false,
        }
    }
}

fn named_by(page: &Option<SafeUrl>) -> String {
    page.as_ref()
        .map(|page| format!(", the next page named by `{page}`,"))
        .unwrap_or_default()
}
