//! `pagefold demo` and `pagefold demo-api`.

use std::path::Path;
use std::sync::Arc;

use pagefold_demo_api::{DemoConfig, DemoServer, Stats};

use crate::job::Job;
use crate::run::{RunError, RunOptions, RunReport, run};

/// The demo job, built into the binary so `pagefold demo` works from any folder.
const DEMO_JOB: &str = include_str!("../../../jobs/demo.toml");

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo server could not start.
    #[error("cannot start the demo API on loopback")]
    Serve(#[source] std::io::Error),
    /// The built-in job is broken (a bug in this build).
    #[error("the built-in demo job is invalid")]
    Job(#[source] crate::job::JobError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// What `pagefold demo` runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Pages of 50 orders.
    pub pages: u64,
    /// Added to every response.
    pub latency: std::time::Duration,
    /// Reduce worker threads.
    pub workers: Option<usize>,
}

/// Serves the demo API on a free loopback port and runs the demo job against it.
///
/// # Errors
///
/// When the server cannot start or the run fails.
pub fn demo(args: &DemoOptions, progress: bool) -> Result<RunReport, DemoError> {
    let config = DemoConfig {
        records: args.pages * 50,
        latency: args.latency,
        default_page_size: 50,
        ..DemoConfig::default()
    };
    let server = DemoServer::start(config).map_err(DemoError::Serve)?;
    let mut job = Job::parse(Path::new("jobs/demo.toml"), DEMO_JOB).map_err(DemoError::Job)?;
    let url = &mut job.source.url.0;
    url.set_port(Some(server.addr().port()))
        .expect("an http URL takes a port");
    url.set_host(Some(&server.addr().ip().to_string()))
        .expect("an IP is a valid host");
    let options = RunOptions {
        workers: args.workers,
        progress,
        ..RunOptions::default()
    };
    Ok(run(&job, &options)?)
}

/// Serves the demo API in the foreground until Ctrl-C.
///
/// # Errors
///
/// When the address cannot be bound.
pub fn demo_api(config: DemoConfig, host: std::net::IpAddr, port: u16) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((host, port)).await?;
        let addr = listener.local_addr()?;
        eprintln!(
            "demo API on http://{addr}/orders ({} orders, pages capped at {}, latency {:?}{}); Ctrl-C stops it",
            config.records,
            config.max_page_size,
            config.latency,
            if config.totals { "" } else { ", no totals" },
        );
        // Print the address on stdout too, so a script that started us on port 0 can read it.
        println!("http://{addr}");
        pagefold_demo_api::serve(listener, config, Arc::new(Stats::default()), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}
