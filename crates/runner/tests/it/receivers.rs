//! Loopback receivers of what pagefold sends out: a webhook receiver that refuses the first
//! attempts of every alert (503), or holds them until the test lets them go; and a
//! Pushgateway stand-in that keeps every push. Each records what arrived.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{post, put};
use serde_json::Value;
use tokio::sync::watch;

/// One request that arrived.
#[derive(Debug, Clone)]
pub struct Arrived {
    /// The path.
    pub path: String,
    /// Its `Idempotency-Key` (the same for every attempt of one alert).
    pub key: Option<String>,
    /// Its content type.
    pub content_type: Option<String>,
    /// The body.
    pub body: String,
    /// Whether it was taken (2xx) or refused.
    pub taken: bool,
}

impl Arrived {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.body))
    }
}

#[derive(Clone)]
struct Shared {
    refuse_first: u32,
    gate: watch::Receiver<bool>,
    arrived: Arc<Mutex<Vec<Arrived>>>,
}

/// See the module's documentation.
pub struct Receiver {
    addr: SocketAddr,
    gate: watch::Sender<bool>,
    arrived: Arc<Mutex<Vec<Arrived>>>,
    _runtime: tokio::runtime::Runtime,
}

async fn receive(
    State(shared): State<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut gate = shared.gate.clone();
    let _ = gate.wait_for(|open| *open).await;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let path = format!("/{path}");
    let key = header("idempotency-key").unwrap_or_else(|| path.clone());
    let mut arrived = shared.arrived.lock().unwrap();
    let attempts = arrived
        .iter()
        .filter(|seen| seen.key.as_deref().unwrap_or(&seen.path) == key)
        .count() as u32;
    let taken = attempts >= shared.refuse_first;
    arrived.push(Arrived {
        path,
        key: header("idempotency-key"),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
        taken,
    });
    if taken {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

impl Receiver {
    /// A receiver that answers 503 to the first `refuse_first` attempts of each alert (or
    /// push to one path), then 200; `open`: whether it answers at all before [`Self::open`].
    pub fn start(refuse_first: u32, open: bool) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (gate, receiver) = watch::channel(open);
        let arrived = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            refuse_first,
            gate: receiver,
            arrived: arrived.clone(),
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/{*path}", post(receive).merge(put(receive)))
            .with_state(shared);
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            gate,
            arrived,
            _runtime: runtime,
        }
    }

    /// The URL of `path` on it.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Lets held requests go, and answers the next ones at once.
    pub fn open(&self) {
        self.gate.send_replace(true);
    }

    /// Every request that arrived, in order.
    pub fn arrived(&self) -> Vec<Arrived> {
        self.arrived.lock().unwrap().clone()
    }

    /// The requests taken (2xx).
    pub fn taken(&self) -> Vec<Arrived> {
        self.arrived().into_iter().filter(|a| a.taken).collect()
    }

    /// Attempts that arrived for each key (alert or path).
    pub fn attempts(&self) -> BTreeMap<String, usize> {
        let mut attempts = BTreeMap::new();
        for arrived in self.arrived() {
            *attempts
                .entry(arrived.key.unwrap_or(arrived.path))
                .or_default() += 1;
        }
        attempts
    }
}
