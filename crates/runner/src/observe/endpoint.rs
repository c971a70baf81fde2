//! `GET /metrics`: the metrics in Prometheus's text format, for `pagefold schedule --metrics
//! ADDR`, served by axum on the scheduler's runtime. Every scrape renders the registry as it is
//! then: nothing is cached, so the values are the scheduler's own, to the moment.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use super::error::ObserveError;
use super::metrics::Metrics;

/// The content type of the text format, version 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Listens on `addr` (port 0: any free port; the listener tells which).
///
/// # Errors
///
/// When the address cannot be bound (taken, not this machine's, not allowed).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ObserveError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ObserveError::Listen { addr, source })
}

/// Serves `/metrics` from `metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .route(
            "/",
            get(|| async { "pagefold: the metrics are at /metrics\n" }),
        )
        .with_state(metrics);
    if let Err(error) = axum::serve(listener, app).await {
        crate::terminal::warn(&format!("the metrics endpoint stopped: {error}"));
    }
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(CONTENT_TYPE, CONTENT_TYPE_TEXT)], metrics.render())
}
