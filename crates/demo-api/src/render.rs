//! Page bodies: the orders of a page and its `meta`, rendered as JSON (once at start when the
//! server pre-renders).

use std::collections::HashMap;

use axum::body::Bytes;
use serde::Serialize;

use crate::Order;
use crate::shared::Shared;
use crate::view::View;

pub(crate) fn prerender(shared: &Shared) -> Vec<Bytes> {
    let config = &shared.config;
    let size = config.default_page_size.min(config.max_page_size).max(1);
    (1..=config.records.div_ceil(size))
        .map(|page| {
            let mut meta = Meta {
                page: Some(page),
                per_page: Some(size),
                ..Meta::default()
            };
            if config.totals {
                meta.total = Some(config.records);
                meta.total_pages = Some(config.records.div_ceil(size));
            }
            let view = View::new(shared.dataset, &HashMap::new());
            Bytes::from(render(shared, &view, (page - 1) * size, size, meta, false))
        })
        .collect()
}

#[derive(Serialize)]
pub(crate) struct PageBody<'a> {
    data: &'a [Order],
    meta: Meta,
}

#[derive(Serialize, Default)]
pub(crate) struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) per_page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) total_pages: Option<u64>,
}

/// The body of the page of `size` orders from `start`.
pub(crate) fn render(
    shared: &Shared,
    view: &View,
    start: u64,
    size: u64,
    meta: Meta,
    bare: bool,
) -> Vec<u8> {
    let config = &shared.config;
    let mut start = start;
    if config.repeat_last_page && start >= view.len() && view.len() > 0 && size > 0 {
        start = (view.len() - 1) / size * size;
    }
    let orders: Vec<Order> = view.slice(start, start.saturating_add(size));
    if bare {
        serde_json::to_vec(&orders)
    } else {
        serde_json::to_vec(&PageBody {
            data: &orders,
            meta,
        })
    }
    .expect("orders serialize")
}
