//! The pagination styles besides page numbers and offsets: cursors (in the body, or Stripe's
//! `starting_after` + `has_more`), a next URL in the body, and GitHub's `Link` header.

use std::collections::HashMap;

use axum::http::HeaderMap;
use serde_json::json;

use crate::shared::Shared;
use crate::view::{View, query_number};

/// How a route pages its orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `?page=N&per_page=S` or `?offset=O&limit=S`, `{"data": […], "meta": {…}}`.
    Pages,
    /// The same pages as a bare array.
    Bare,
    /// `?cursor=C&limit=S`, `{"data": […], "meta": {"next_cursor": C|null, "has_more": b}}`.
    Cursor,
    /// `?limit=S&starting_after=ID`, `{"object": "list", "data": […], "has_more": b}`.
    Stripe,
    /// `?page=N&per_page=S`, `{"data": […], "links": {"next": "/next/orders?…"|null}}`.
    NextUrl,
    /// `?page=N&per_page=S`, a bare array and `Link: <…>; rel="next", <…>; rel="last"`.
    Links,
}

/// The body and extra headers of a page in `style`, or a message for a 400.
pub(crate) fn page(
    shared: &Shared,
    query: &HashMap<String, String>,
    host: &str,
    style: Style,
) -> Result<(Vec<u8>, HeaderMap), String> {
    let config = &shared.config;
    let number = |key: &str| query_number(query, key);
    let size = number(if matches!(style, Style::NextUrl | Style::Links) {
        "per_page"
    } else {
        "limit"
    })?
    .unwrap_or(config.default_page_size)
    .clamp(1, config.max_page_size.max(1));
    let view = View::new(shared.dataset, query);
    let mut headers = HeaderMap::new();
    let body = match style {
        Style::Cursor => {
            let start = match query.get("cursor") {
                None => 0,
                Some(cursor) => decode(cursor)
                    .ok_or_else(|| format!("`{cursor}` is not a cursor of this API"))?,
            };
            let end = start + size;
            let more = end < view.len();
            let next = if !more {
                None
            } else if config.cursor_loop && start >= 2 * size {
                // A broken API: from the third page on, the cursor leads back to the first.
                Some(encode(0))
            } else {
                Some(encode(end))
            };
            json!({ "data": view.slice(start, end), "meta": { "next_cursor": next, "has_more": more } })
        }
        Style::Stripe => {
            let start = match number("starting_after")? {
                None => 0,
                Some(id) => view
                    .after_id(id)
                    .ok_or_else(|| format!("no order `{id}` to start after"))?,
            };
            let end = start + size;
            json!({ "object": "list", "url": "/stripe/orders", "data": view.slice(start, end), "has_more": end < view.len() })
        }
        Style::NextUrl | Style::Links => {
            let page = number("page")?.unwrap_or(1).max(1);
            let start = (page - 1) * size;
            let last = view.len().div_ceil(size).max(1);
            let link = |page: u64| {
                let mut pairs: Vec<(String, String)> = query
                    .iter()
                    .filter(|(k, _)| *k != "page" && *k != "per_page")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                pairs.sort();
                pairs.push(("page".into(), page.to_string()));
                pairs.push(("per_page".into(), size.to_string()));
                let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!(
                    "/{}/orders?{}",
                    if style == Style::Links {
                        "links"
                    } else {
                        "next"
                    },
                    query.join("&")
                )
            };
            if style == Style::Links {
                let mut links = Vec::new();
                if page < last {
                    links.push(format!("<http://{host}{}>; rel=\"next\"", link(page + 1)));
                }
                links.push(format!("<http://{host}{}>; rel=\"last\"", link(last)));
                headers.insert("link", links.join(", ").parse().expect("a valid header"));
                json!(view.slice(start, start + size))
            } else {
                let next = (page < last).then(|| link(page + 1));
                json!({ "data": view.slice(start, start + size), "links": { "next": next } })
            }
        }
        Style::Pages | Style::Bare => unreachable!("served by the page-number handler"),
    };
    Ok((serde_json::to_vec(&body).expect("pages serialize"), headers))
}

fn encode(offset: u64) -> String {
    format!("c{:x}", offset * 7 + 3)
}

fn decode(cursor: &str) -> Option<u64> {
    let value = u64::from_str_radix(cursor.strip_prefix('c')?, 16).ok()?;
    (value >= 3 && (value - 3) % 7 == 0).then(|| (value - 3) / 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_strangers() {
        assert_eq!(decode(&encode(150)), Some(150));
        assert_eq!(decode("c5"), None);
        assert_eq!(decode("page2"), None);
    }
}
