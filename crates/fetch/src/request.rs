//! What is sent for one page: its URL and, for APIs that page in the request body (GraphQL,
//! search APIs), its body, with the page number, offset or cursor put where the job says.

use bytes::Bytes;
use http::header::HeaderName;
use url::Url;

use crate::{NextPage, NumberedPagination, Pagination, Source};

/// Where the pagination's parameters go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamIn {
    /// In the query string, by name (the default).
    #[default]
    Query,
    /// In the JSON request body, at a JSON Pointer (`/variables/after`).
    Body,
}

/// A request body sent with every page.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody {
    /// JSON (`Content-Type: application/json`); pagination parameters can be put into it.
    Json(serde_json::Value),
    /// Text, sent as it is.
    Text(String),
}

/// A pagination parameter's value.
#[derive(Debug, Clone)]
pub(crate) enum Paging {
    /// A page number, an offset or a size: a number in a body, digits in a query.
    Number(u64),
    /// A cursor as the API gave it: a string, or JSON text (an array for `search_after`).
    Cursor(String),
}

impl Paging {
    fn as_query(&self) -> String {
        match self {
            Self::Number(number) => number.to_string(),
            Self::Cursor(cursor) => cursor.clone(),
        }
    }

    fn as_json(&self) -> serde_json::Value {
        match self {
            Self::Number(number) => serde_json::Value::from(*number),
            // An array or object cursor goes in as JSON; anything else as the string it is.
            Self::Cursor(cursor) if cursor.starts_with(['[', '{']) => {
                serde_json::from_str(cursor).unwrap_or_else(|_| cursor.clone().into())
            }
            Self::Cursor(cursor) => cursor.clone().into(),
        }
    }
}

/// One page's request.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) url: Url,
    pub(crate) body: Option<Bytes>,
}

impl Source {
    /// The request for a page with these pagination parameters (by name, or by JSON Pointer
    /// into the body when [`Source::param_in`] is [`ParamIn::Body`]).
    pub(crate) fn target(&self, paging: &[(&str, Paging)]) -> Target {
        match self.param_in {
            ParamIn::Query => {
                let paging: Vec<(&str, String)> = paging
                    .iter()
                    .map(|(name, value)| (*name, value.as_query()))
                    .collect();
                Target {
                    url: with_query(&self.url, &self.query, &paging),
                    body: self.body_bytes(&[]),
                }
            }
            ParamIn::Body => Target {
                url: with_query(&self.url, &self.query, &[]),
                body: self.body_bytes(paging),
            },
        }
    }

    /// The request for a page at `url`, as a next link names it: the body as it is.
    pub(crate) fn target_at(&self, url: Url) -> Target {
        Target {
            url,
            body: self.body_bytes(&[]),
        }
    }

    /// The body with `paging` set at its pointers (missing objects on the way are made).
    fn body_bytes(&self, paging: &[(&str, Paging)]) -> Option<Bytes> {
        match self.body.as_ref()? {
            RequestBody::Text(text) => Some(Bytes::from(text.clone())),
            RequestBody::Json(json) => {
                let mut json = json.clone();
                for (pointer, value) in paging {
                    set_at(&mut json, pointer, value.as_json());
                }
                Some(Bytes::from(json.to_string()))
            }
        }
    }

    /// The URL of the first request.
    pub fn first_url(&self) -> Url {
        self.first_target().url
    }

    /// The body of the first request, if the API takes one.
    pub fn first_body(&self) -> Option<Bytes> {
        self.first_target().body
    }

    /// The first request: no cursor, the first page number or offset.
    pub(crate) fn first_target(&self) -> Target {
        match &self.pagination {
            Pagination::None => self.target(&[]),
            Pagination::Numbered(numbered) => numbered_target(self, numbered, 0, numbered.size),
            Pagination::Chained(chained) => {
                let paging: Vec<(&str, Paging)> = match (&chained.size_param, chained.size) {
                    (Some(param), Some(size)) => vec![(param.as_str(), Paging::Number(size))],
                    _ => Vec::new(),
                };
                self.target(&paging)
            }
        }
    }

    /// The response headers the pagination reads (totals, a next URL or cursor).
    pub(crate) fn meta_headers(&self) -> MetaHeaders {
        let mut wanted = MetaHeaders::default();
        match &self.pagination {
            Pagination::Numbered(numbered) => {
                wanted.total_records = numbered.total_records_header.clone();
                wanted.total_pages = numbered.total_pages_header.clone();
            }
            Pagination::Chained(chained) => match &chained.next {
                NextPage::UrlHeader { header } => wanted.next = Some(header.clone()),
                NextPage::Cursor {
                    from: crate::CursorFrom::Header(header),
                    ..
                } => wanted.next = Some(header.clone()),
                _ => {}
            },
            Pagination::None => {}
        }
        wanted
    }
}

/// Where GraphQL reports errors.
static GRAPHQL_ERRORS: std::sync::LazyLock<pagefold_json::Pointer> =
    std::sync::LazyLock::new(|| "/errors".parse().expect("`/errors` is a JSON Pointer"));

impl Source {
    /// Where a `200` reports errors, when the API is GraphQL.
    pub(crate) fn errors_pointer(&self) -> Option<&'static pagefold_json::Pointer> {
        self.graphql_errors.then(|| &*GRAPHQL_ERRORS)
    }
}

/// The response headers a page's pagination reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetaHeaders {
    pub(crate) total_records: Option<HeaderName>,
    pub(crate) total_pages: Option<HeaderName>,
    pub(crate) next: Option<HeaderName>,
}

/// What those headers said.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderMeta {
    pub(crate) link: Option<String>,
    pub(crate) total_records: Option<u64>,
    pub(crate) total_pages: Option<u64>,
    pub(crate) next: Option<String>,
}

impl MetaHeaders {
    /// Reads the wanted headers (and `Link`) of a response.
    pub(crate) fn read(&self, headers: &http::header::HeaderMap) -> HeaderMeta {
        let text = |name: &HeaderName| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        HeaderMeta {
            link: text(&http::header::LINK),
            total_records: self
                .total_records
                .as_ref()
                .and_then(text)
                .and_then(|v| count(&v)),
            total_pages: self
                .total_pages
                .as_ref()
                .and_then(text)
                .and_then(|v| count(&v)),
            next: self.next.as_ref().and_then(text),
        }
    }
}

/// A count in a header: a number (`X-Total-Count: 12000`), or the size after the `/` of a
/// `Content-Range` (`0-49/12000`; `*` when unknown).
fn count(value: &str) -> Option<u64> {
    match value.rsplit_once('/') {
        Some((_, total)) => total.trim().parse().ok(),
        None => value.parse().ok(),
    }
}

/// Sets `value` at `pointer` in `json`, making the objects on the way.
fn set_at(json: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    let mut here = json;
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, path)) = tokens.split_last() else {
        *here = value;
        return;
    };
    for token in path {
        if !here.is_object() {
            *here = serde_json::Value::Object(Default::default());
        }
        here = here
            .as_object_mut()
            .expect("made an object just above")
            .entry(token.clone())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    if !here.is_object() {
        *here = serde_json::Value::Object(Default::default());
    }
    here.as_object_mut()
        .expect("made an object just above")
        .insert(last.clone(), value);
}

/// The request of the page at `position` (a page number offset or a record offset from
/// `start`).
pub(crate) fn numbered_target(
    source: &Source,
    numbered: &NumberedPagination,
    position: u64,
    size: Option<u64>,
) -> Target {
    let mut paging = vec![(
        numbered.param.as_str(),
        Paging::Number(numbered.start + position),
    )];
    if let (Some(param), Some(size)) = (&numbered.size_param, size) {
        paging.push((param.as_str(), Paging::Number(size)));
    }
    source.target(&paging)
}

/// `base` with `query` and then `paging` set, each replacing a parameter of the same name.
pub(crate) fn with_query(base: &Url, query: &[(String, String)], paging: &[(&str, String)]) -> Url {
    let mut url = base.clone();
    let replaced =
        |key: &str| query.iter().any(|(k, _)| k == key) || paging.iter().any(|(k, _)| *k == key);
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(key, _)| !replaced(key))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() && query.is_empty() && paging.is_empty() {
        return url;
    }
    let mut pairs = url.query_pairs_mut();
    pairs.clear();
    for (key, value) in kept.iter().chain(query) {
        pairs.append_pair(key, value);
    }
    for (key, value) in paging {
        pairs.append_pair(key, value);
    }
    drop(pairs);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_numbers_and_content_ranges() {
        assert_eq!(count("12000"), Some(12000));
        assert_eq!(count("0-49/12000"), Some(12000));
        assert_eq!(count("items 0-49/12000"), Some(12000));
        assert_eq!(count("0-49/*"), None);
    }

    #[test]
    fn paging_goes_into_the_body_at_its_pointer() {
        let mut json = serde_json::json!({ "query": "q", "variables": { "first": 10 } });
        set_at(
            &mut json,
            "/variables/after",
            Paging::Cursor("abc".into()).as_json(),
        );
        set_at(
            &mut json,
            "/search_after",
            Paging::Cursor("[3,\"x\"]".into()).as_json(),
        );
        set_at(&mut json, "/from", Paging::Number(40).as_json());
        assert_eq!(
            json,
            serde_json::json!({
                "query": "q",
                "variables": { "first": 10, "after": "abc" },
                "search_after": [3, "x"],
                "from": 40
            })
        );
    }

    #[test]
    fn paging_parameters_replace_those_in_the_url() {
        let base: Url = "http://api/x?page=9&keep=1".parse().unwrap();
        let url = with_query(
            &base,
            &[("status".into(), "open".into())],
            &[("page", "3".into())],
        );
        assert_eq!(url.as_str(), "http://api/x?keep=1&status=open&page=3");
    }
}
