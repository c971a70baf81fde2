//! The benchmark's floor: the least a client can do to fetch the same pages as pagefold.
//!
//! `floor URL PAGES PER_PAGE read|validate` asks for `URL/orders?page=N&per_page=PER_PAGE`
//! for every `N` in `1..=PAGES`, 64 requests in flight over plain hyper (one pooled HTTP/1.1
//! connection a request in flight, kept alive), on a single-threaded runtime: no retries, no
//! pagination logic, no records. `read` only reads each body to its end; `validate` also
//! parses it with serde_json into `IgnoredAny`, which checks every byte of the JSON and keeps
//! nothing. What the two cost is what HTTP alone, and HTTP with JSON, cost on this machine:
//! the benchmark reads pagefold's CPU time as a ratio to them.
//!
//! Prints `{"pages": N, "bytes": N}` on stdout; any status but 200, a broken body or invalid
//! JSON is an error (exit code 1).

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Requests in flight, as pagefold's `[fetch] concurrency` in the same scenario.
const IN_FLIGHT: usize = 64;

type Failure = Box<dyn Error + Send + Sync>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Read,
    Validate,
}

struct Plan {
    base: String,
    pages: u64,
    per_page: u64,
    mode: Mode,
}

fn main() {
    let outcome = plan().and_then(|plan| {
        // One thread: the cheapest way to keep 64 requests in flight, so the floor is a floor.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(fetch_all(plan))
    });
    match outcome {
        Ok((pages, bytes)) => println!("{{\"pages\": {pages}, \"bytes\": {bytes}}}"),
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    }
}

fn plan() -> Result<Plan, Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, pages, per_page, mode] = args.as_slice() else {
        return Err("usage: floor URL PAGES PER_PAGE read|validate".into());
    };
    let mode = match mode.as_str() {
        "read" => Mode::Read,
        "validate" => Mode::Validate,
        other => return Err(format!("`{other}` is not a mode: `read` or `validate`").into()),
    };
    Ok(Plan {
        base: base.trim_end_matches('/').to_owned(),
        pages: pages.parse()?,
        per_page: per_page.parse()?,
        mode,
    })
}

/// Fetches every page with `IN_FLIGHT` workers that take the next page number as they free
/// up: the pages served and their body bytes.
async fn fetch_all(plan: Plan) -> Result<(u64, u64), Failure> {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(IN_FLIGHT)
        .build_http();
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicU64::new(1));
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (client, plan, next) = (client.clone(), plan.clone(), next.clone());
            tokio::spawn(async move {
                let (mut pages, mut bytes) = (0u64, 0u64);
                loop {
                    let page = next.fetch_add(1, Ordering::Relaxed);
                    if page > plan.pages {
                        return Ok::<_, Failure>((pages, bytes));
                    }
                    let uri = format!(
                        "{}/orders?page={page}&per_page={}",
                        plan.base, plan.per_page
                    );
                    let response = client.get(uri.parse()?).await?;
                    if response.status() != hyper::StatusCode::OK {
                        return Err(format!("page {page}: HTTP {}", response.status()).into());
                    }
                    let body = response.into_body().collect().await?.to_bytes();
                    if plan.mode == Mode::Validate {
                        serde_json::from_slice::<serde::de::IgnoredAny>(&body)
                            .map_err(|error| format!("page {page}: {error}"))?;
                    }
                    pages += 1;
                    bytes += body.len() as u64;
                }
            })
        })
        .collect();
    let (mut pages, mut bytes) = (0, 0);
    for worker in workers {
        let (worker_pages, worker_bytes) = worker.await??;
        pages += worker_pages;
        bytes += worker_bytes;
    }
    Ok((pages, bytes))
}
