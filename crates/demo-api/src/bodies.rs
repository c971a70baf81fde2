//! APIs that page in the request body: a GraphQL endpoint with connections (`edges`,
//! `nodes`, `pageInfo { hasNextPage endCursor }`, `totalCount`, and `page`/`perPage`
//! arguments too), and an Elasticsearch-style search with `search_after`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::shared::Shared;
use crate::view::View;

/// `POST /graphql` with `{"query": …, "variables": {"first", "after"} or {"page",
/// "perPage"}}`: `{"data": {"orders": {"totalCount", "pageInfo", "edges", "nodes"}}}`. Errors
/// come as GraphQL sends them: status 200 and an `errors` array (`first` over 100; a query
/// that mentions `rateLimited` is refused as GitHub refuses an exhausted budget).
pub(crate) async fn graphql(State(shared): State<Arc<Shared>>, body: String) -> Response {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    let request: Value = match serde_json::from_str(&body) {
        Ok(request) => request,
        Err(error) => return errors(&format!("the body is not JSON: {error}"), None),
    };
    if request["query"]
        .as_str()
        .is_some_and(|query| query.contains("rateLimited"))
    {
        return errors(
            "API rate limit exceeded for this token",
            Some("RATE_LIMITED"),
        );
    }
    let variables = &request["variables"];
    // Numbers, or strings of digits (a `{var}` filled into a string).
    let number = |key: &str| {
        let value = &variables[key];
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
    };
    let view = View::new(shared.dataset, &std::collections::HashMap::new());
    let (start, size) = match (number("page"), number("perPage")) {
        (Some(page), size) => {
            let size = size.unwrap_or(shared.config.default_page_size).max(1);
            (page.saturating_sub(1) * size, size)
        }
        (None, _) => {
            let first = number("first").unwrap_or(shared.config.default_page_size);
            if first > 100 {
                return errors("`first` may be at most 100", None);
            }
            let start = match variables["after"].as_str() {
                None => 0,
                Some(cursor) => match decode(cursor) {
                    Some(position) => position + 1,
                    None => return errors(&format!("`{cursor}` is not a cursor"), None),
                },
            };
            (start, first.max(1))
        }
    };
    let orders = view.slice(start, start + size);
    let end = start + orders.len() as u64;
    let edges: Vec<Value> = orders
        .iter()
        .enumerate()
        .map(|(offset, order)| json!({ "cursor": encode(start + offset as u64), "node": order }))
        .collect();
    let end_cursor = (end > start).then(|| encode(end - 1));
    axum::Json(json!({
        "data": { "orders": {
            "totalCount": view.len(),
            "pageInfo": { "hasNextPage": end < view.len(), "endCursor": end_cursor },
            "edges": edges,
            "nodes": orders,
        } }
    }))
    .into_response()
}

/// `POST /search` with `{"size": S, "search_after": [ID]}`: the orders after that id, as
/// Elasticsearch answers (`hits.total.value`, `hits.hits[]` with `_source` and `sort`).
pub(crate) async fn search(State(shared): State<Arc<Shared>>, body: String) -> Response {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let size = request["size"]
        .as_u64()
        .unwrap_or(shared.config.default_page_size)
        .clamp(1, shared.config.max_page_size.max(1));
    let view = View::new(shared.dataset, &std::collections::HashMap::new());
    let start = match request["search_after"][0].as_u64() {
        None => 0,
        Some(id) => view.after_id(id).unwrap_or(view.len()),
    };
    let hits: Vec<Value> = view
        .slice(start, start + size)
        .into_iter()
        .map(|order| json!({ "_id": order.id.to_string(), "sort": [order.id], "_source": order }))
        .collect();
    axum::Json(
        json!({ "hits": { "total": { "value": view.len(), "relation": "eq" }, "hits": hits } }),
    )
    .into_response()
}

fn errors(message: &str, kind: Option<&str>) -> Response {
    let mut error = json!({ "message": message });
    if let Some(kind) = kind {
        error["type"] = kind.into();
    }
    axum::Json(json!({ "data": null, "errors": [error] })).into_response()
}

fn encode(position: u64) -> String {
    format!("Y3Vyc29y{position:x}")
}

fn decode(cursor: &str) -> Option<u64> {
    u64::from_str_radix(cursor.strip_prefix("Y3Vyc29y")?, 16).ok()
}
