//! `[source.pagination]`: how the pages of the source are addressed and where they end.

use std::ops::Range;

use pagefold_fetch::{
    ChainedPagination, CursorFrom, NextPage, NumberedPagination, NumberedStyle, Pagination,
    StopRule,
};
use pagefold_json::Pointer;
use reqwest::header::HeaderName;
use serde::Deserialize;

use super::Problem;

/// `[source.pagination]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
    #[schemars(with = "Option<String>")]
    pub total_pages: Option<Pointer>,
    /// JSON Pointer to the record count in the first page.
    #[schemars(with = "Option<String>")]
    pub total_records: Option<Pointer>,
    /// Never request more pages than this.
    #[serde(default = "default_max_pages")]
    pub max_pages: u64,
    /// What ends the pages when no total is known.
    #[serde(default)]
    pub stop: StopSpec,
    /// `cursor`: JSON Pointer to the next cursor; `next_url`: to the next page's URL.
    #[schemars(with = "Option<String>")]
    pub next: Option<Pointer>,
    /// `cursor`: take the cursor from this field of the page's last record instead (Stripe's
    /// `starting_after`).
    #[schemars(with = "Option<String>")]
    pub next_from_last_record: Option<Pointer>,
    /// `cursor`: JSON Pointer to a boolean that says whether more pages follow.
    #[schemars(with = "Option<String>")]
    pub has_more: Option<Pointer>,
    /// Follow a next page on another origin than the job's `url`, without credentials or the
    /// job's headers, instead of refusing it.
    #[serde(default)]
    pub follow_other_origins: bool,
    /// `page`/`offset` with no total: statuses that, after a good page, mean "past the end"
    /// (default `[404]`; `[]` turns it off).
    pub end_on: Option<Vec<u16>>,
    /// `page`/`offset`: a response header with the number of records (`X-Total-Count`, or
    /// `Content-Range`, read after its `/`).
    pub total_records_header: Option<String>,
    /// `page`/`offset`: a response header with the number of pages (`X-Total-Pages`).
    pub total_pages_header: Option<String>,
    /// `next_url`: the next page's URL is in this response header instead of the body.
    pub next_header: Option<String>,
    /// `cursor`: the next cursor is in this response header instead of the body.
    pub cursor_header: Option<String>,
    /// Where the page number, offset or cursor goes: `"query"` (default) or `"body"` (then
    /// `param` and `size_param` are JSON Pointers into the request body).
    #[serde(default)]
    pub param_in: ParamInSpec,
}

/// `param_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamInSpec {
    /// The query string.
    #[default]
    Query,
    /// The JSON request body.
    Body,
}

fn default_max_pages() -> u64 {
    100_000
}

/// `kind`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PaginationKind {
    /// Page numbers.
    Page,
    /// Record offsets.
    Offset,
    /// One request.
    None,
    /// A cursor in each page, sent back as `param`.
    Cursor,
    /// The next page's URL in each page.
    NextUrl,
    /// RFC 8288 `Link: <…>; rel="next"` (GitHub).
    LinkHeader,
}

/// `stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
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
        use PaginationKind::{Cursor, LinkHeader, NextUrl, None as Single, Offset, Page};
        // Which kinds each optional key means something for.
        let keys: [(&str, bool, &[PaginationKind]); 15] = [
            ("param", self.param.is_some(), &[Page, Offset, Cursor]),
            ("start", self.start.is_some(), &[Page, Offset]),
            (
                "size_param",
                self.size_param.is_some(),
                &[Page, Offset, Cursor, NextUrl, LinkHeader],
            ),
            (
                "size",
                self.size.is_some(),
                &[Page, Offset, Cursor, NextUrl, LinkHeader],
            ),
            ("total_pages", self.total_pages.is_some(), &[Page, Offset]),
            (
                "total_records",
                self.total_records.is_some(),
                &[Page, Offset],
            ),
            ("stop", self.stop != StopSpec::EmptyPage, &[Page, Offset]),
            ("next", self.next.is_some(), &[Cursor, NextUrl]),
            (
                "next_from_last_record",
                self.next_from_last_record.is_some(),
                &[Cursor],
            ),
            ("has_more", self.has_more.is_some(), &[Cursor]),
            ("end_on", self.end_on.is_some(), &[Page, Offset]),
            (
                "total_records_header",
                self.total_records_header.is_some(),
                &[Page, Offset],
            ),
            (
                "total_pages_header",
                self.total_pages_header.is_some(),
                &[Page, Offset],
            ),
            ("next_header", self.next_header.is_some(), &[NextUrl]),
            ("cursor_header", self.cursor_header.is_some(), &[Cursor]),
        ];
        let meaningless: Vec<&str> = keys
            .iter()
            .filter(|(_, set, kinds)| *set && !kinds.contains(&self.kind))
            .map(|(key, _, _)| *key)
            .collect();
        if !meaningless.is_empty() {
            let kind = serde_json::to_value(self.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            problems.push(
                Problem::new(span.clone(), format!("`{}` has no meaning with kind = \"{kind}\"", meaningless.join("`, `")))
                    .hint("remove it, or choose the kind it belongs to (the README's table lists each kind's keys)"),
            );
        }
        if self.kind == Single {
            return;
        }
        if self.kind == Cursor {
            if self.param.is_none() {
                problems.push(
                    Problem::new(span.clone(), "kind = \"cursor\" needs `param`, the query parameter that carries the cursor")
                        .hint("e.g. param = \"cursor\" (or \"starting_after\" for Stripe)"),
                );
            }
            let sources = [
                self.next.is_some(),
                self.next_from_last_record.is_some(),
                self.cursor_header.is_some(),
            ];
            if sources.iter().filter(|set| **set).count() != 1 {
                problems.push(
                    Problem::new(span.clone(), "kind = \"cursor\" needs one of `next` (where the cursor is), `next_from_last_record` or `cursor_header`")
                        .hint("e.g. next = \"/meta/next_cursor\", or next_from_last_record = \"/id\" for Stripe, or cursor_header = \"X-Next-Cursor\""),
                );
            }
        }
        if self.kind == NextUrl && self.next.is_some() == self.next_header.is_some() {
            problems.push(Problem::new(
                span.clone(),
                "kind = \"next_url\" needs `next`, the JSON Pointer of the next page's URL (or `next_header`, the header that holds it)",
            ));
        }
        for (key, header) in [
            ("total_records_header", &self.total_records_header),
            ("total_pages_header", &self.total_pages_header),
            ("next_header", &self.next_header),
            ("cursor_header", &self.cursor_header),
        ] {
            if let Some(header) = header
                && HeaderName::from_bytes(header.as_bytes()).is_err()
            {
                problems.push(Problem::new(
                    span.clone(),
                    format!("`{key}`: `{header}` is not a valid HTTP header name"),
                ));
            }
        }
        if self.param_in == ParamInSpec::Body {
            for (key, value) in [("param", &self.param), ("size_param", &self.size_param)] {
                if let Some(value) = value
                    && !value.starts_with('/')
                {
                    problems.push(
                        Problem::new(
                            span.clone(),
                            format!("with param_in = \"body\", `{key}` is a JSON Pointer into the request body, not `{value}`"),
                        )
                        .hint(format!("e.g. {key} = \"/variables/{}\"", value.trim_start_matches('/'))),
                    );
                }
            }
        }
        if self.size == Some(0) {
            problems.push(Problem::new(span.clone(), "`size` must be at least 1"));
        }
        if self.size_param.is_some() && self.size.is_none() {
            problems.push(Problem::new(
                span.clone(),
                "`size_param` is set but `size` is not: set the page size to ask for",
            ));
        }
        if self.max_pages == 0 {
            problems.push(Problem::new(span.clone(), "`max_pages` must be at least 1"));
        }
        if self.param.as_deref() == Some("") || self.size_param.as_deref() == Some("") {
            problems.push(Problem::new(
                span.clone(),
                "query parameter names cannot be empty",
            ));
        }
    }

    /// The pagination the fetcher runs; `None` only when [`PaginationSpec::check`] has
    /// reported a problem.
    pub(crate) fn to_fetch(&self) -> Option<Pagination> {
        let chained = |next: NextPage| {
            Pagination::Chained(ChainedPagination {
                next,
                size_param: self.size_param.clone(),
                size: self.size,
                max_pages: self.max_pages,
            })
        };
        let style = match self.kind {
            PaginationKind::None => return Some(Pagination::None),
            PaginationKind::Cursor => {
                let from = match (&self.next, &self.next_from_last_record, &self.cursor_header) {
                    (Some(next), _, _) => CursorFrom::Field(next.clone()),
                    (None, Some(field), _) => CursorFrom::LastRecord(field.clone()),
                    (None, None, Some(header)) => {
                        CursorFrom::Header(HeaderName::from_bytes(header.as_bytes()).ok()?)
                    }
                    (None, None, None) => return None,
                };
                let param = self.param.clone().unwrap_or_else(|| "cursor".into());
                return Some(chained(NextPage::Cursor {
                    param,
                    from,
                    has_more: self.has_more.clone(),
                }));
            }
            PaginationKind::NextUrl => {
                return Some(chained(match (&self.next, &self.next_header) {
                    (Some(next), _) => NextPage::Url { next: next.clone() },
                    (None, Some(header)) => NextPage::UrlHeader {
                        header: HeaderName::from_bytes(header.as_bytes()).ok()?,
                    },
                    (None, None) => return None,
                }));
            }
            PaginationKind::LinkHeader => return Some(chained(NextPage::LinkHeader)),
            PaginationKind::Page => NumberedStyle::Page,
            PaginationKind::Offset => NumberedStyle::Offset,
        };
        let (default_param, default_start) = match style {
            NumberedStyle::Page => ("page", 1),
            NumberedStyle::Offset => ("offset", 0),
        };
        Some(Pagination::Numbered(NumberedPagination {
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
            end_on: self.end_on.clone().unwrap_or_else(|| vec![404]),
            total_records_header: header(&self.total_records_header)?,
            total_pages_header: header(&self.total_pages_header)?,
        }))
    }
}

/// A header name the check has accepted (`None` inside: none given; `None` outside: refused).
fn header(name: &Option<String>) -> Option<Option<HeaderName>> {
    match name {
        None => Some(None),
        Some(name) => HeaderName::from_bytes(name.as_bytes()).ok().map(Some),
    }
}
