//! `pagefold demo` and `pagefold demo-api`.

use std::io::IsTerminal;
use std::path::Path;

use pagefold_demo_api::{DemoConfig, DemoServer};

use pagefold::engine::run::{RunError, RunOptions, RunReport};
use pagefold::exit;
use pagefold::job::Job;
use pagefold::terminal::failure::Failure;

/// The demo job, built into the binary so `pagefold demo` works from any folder.
const DEMO_JOB: &str = include_str!("../../../../jobs/demo.toml");
/// Where `jobs/demo.toml` expects the demo API (`pagefold demo-api`'s default).
const DEMO_ADDRESS: &str = "127.0.0.1:7878";

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo server could not start.
    #[error("cannot start the demo API on loopback")]
    Serve(#[source] std::io::Error),
    /// The built-in job is broken (a bug in this build).
    #[error("the built-in demo job is invalid")]
    Job(#[source] pagefold::job::JobError),
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
    // The demo job names the demo API's usual address; this one listens where it could.
    let text = DEMO_JOB.replace(DEMO_ADDRESS, &server.addr().to_string());
    let job = Job::parse(Path::new("jobs/demo.toml"), &text).map_err(DemoError::Job)?;
    let options = RunOptions {
        workers: args.workers,
        progress,
        ..RunOptions::default()
    };
    Ok(pagefold::engine::run::run(&job, &options)?)
}

/// `pagefold demo`.
pub(crate) fn run(args: &super::demo_cli::DemoArgs) -> Result<u8, Failure> {
    let interactive = std::io::stderr().is_terminal();
    let options = DemoOptions {
        pages: args.pages,
        latency: args.latency,
        workers: args.workers.map(usize::from),
    };
    let report = demo(&options, interactive).map_err(|error| match error {
        DemoError::Run(error) => super::run_failure(error),
        other => Failure::from_error(exit::RUN_FAILED, &other),
    })?;
    super::finish::finish(&report, 32, false)
}
