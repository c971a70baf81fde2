//! Shapes of real API frameworks that pagefold must express: Django REST Framework's page
//! numbers (`404 {"detail": "Invalid page."}` past the last page), and totals, next URLs and
//! cursors in response headers (json-server's `X-Total-Count`, GitLab's `X-Total-Pages`,
//! PostgREST's `Content-Range`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::shared::Shared;
use crate::view::{View, query_number};

/// `GET /drf/orders?page=N&page_size=S`: `{"count", "next", "previous", "results"}`, as
/// Django REST Framework's `PageNumberPagination` answers; a page past the last is a 404.
pub(crate) async fn drf(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    let (page, size) = match (
        query_number(&query, "page"),
        query_number(&query, "page_size"),
    ) {
        (Ok(page), Ok(size)) => (
            page.unwrap_or(1),
            size.unwrap_or(shared.config.default_page_size)
                .clamp(1, shared.config.max_page_size.max(1)),
        ),
        (Err(message), _) | (_, Err(message)) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "detail": message })),
            )
                .into_response();
        }
    };
    let view = View::new(shared.dataset, &query);
    let last = view.len().div_ceil(size).max(1);
    if page == 0 || page > last {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "detail": "Invalid page." })),
        )
            .into_response();
    }
    let host = host(&headers);
    let link = |page: u64| format!("http://{host}/drf/orders?page={page}&page_size={size}");
    let start = (page - 1) * size;
    axum::Json(json!({
        "count": view.len(),
        "next": (page < last).then(|| link(page + 1)),
        "previous": (page > 1).then(|| link(page - 1)),
        "results": view.slice(start, start + size),
    }))
    .into_response()
}

/// `GET /headers/orders?page=N&per_page=S` (or `?cursor=C`): a bare array, with the total in
/// `X-Total-Count`, `X-Total-Pages` and `Content-Range`, and the next page in
/// `X-Next-Page-Url` and `X-Next-Cursor` (absent on the last page). Past the last page, `[]`.
pub(crate) async fn in_headers(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    let number = |key: &str| query_number(&query, key).ok().flatten();
    let size = number("per_page")
        .unwrap_or(shared.config.default_page_size)
        .clamp(1, shared.config.max_page_size.max(1));
    let page = match query.get("cursor") {
        Some(cursor) => match cursor.strip_prefix("p").and_then(|n| n.parse::<u64>().ok()) {
            Some(page) => page,
            None => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("`{cursor}` is not a cursor"),
                )
                    .into_response();
            }
        },
        None => number("page").unwrap_or(1).max(1),
    };
    let view = View::new(shared.dataset, &query);
    let last = view.len().div_ceil(size).max(1);
    let start = (page - 1) * size;
    let orders = view.slice(start, start + size);
    let mut out = HeaderMap::new();
    let value = |text: String| HeaderValue::from_str(&text).expect("a valid header value");
    out.insert("x-total-count", value(view.len().to_string()));
    out.insert("x-total-pages", value(last.to_string()));
    let end = (start + orders.len() as u64).saturating_sub(1);
    out.insert(
        header::CONTENT_RANGE,
        value(format!("{start}-{end}/{}", view.len())),
    );
    if page < last {
        let host = host(&headers);
        out.insert(
            "x-next-page-url",
            value(format!(
                "http://{host}/headers/orders?page={}&per_page={size}",
                page + 1
            )),
        );
        out.insert("x-next-cursor", value(format!("p{}", page + 1)));
    }
    (out, axum::Json(orders)).into_response()
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned()
}
