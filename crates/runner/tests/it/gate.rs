//! A loopback API whose answers wait at a gate the test opens and closes: a run is held
//! "running" for exactly as long as a test needs, with no sleeps.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use tokio::sync::watch;

/// `GET /items`: `[{"id":1,"n":1},{"id":2,"n":2},{"id":3,"n":3}]`, once the gate is open.
pub struct GateServer {
    addr: SocketAddr,
    gate: watch::Sender<bool>,
    requests: Arc<AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct Shared {
    gate: watch::Receiver<bool>,
    requests: Arc<AtomicU64>,
}

async fn items(State(shared): State<Shared>) -> &'static str {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let mut gate = shared.gate.clone();
    let _ = gate.wait_for(|open| *open).await;
    r#"[{"id":1,"n":1},{"id":2,"n":2},{"id":3,"n":3}]"#
}

impl GateServer {
    /// A server with its gate `open` or closed.
    pub fn start(open: bool) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (gate, receiver) = watch::channel(open);
        let requests = Arc::new(AtomicU64::new(0));
        let shared = Shared {
            gate: receiver,
            requests: requests.clone(),
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/items", get(items)).with_state(shared);
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            gate,
            requests,
            _runtime: runtime,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/items", self.addr)
    }

    pub fn open(&self) {
        self.gate.send_replace(true);
    }

    /// Requests that arrived, answered or not.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}
