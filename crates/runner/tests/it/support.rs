//! Shared helpers for the end-to-end tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pagefold_demo_api::{DemoConfig, DemoServer, Order};
use serde_json::{Value, json};

/// A started demo API with `records` orders and the rest of `config`.
pub fn demo_server(config: DemoConfig) -> DemoServer {
    DemoServer::start(config).expect("the demo API starts on loopback")
}

/// The orders a demo API with this config serves.
pub fn orders(config: &DemoConfig) -> Vec<Order> {
    pagefold_demo_api::Dataset {
        len: config.records,
        seed: config.seed,
    }
    .orders()
    .collect()
}

/// A folder for job files and outputs, removed at the end of the test.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a job file and returns its path.
    pub fn job(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("the job file is written");
        path
    }
}

/// The outcome of running the binary.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().expect("the process exited")
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// The result document printed on stdout; panics with stderr if the run failed.
    pub fn result(&self) -> Value {
        assert_eq!(self.code(), 0, "pagefold failed:\n{}", self.stderr());
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()))
    }
}

/// The `pagefold` binary, with its state directory (run history) under the target folder
/// rather than the user's data folder.
pub fn command() -> Command {
    // A state folder per test (each runs on a thread of its own): a job's runs take its lock
    // and its name is its file's in a state folder, so tests running jobs of the same name at
    // the same time must not share one.
    thread_local! {
        static STATE: tempfile::TempDir =
            tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a state folder");
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_pagefold"));
    STATE.with(|state| command.env("PAGEFOLD_STATE", state.path().join("state")));
    command
}

/// Runs `pagefold ARGS`.
pub fn pagefold(args: &[&str]) -> Run {
    let output = command().args(args).output().expect("pagefold runs");
    Run { output }
}

/// Runs `pagefold run JOB -q` plus `extra` arguments.
pub fn run_job(job: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["run", job.to_str().expect("a UTF-8 path"), "-q"];
    args.extend_from_slice(extra);
    pagefold(&args)
}

/// A job over the demo API at `server` with the given pagination table body and reducers.
pub fn orders_job(
    server: &DemoServer,
    pagination: &str,
    concurrency: usize,
    reducers: &str,
) -> String {
    format!(
        r#"
[source]
url = "{url}"
records = "/data"

[source.pagination]
{pagination}

[fetch]
concurrency = {concurrency}
timeout = "10s"
retries = 3
backoff = {{ base = "1ms", max = "5ms" }}

{reducers}
"#,
        url = server.url("/orders")
    )
}

/// Every built-in over the demo orders.
pub const ALL_BUILTINS: &str = r#"
[[reduce]]
name = "orders"
use = "count"

[[reduce]]
name = "cents"
use = "sum"
field = "/amount_cents"

[[reduce]]
name = "amount"
use = "sum"
field = "/amount"

[[reduce]]
name = "cheapest"
use = "min"
field = "/amount_cents"

[[reduce]]
name = "dearest"
use = "max"
field = "/amount_cents"

[[reduce]]
name = "mean_items"
use = "mean"
field = "/items"

[[reduce]]
name = "by_status"
use = "count_by"
field = "/status"

[[reduce]]
name = "customers"
use = "distinct"
field = "/customer"

[[reduce]]
name = "top_cities"
use = "top_k"
field = "/shipping/city"
k = 3

[[reduce]]
name = "coupons"
use = "count_by"
field = "/coupon"

[[reduce]]
name = "ids"
use = "collect"
field = "/id"
"#;

/// What [`ALL_BUILTINS`] must give for `orders`, computed directly from the data.
pub fn expected_builtins(orders: &[Order]) -> Value {
    let cents: u64 = orders.iter().map(|o| o.amount_cents).sum();
    let mut by_status = BTreeMap::<&str, u64>::new();
    let mut cities = BTreeMap::<&str, u64>::new();
    let mut coupons = BTreeMap::<String, u64>::new();
    for order in orders {
        *by_status.entry(order.status).or_default() += 1;
        *cities.entry(order.shipping.city).or_default() += 1;
        if let Some(coupon) = &order.coupon {
            *coupons.entry(coupon.clone()).or_default() += 1;
        }
    }
    let mut top: Vec<(&str, u64)> = cities.into_iter().collect();
    top.sort_by(|(a, n), (b, m)| m.cmp(n).then(a.cmp(b)));
    top.truncate(3);
    let customers: std::collections::BTreeSet<&str> =
        orders.iter().map(|o| o.customer.as_str()).collect();
    let items: u64 = orders.iter().map(|o| o.items).sum();
    json!({
        "orders": orders.len(),
        "cents": cents,
        "cheapest": orders.iter().map(|o| o.amount_cents).min(),
        "dearest": orders.iter().map(|o| o.amount_cents).max(),
        "mean_items": if orders.is_empty() { Value::Null } else { json!(items as f64 / orders.len() as f64) },
        "by_status": by_status,
        "customers": customers.len(),
        "top_cities": top.iter().map(|(city, count)| json!({ "value": city, "count": count })).collect::<Vec<_>>(),
        "coupons": coupons,
        "ids": orders.iter().map(|o| o.id).collect::<Vec<_>>(),
    })
}

/// Checks every built-in's value in `result` against the data (the float sum within a cent's
/// rounding of the exact integer sum).
pub fn assert_builtins(result: &Value, orders: &[Order]) {
    let mut reducers = result["reducers"].clone();
    let amount = reducers
        .as_object_mut()
        .unwrap()
        .remove("amount")
        .expect("the float sum is there");
    let expected = expected_builtins(orders);
    assert_eq!(reducers, expected);
    let exact = expected["cents"].as_u64().unwrap() as f64 / 100.0;
    assert!(
        (amount.as_f64().unwrap() - exact).abs() < 1e-6,
        "{amount} vs {exact}"
    );
    assert_eq!(result["records"], json!(orders.len()));
}

/// Runs `pagefold ARGS` with extra environment variables.
pub fn pagefold_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = command()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("pagefold runs");
    Run { output }
}

/// A duration as `{:?}` or `humantime` print it (`850µs`, `3ms`, `1.2s`).
pub const DURATION: &str = r"\d+(\.\d+)?(ns|µs|ms|s)";

/// The snapshot filters of what changes from run to run and machine to machine: loopback
/// ports and the folders a test uses, plus the rules a snapshot adds for its own clock-bound
/// figures. Each rule is as narrow as it can be, so that the wording around stays pinned.
pub struct Masks {
    rules: Vec<(String, String)>,
}

impl Masks {
    /// Ports of loopback servers, and the target folder.
    pub fn new() -> Self {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("the target folder holds `tmp`");
        Self {
            rules: vec![(r"127\.0\.0\.1:\d+".into(), "127.0.0.1:[port]".into())],
        }
        .path(target, "[target]")
    }

    /// `path`, wherever it appears, shown as `name`.
    pub fn path(self, path: &Path, name: &str) -> Self {
        self.rule(&literal(&path.display().to_string()), name)
    }

    /// Replaces what `regex` matches with `replacement` (`$1` names a group).
    pub fn rule(mut self, regex: &str, replacement: &str) -> Self {
        self.rules.push((regex.into(), replacement.into()));
        self
    }

    /// The rules, as `insta::with_settings!({ filters => … })` takes them.
    pub fn filters(&self) -> Vec<(&str, &str)> {
        self.rules
            .iter()
            .map(|(regex, replacement)| (regex.as_str(), replacement.as_str()))
            .collect()
    }
}

/// A regular expression that matches `text` as it is.
fn literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl Run {
    /// What a user reads: the exit code, then stdout and stderr (each when not empty).
    pub fn shown(&self) -> String {
        let mut shown = format!("exit: {}\n", self.code());
        for (name, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
            if !text.is_empty() {
                shown.push_str(&format!("--- {name}\n{text}"));
                if !text.ends_with('\n') {
                    shown.push_str("\n[no newline at the end]\n");
                }
            }
        }
        shown
    }
}

/// A loopback port bound on a runtime of its own, before its routes are made (they may need
/// the address).
pub struct Loopback {
    pub addr: std::net::SocketAddr,
    listener: tokio::net::TcpListener,
    runtime: tokio::runtime::Runtime,
}

/// A server serving on loopback until dropped (the end of the test).
pub struct Serving {
    pub addr: std::net::SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl Loopback {
    /// Binds `127.0.0.1:0`.
    pub fn bind() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        Self {
            addr,
            listener,
            runtime,
        }
    }

    /// Serves `router` on the bound port.
    pub fn serve(self, router: axum::Router) -> Serving {
        let listener = self.listener;
        self.runtime
            .spawn(async move { axum::serve(listener, router).await });
        Serving {
            addr: self.addr,
            _runtime: self.runtime,
        }
    }
}
