//! Fetch every page of a paginated HTTP API, concurrently, and hand the pages on as bytes.
//!
//! This crate knows pagination, HTTP, retries and limits; it knows nothing of reducers. A
//! [`Fetcher`] owns one HTTP client (connections are reused) and the concurrency limit that
//! every request chain of a job shares. [`Fetcher::run`] drives one [`Source`] to its end and
//! sends each accepted [`Page`] into a bounded channel, so the consumer's pace bounds memory.
//!
//! Where the end is matters more than anything else here, because that is where tools lose or
//! duplicate records: the end is the reported total, or else the first *empty* page (a short
//! page is not the end unless the job says so), and a page that repeats the previous page's
//! records ends the chain without being counted. See [`Pagination`].
//!
//! ```no_run
//! use pagefold_fetch::{FetchOptions, Fetcher, Pagination, NumberedPagination, Source};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let fetcher = Fetcher::new(FetchOptions::default())?;
//! let source = Source::new(
//!     "http://127.0.0.1:8080/orders".parse()?,
//!     "/data".parse()?,
//!     Pagination::Numbered(NumberedPagination::pages("page")),
//! );
//! let (pages, received) = async_channel::bounded::<pagefold_fetch::Page>(64);
//! let consumer = tokio::spawn(async move {
//!     let mut records = 0;
//!     while let Ok(page) = received.recv().await {
//!         records += page.record_count();
//!     }
//!     records
//! });
//! let resume = pagefold_fetch::Resume::default();
//! let summary = fetcher.run(&source, 0, pages, &pagefold_fetch::NoObserver, &resume).await?;
//! assert_eq!(summary.records, consumer.await? as u64);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod attempt;
mod auth;
mod chain;
mod client;
mod end;
mod error;
mod excerpt;
mod fetcher;
mod keys;
mod limits;
mod numbered;
mod observer;
mod page;
mod page_parser;
mod page_request;
mod paginate;
mod probe;
mod redact;
mod request;
mod retry;
mod safe_url;
mod source;
mod waits;

pub use auth::Auth;
pub use end::ChainEnd;
pub use error::{FetchError, PageFailure};
pub use fetcher::{FetchOptions, Fetcher, OnError};
pub use keys::{Key, KeyRing, KeyStats, OnKeyError};
pub use limits::DEFAULT_MAX_RETRY_AFTER;
pub use limits::Rate;
pub use observer::{FetchObserver, NoObserver, RequestObservation};
pub use page::Page;
pub use paginate::{FetchSummary, Resume, Share, SkippedPage};
pub use probe::Probe;
pub use redact::Secrets;
pub use request::{ParamIn, RequestBody};
pub use retry::Backoff;
pub use safe_url::SafeUrl;
pub use source::{
    ChainedPagination, CursorFrom, NextPage, NumberedPagination, NumberedStyle, Pagination, Source,
    StopRule,
};
pub use waits::WaitSpans;
