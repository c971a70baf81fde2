//! How a chain ended: the evidence that its data was all there, or why it may not be.

use std::fmt;

/// What ended a chain. Each says where, so that a result can prove what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainEnd {
    /// One request, no pagination.
    Single,
    /// The total the API reported was reached.
    TotalReached {
        /// Pages the total made.
        pages: u64,
    },
    /// The first empty page (its number, from 1).
    EmptyPage {
        /// The empty page's number.
        page: u64,
    },
    /// A page shorter than a full one, with `stop = "short_page"`.
    ShortPage {
        /// The short page's number.
        page: u64,
    },
    /// A page that repeated the one before it.
    RepeatedPage {
        /// The repeating page's number.
        page: u64,
    },
    /// A status the job takes as "past the end" (`end_on`), after good pages.
    Status {
        /// The status.
        status: u16,
        /// Pages before it.
        after: u64,
    },
    /// The last page named no next page (no next URL, `Link`, or cursor).
    NoNext {
        /// Pages fetched.
        pages: u64,
    },
    /// `max_pages` stopped the chain before the end of the data.
    MaxPages {
        /// The cap.
        max: u64,
    },
    /// Too many pages in a row failed (with `on_error = "skip"`).
    FailedPages {
        /// How many.
        pages: u64,
    },
}

impl ChainEnd {
    /// Whether the chain may have stopped before the end of the data.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Self::MaxPages { .. } | Self::FailedPages { .. })
    }
}

impl fmt::Display for ChainEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Single => write!(f, "one request"),
            Self::TotalReached { pages } => write!(f, "the reported total reached ({pages} pages)"),
            Self::EmptyPage { page } => write!(f, "first empty page (page {page})"),
            Self::ShortPage { page } => write!(f, "short page (page {page})"),
            Self::RepeatedPage { page } => write!(f, "page {page} repeated the one before it"),
            Self::Status { status, after } => write!(f, "HTTP {status} past page {after}"),
            Self::NoNext { pages } => write!(f, "no next page named after page {pages}"),
            Self::MaxPages { max } => write!(f, "`max_pages` = {max} reached"),
            Self::FailedPages { pages } => write!(f, "{pages} pages in a row failed"),
        }
    }
}
