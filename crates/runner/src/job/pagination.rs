//! `[source.pagination]`: how the pages of the source are addressed and where they end.

use std::ops::Range;

use pagefold_fetch::{NumberedPagination, NumberedStyle, Pagination, StopRule};
use pagefold_json::Pointer;
use serde::Deserialize;

use super::Problem;

/// `[source.pagination]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaginationSpec {
    /// `page`, `offset` or `none`.
    pub kind: PaginationKind,
    /// The query parameter of the page number or offset (default: `page` or `offset`).
    pub param: Option<String>,
    /// The first page number or offset (default 1 for `page`, 0 for `offset`).
    pub start: Option<u64>,
    /// The query parameter of the page size, sent as `size`.
    pub size_param: Option<String>,
    /// Records a page; the API may serve fewer, which is detected.
    pub size: Option<u64>,
    /// JSON Pointer to the page count in the first page.
    pub total_pages: Option<Pointer>,
    /// JSON Pointer to the record count in the first page.
    pub total_records: Option<Pointer>,
    /// Never request more pages than this.
    #[serde(default = "default_max_pages")]
    pub max_pages: u64,
    /// What ends the pages when no total is known.
    #[serde(default)]
    pub stop: StopSpec,
}

fn default_max_pages() -> u64 {
    100_000
}

/// `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaginationKind {
    /// Page numbers.
    Page,
    /// Record offsets.
    Offset,
    /// One request.
    None,
}

/// `stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopSpec {
    /// The first empty page ends the data.
    #[default]
    EmptyPage,
    /// A page shorter than a full one ends the data too.
    ShortPage,
}

impl PaginationSpec {
    pub(crate) fn check(&self, span: Range<usize>, problems: &mut Vec<Problem>) {
        let mut problem = |message: String| problems.push(Problem::new(span.clone(), message));
        if self.kind == PaginationKind::None {
            let set: Vec<&str> = [
                ("param", self.param.is_some()),
                ("start", self.start.is_some()),
                ("size_param", self.size_param.is_some()),
                ("size", self.size.is_some()),
                ("total_pages", self.total_pages.is_some()),
                ("total_records", self.total_records.is_some()),
            ]
            .into_iter()
            .filter_map(|(key, set)| set.then_some(key))
            .collect();
            if !set.is_empty() {
                problem(format!(
                    "`{}` has no meaning with kind = \"none\"; remove it or choose kind = \"page\" or \"offset\"",
                    set.join("`, `")
                ));
            }
            return;
        }
        if self.size == Some(0) {
            problem("`size` must be at least 1".into());
        }
        if self.size_param.is_some() && self.size.is_none() {
            problem("`size_param` is set but `size` is not: set the page size to ask for".into());
        }
        if self.max_pages == 0 {
            problem("`max_pages` must be at least 1".into());
        }
        if self.param.as_deref() == Some("") || self.size_param.as_deref() == Some("") {
            problem("query parameter names cannot be empty".into());
        }
    }

    /// The pagination the fetcher runs.
    pub fn to_fetch(&self) -> Pagination {
        let style = match self.kind {
            PaginationKind::None => return Pagination::None,
            PaginationKind::Page => NumberedStyle::Page,
            PaginationKind::Offset => NumberedStyle::Offset,
        };
        let (default_param, default_start) = match style {
            NumberedStyle::Page => ("page", 1),
            NumberedStyle::Offset => ("offset", 0),
        };
        Pagination::Numbered(NumberedPagination {
            style,
            param: self.param.clone().unwrap_or_else(|| default_param.into()),
            start: self.start.unwrap_or(default_start),
            size_param: self.size_param.clone(),
            size: self.size,
            total_pages: self.total_pages.clone(),
            total_records: self.total_records.clone(),
            max_pages: self.max_pages,
            stop: match self.stop {
                StopSpec::EmptyPage => StopRule::EmptyPage,
                StopSpec::ShortPage => StopRule::ShortPage,
            },
        })
    }
}
