//! The HTTP side of the demo API.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::faults::{Fault, broken_body, refusal};
use crate::render::{Meta, prerender, render};
use crate::shared::Shared;
use crate::styles::{self, Style};
use crate::view::{View, query_number};
use crate::{Dataset, DemoConfig, Stats};

/// The demo API's routes:
///
/// * `GET /orders?page=N&per_page=S` (pages from 1) or `GET /orders?offset=O&limit=S` (offsets
///   from 0): `{"data": [...], "meta": {...}}`, with `total` and `total_pages` in `meta` when
///   totals are on;
/// * `GET /orders/bare?…`: the same pages as a bare JSON array;
/// * `GET /cursor/orders?cursor=C&limit=S`: cursors in `meta.next_cursor`, `meta.has_more`;
/// * `GET /stripe/orders?limit=S&starting_after=ID`: Stripe's list shape and `has_more`;
/// * `GET /next/orders?page=N&per_page=S`: the next page's URL in `links.next`;
/// * `GET /links/orders?page=N&per_page=S`: a bare array and GitHub's `Link` header;
/// * `GET /redirect?to=URL`: a 302 to `URL`;
/// * `GET /drf/orders?page=N&page_size=S`: Django REST Framework's shape, 404 past the end;
/// * `GET /headers/orders?page=N&per_page=S` or `?cursor=C`: totals, next URL and cursor in
///   headers (`X-Total-Count`, `X-Total-Pages`, `Content-Range`, `X-Next-Page-Url`,
///   `X-Next-Cursor`);
/// * `POST /graphql`: GraphQL connections (`first`/`after` or `page`/`perPage`);
/// * `POST /search`: Elasticsearch-style `search_after`;
/// * `GET /customers?page=N&per_page=S`: the customers, for parent → child jobs;
/// * every orders route takes `status`, `customer`, `since` and `until` (dates) and
///   `updated_since` (an RFC 3339 time, inclusive) filters;
/// * `GET /_stats`: `{"requests": n, "peak_in_flight": n, "body_bytes": n}` so far.
pub fn router(config: DemoConfig, stats: Arc<Stats>) -> Router {
    let dataset = Dataset {
        len: config.records,
        seed: config.seed,
    };
    let config_capacity = config.capacity;
    let mut shared = Shared {
        config,
        dataset,
        stats,
        attempts: Mutex::default(),
        rendered: Vec::new(),
        window: Mutex::new((Instant::now(), 0)),
        token_windows: Mutex::default(),
        turns: config_capacity.map(|capacity| tokio::sync::Semaphore::new(capacity.max(1))),
    };
    if shared.config.prerender {
        shared.rendered = prerender(&shared);
    }
    let logged = shared.config.log_requests.then(|| shared.stats.clone());
    let shared = Arc::new(shared);
    let router = Router::new()
        .route("/orders", get(|s, q, h| orders(s, q, h, Style::Pages)))
        .route("/orders/bare", get(|s, q, h| orders(s, q, h, Style::Bare)))
        .route(
            "/cursor/orders",
            get(|s, q, h| orders(s, q, h, Style::Cursor)),
        )
        .route(
            "/stripe/orders",
            get(|s, q, h| orders(s, q, h, Style::Stripe)),
        )
        .route(
            "/next/orders",
            get(|s, q, h| orders(s, q, h, Style::NextUrl)),
        )
        .route(
            "/links/orders",
            get(|s, q, h| orders(s, q, h, Style::Links)),
        )
        .route("/redirect", get(redirect))
        .route("/drf/orders", get(crate::shapes::drf))
        .route("/headers/orders", get(crate::shapes::in_headers))
        .route("/graphql", axum::routing::post(crate::bodies::graphql))
        .route("/search", axum::routing::post(crate::bodies::search))
        .route("/customers", get(customers))
        .route("/_stats", get(served_stats))
        .with_state(shared);
    match logged {
        Some(stats) => router.layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let stats = stats.clone();
                async move {
                    let target = request
                        .uri()
                        .path_and_query()
                        .map_or_else(String::new, ToString::to_string);
                    stats
                        .log
                        .lock()
                        .expect("no panics while locked")
                        .push(target);
                    next.run(request).await
                }
            },
        )),
        None => router,
    }
}

/// Serves the demo API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    config: DemoConfig,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router(config, stats))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn served_stats(State(shared): State<Arc<Shared>>) -> Response {
    let stats = &shared.stats;
    axum::Json(serde_json::json!({
        "requests": stats.requests(),
        "peak_in_flight": stats.peak_in_flight(),
        "body_bytes": stats.body_bytes(),
    }))
    .into_response()
}

async fn orders(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    style: Style,
) -> Response {
    respond(&shared, &query, &headers, style).await
}

/// `GET /redirect?to=URL`: 302 to `URL`, for testing where credentials go.
async fn redirect(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    count_credentials(&shared, &headers);
    match query.get("to") {
        Some(to) => (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response(),
        None => bad_request("`to` is missing"),
    }
}

/// `GET /customers?page=N&per_page=S`: the 500 customers orders name, page-numbered, for
/// parent → child jobs (each customer → `/orders?customer=ID`).
async fn customers(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    let number = |key: &str, default: u64| {
        query
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let (page, size) = (
        number("page", 1).max(1),
        number("per_page", 20).clamp(1, 100),
    );
    let all = crate::dataset::CUSTOMERS;
    let start = ((page - 1) * size).min(all);
    let data: Vec<serde_json::Value> = (start..(start + size).min(all))
        .map(|n| {
            let region = ["north", "south", "east", "west"][(n % 4) as usize];
            serde_json::json!({ "id": format!("cust-{n:03}"), "region": region })
        })
        .collect();
    axum::Json(serde_json::json!({ "data": data, "meta": { "total": all } })).into_response()
}

fn count_credentials(shared: &Shared, headers: &HeaderMap) {
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key") {
        shared.stats.credentialed.fetch_add(1, Ordering::Relaxed);
    }
}

async fn respond(
    shared: &Shared,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    style: Style,
) -> Response {
    let stats = &shared.stats;
    count_credentials(shared, headers);
    stats.requests.fetch_add(1, Ordering::Relaxed);
    stats
        .arrivals
        .lock()
        .expect("no panics while locked")
        .push(Instant::now());
    let now = stats.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    stats.peak_in_flight.fetch_max(now, Ordering::Relaxed);
    // With `capacity`, the latency is served in turns: a request waits for those ahead.
    let turn = match &shared.turns {
        Some(turns) => Some(
            turns
                .acquire()
                .await
                .expect("the semaphore is never closed"),
        ),
        None => None,
    };
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    drop(turn);
    if let Some(auth) = &shared.config.auth
        && !auth.allows(headers, query)
    {
        stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "error": "bad credentials" })),
        )
            .into_response();
    }
    if let Err(refused) = shared.token_budget(headers) {
        stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        return *refused;
    }
    let limit_headers = match shared.window_headers() {
        Ok(headers) => headers,
        Err(refused) => {
            stats.throttled.fetch_add(1, Ordering::Relaxed);
            stats.in_flight.fetch_sub(1, Ordering::Relaxed);
            return *refused;
        }
    };
    let fault = shared.next_fault(query);
    if let Some(Fault::Stall(stall)) = &fault {
        tokio::time::sleep(*stall).await;
    }
    let response = match fault.as_ref().and_then(refusal) {
        Some(refused) => refused,
        None => match page(shared, query, headers, style) {
            Err(refused) => *refused,
            Ok((body, style_headers)) => {
                stats
                    .body_bytes
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                let broken = fault
                    .as_ref()
                    .and_then(|fault| broken_body(fault, body.clone()));
                let mut response = broken.unwrap_or_else(|| {
                    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
                });
                response.headers_mut().extend(style_headers);
                response
            }
        },
    };
    stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    let mut response = response;
    response.headers_mut().extend(limit_headers);
    response
}

/// The page a query asks for (with any headers its style adds), or the response that
/// refuses it.
fn page(
    shared: &Shared,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    style: Style,
) -> Result<(Bytes, HeaderMap), Box<Response>> {
    if !matches!(style, Style::Pages | Style::Bare) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        return styles::page(shared, query, host, style)
            .map(|(body, headers)| (body.into(), headers))
            .map_err(|message| Box::new(bad_request(&message)));
    }
    let bare = style == Style::Bare;
    let config = &shared.config;
    let view = View::new(shared.dataset, query);
    let number = |key: &str| query_number(query, key);
    let parsed = (|| {
        Ok::<_, String>((
            number("page")?,
            number("per_page")?,
            number("offset")?,
            number("limit")?,
        ))
    })();
    let (page, per_page, offset, limit) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return Err(Box::new(bad_request(&message))),
    };
    let mut meta = Meta::default();
    let (start, size) = match offset {
        Some(offset) => {
            let size = limit
                .unwrap_or(config.default_page_size)
                .min(config.max_page_size);
            meta.offset = Some(offset);
            meta.limit = Some(size);
            (offset, size)
        }
        None => {
            let page = page.unwrap_or(1);
            if page == 0 {
                return Err(Box::new(bad_request("`page` counts from 1")));
            }
            let size = per_page
                .unwrap_or(config.default_page_size)
                .min(config.max_page_size);
            meta.page = Some(page);
            meta.per_page = Some(size);
            ((page - 1).saturating_mul(size), size)
        }
    };
    if config.totals {
        meta.total = Some(view.len());
        meta.total_pages = Some(view.len().div_ceil(size.max(1)));
    }
    let filtered = ["status", "customer", "since", "until", "updated_since"]
        .iter()
        .any(|key| query.contains_key(*key));
    if !bare
        && !filtered
        && offset.is_none()
        && let Some(page) = page
        && size == config.default_page_size
        && let Some(body) = shared.rendered.get((page as usize).wrapping_sub(1))
    {
        return Ok((body.clone(), HeaderMap::new()));
    }
    Ok((
        render(shared, &view, start, size, meta, bare).into(),
        HeaderMap::new(),
    ))
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

/// The demo API running on a loopback port in a thread of its own, until dropped.
pub struct DemoServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl DemoServer {
    /// Starts the API on `127.0.0.1`, on a port the system picks.
    ///
    /// # Errors
    ///
    /// When no port can be bound or no runtime can be started.
    pub fn start(config: DemoConfig) -> io::Result<Self> {
        Self::start_on(([127, 0, 0, 1], 0).into(), config)
    }

    /// Starts the API on `addr` (port 0: the system picks one).
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound or no runtime can be started.
    pub fn start_on(addr: SocketAddr, config: DemoConfig) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let (shutdown, stop) = oneshot::channel::<()>();
        let served = stats.clone();
        let thread = std::thread::Builder::new()
            .name("demo-api".into())
            .spawn(move || {
                // Stopping drops open connections instead of waiting for them: a test must
                // not wait out a response the API was told to stall.
                let stopped = runtime.block_on(async move {
                    tokio::select! {
                        served = serve(listener, config, served, std::future::pending()) => served,
                        _ = stop => Ok(()),
                    }
                });
                runtime.shutdown_background();
                stopped
            })?;
        Ok(Self {
            addr,
            stats,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address the API listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` followed by `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// What the server has seen so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
