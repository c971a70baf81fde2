//! Recognising an API's pagination from its first page (and, where it helps, a second): a
//! `Link` header, a next URL or cursor in the body or a header, a `has_more` flag, page or
//! offset parameters, and where the total is.

use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

/// How pages follow each other, as the job file will say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Style {
    /// One request.
    Single,
    /// `Link: <…>; rel="next"`.
    LinkHeader,
    /// A next URL in the body, at this pointer.
    NextUrl(String),
    /// A next URL in this header.
    NextHeader(String),
    /// A cursor sent back as `param`.
    Cursor {
        /// The query parameter.
        param: String,
        /// Where the cursor is.
        at: CursorAt,
        /// A `has_more`-like flag, if any.
        has_more: Option<String>,
    },
    /// Page numbers in `param`, from `start`.
    Page {
        /// The parameter.
        param: String,
        /// The first page's number.
        start: u64,
    },
    /// Record offsets in `param`.
    Offset(String),
}

/// Where a cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CursorAt {
    /// At this pointer in the body.
    Field(String),
    /// In this field of the page's last record.
    LastRecord(String),
    /// In this header.
    Header(String),
}

/// Where a total is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TotalAt {
    /// At this pointer in the body.
    Field(String),
    /// In this header.
    Header(String),
}

/// What was recognised.
#[derive(Debug, Clone)]
pub(crate) struct Guess {
    pub(crate) style: Style,
    /// The page-size parameter and the size the first URL asked for.
    pub(crate) size: Option<(String, u64)>,
    pub(crate) total_records: Option<TotalAt>,
    pub(crate) total_pages: Option<TotalAt>,
    /// What is guessed or unsure, for the user.
    pub(crate) notes: Vec<String>,
}

const PAGE_PARAMS: [&str; 5] = ["page", "p", "pageNumber", "page_number", "_page"];
const OFFSET_PARAMS: [&str; 4] = ["offset", "skip", "start", "from"];
const SIZE_PARAMS: [&str; 9] = [
    "per_page",
    "page_size",
    "pageSize",
    "per-page",
    "limit",
    "size",
    "count",
    "_limit",
    "perPage",
];
const NEXT_URL_KEYS: [&str; 8] = [
    "next",
    "next_url",
    "nextUrl",
    "next_page_url",
    "nextPageUrl",
    "next_link",
    "nextLink",
    "@odata.nextLink",
];
const CURSOR_KEYS: [(&str, &str); 9] = [
    ("next_cursor", "cursor"),
    ("nextCursor", "cursor"),
    ("cursor", "cursor"),
    ("next_token", "next_token"),
    ("nextToken", "nextToken"),
    ("next_page_token", "page_token"),
    ("nextPageToken", "pageToken"),
    ("continuation", "continuation"),
    ("endCursor", "after"),
];
const MORE_KEYS: [&str; 6] = [
    "has_more",
    "hasMore",
    "has_next",
    "hasNext",
    "more",
    "hasNextPage",
];
const TOTAL_RECORD_KEYS: [&str; 11] = [
    "total",
    "total_count",
    "totalCount",
    "count",
    "total_records",
    "totalRecords",
    "total_results",
    "totalResults",
    "total_items",
    "totalItems",
    "total_entries",
];
const TOTAL_PAGE_KEYS: [&str; 7] = [
    "total_pages",
    "totalPages",
    "pages",
    "page_count",
    "pageCount",
    "last_page",
    "lastPage",
];
/// Objects where APIs put their paging fields, besides the top level.
const META_KEYS: [&str; 7] = [
    "meta",
    "links",
    "pagination",
    "paging",
    "_links",
    "_meta",
    "page",
];

/// Recognises the pagination of the page at `url`.
pub(crate) fn guess(url: &Url, headers: &HeaderMap, body: &Value, records: &str) -> Guess {
    let mut notes = Vec::new();
    let size = url.query_pairs().find_map(|(key, value)| {
        let key = SIZE_PARAMS.iter().find(|name| **name == key)?;
        Some(((*key).to_owned(), value.parse::<u64>().ok()?))
    });
    let (total_records, total_pages) = totals(headers, body, records);
    // The record count is the more precise: with it, the page count is not needed.
    let total_pages = total_pages.filter(|_| total_records.is_none());
    let style = style(url, headers, body, records, &mut notes);
    Guess {
        style,
        size,
        total_records,
        total_pages,
        notes,
    }
}

fn style(
    url: &Url,
    headers: &HeaderMap,
    body: &Value,
    records: &str,
    notes: &mut Vec<String>,
) -> Style {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("link").is_some_and(|link| link.contains("rel=\"next\"")) {
        return Style::LinkHeader;
    }
    if let Some(name) = headers
        .keys()
        .map(|name| name.as_str())
        .find(|name| name.contains("next") && (name.contains("url") || name.contains("link")))
    {
        let counted = header(name)
            .and_then(|next| url.join(next).ok())
            .and_then(|next| counted_param(url, &next));
        if let Some(param) = counted {
            notes.push(format!(
                "the `{}` header counts `{param}` up: pages are numbered, so they are \
                 requested side by side",
                canonical_header(name)
            ));
            return Style::Page { param, start: 1 };
        }
        return Style::NextHeader(canonical_header(name));
    }
    if let Some(name) = headers
        .keys()
        .map(|name| name.as_str())
        .find(|name| name.contains("next") && (name.contains("cursor") || name.contains("token")))
    {
        notes.push(format!(
            "the cursor of the `{}` header is sent back as `cursor`: check the name your API \
             expects",
            canonical_header(name)
        ));
        return Style::Cursor {
            param: "cursor".into(),
            at: CursorAt::Header(canonical_header(name)),
            has_more: None,
        };
    }
    if let Some(style) = numbered_in_url(url) {
        return style;
    }
    let places = places(body, records);
    for (prefix, object) in &places {
        for key in NEXT_URL_KEYS {
            let Some(next) = object.get(key).and_then(Value::as_str) else {
                continue;
            };
            let Ok(next_url) = url.join(next) else {
                continue;
            };
            // A next URL that only counts pages up is page-numbered: with a total, every
            // page can be requested at once.
            if let Some(param) = counted_param(url, &next_url) {
                notes.push(format!(
                    "the next URL (`{prefix}/{key}`) counts `{param}` up: pages are numbered, \
                     so they are requested side by side"
                ));
                return Style::Page { param, start: 1 };
            }
            return Style::NextUrl(format!("{prefix}/{}", escape(key)));
        }
    }
    for (prefix, object) in &places {
        let more = MORE_KEYS
            .iter()
            .find(|key| object.get(**key).is_some_and(Value::is_boolean))
            .map(|key| format!("{prefix}/{}", escape(key)));
        for (key, param) in CURSOR_KEYS {
            if object
                .get(key)
                .is_some_and(|v| v.is_string() || v.is_null())
            {
                notes.push(format!(
                    "the cursor at `{prefix}/{key}` is sent back as `{param}`: check the name \
                     your API expects"
                ));
                return Style::Cursor {
                    param: param.into(),
                    at: CursorAt::Field(format!("{prefix}/{}", escape(key))),
                    has_more: more,
                };
            }
        }
        if let Some(more) = more {
            notes.push(
                "a `has_more` flag and no cursor: each page continues after the last record's \
                 `id` (Stripe's `starting_after`); check the name your API expects"
                    .into(),
            );
            return Style::Cursor {
                param: "starting_after".into(),
                at: CursorAt::LastRecord("/id".into()),
                has_more: Some(more),
            };
        }
    }
    Style::Single
}

/// Page or offset parameters already in the URL.
fn numbered_in_url(url: &Url) -> Option<Style> {
    for (key, value) in url.query_pairs() {
        if let Some(param) = PAGE_PARAMS.iter().find(|name| **name == key) {
            let start = value.parse().unwrap_or(1);
            return Some(Style::Page {
                param: (*param).into(),
                start,
            });
        }
        if let Some(param) = OFFSET_PARAMS.iter().find(|name| **name == key) {
            return Some(Style::Offset((*param).into()));
        }
    }
    None
}

/// The parameter `next` counts up from `current` (`page=1` → `page=2`, or none → `page=2`).
fn counted_param(current: &Url, next: &Url) -> Option<String> {
    let now: Vec<(String, String)> = current.query_pairs().into_owned().collect();
    next.query_pairs().find_map(|(key, value)| {
        let value: u64 = value.parse().ok()?;
        let was = now
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(Some(1), |(_, v)| v.parse::<u64>().ok())?;
        (PAGE_PARAMS.contains(&key.as_ref()) && value == was + 1).then(|| key.into_owned())
    })
}

/// The top level and the objects where APIs keep paging fields, with their pointers; and the
/// object that holds the records (GraphQL's connection holds `pageInfo` beside `nodes`).
fn places<'a>(body: &'a Value, records: &str) -> Vec<(String, &'a serde_json::Map<String, Value>)> {
    let mut places = Vec::new();
    if let Some(object) = body.as_object() {
        places.push((String::new(), object));
        for key in META_KEYS {
            if let Some(inner) = object.get(key).and_then(Value::as_object) {
                places.push((format!("/{key}"), inner));
            }
        }
    }
    if let Some((parent, _)) = records.rsplit_once('/')
        && !parent.is_empty()
        && let Some(object) = body.pointer(parent).and_then(Value::as_object)
    {
        places.push((parent.to_owned(), object));
        if let Some(info) = object.get("pageInfo").and_then(Value::as_object) {
            places.push((format!("{parent}/pageInfo"), info));
        }
    }
    places
}

fn totals(headers: &HeaderMap, body: &Value, records: &str) -> (Option<TotalAt>, Option<TotalAt>) {
    let header = |names: &[&str]| {
        names.iter().find_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            let count = value.rsplit('/').next()?.trim();
            count.parse::<u64>().ok()?;
            Some(TotalAt::Header(canonical_header(name)))
        })
    };
    let in_body = |keys: &[&str]| {
        places(body, records)
            .into_iter()
            .find_map(|(prefix, object)| {
                keys.iter().find_map(|key| {
                    object
                        .get(*key)
                        .filter(|value| value.as_u64().is_some())
                        .map(|_| TotalAt::Field(format!("{prefix}/{}", escape(key))))
                })
            })
    };
    let records_total = in_body(&TOTAL_RECORD_KEYS)
        .or_else(|| header(&["x-total-count", "x-total", "content-range"]));
    let pages_total = in_body(&TOTAL_PAGE_KEYS).or_else(|| header(&["x-total-pages"]));
    (records_total, pages_total)
}

/// `x-next-page-url` as people write it: `X-Next-Page-Url`.
fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().collect::<String>() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A key as a JSON Pointer token.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_named_as_people_write_them() {
        assert_eq!(canonical_header("x-next-page-url"), "X-Next-Page-Url");
        assert_eq!(canonical_header("link"), "Link");
    }

    #[test]
    fn a_next_url_that_counts_pages_is_numbered() {
        let now: Url = "http://a/x?page_size=5".parse().unwrap();
        let next: Url = "http://a/x?page=2&page_size=5".parse().unwrap();
        assert_eq!(counted_param(&now, &next), Some("page".into()));
        let cursor: Url = "http://a/x?after=abc".parse().unwrap();
        assert_eq!(counted_param(&now, &cursor), None);
    }
}
