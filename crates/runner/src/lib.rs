//! The pagefold runner: job files, the reduce side (built-in reducers, plugins, worker threads),
//! running a job end to end, the result document, progress, and the demo.
//!
//! The `pagefold` binary is a thin command line over this library; benchmarks use it to
//! measure the reduce path without HTTP.
//!
//! ```no_run
//! use std::path::Path;
//!
//! let job = pagefold::job::Job::load(Path::new("jobs/demo.toml")).unwrap();
//! let report = pagefold::engine::run::run(&job, &pagefold::engine::run::RunOptions::default()).unwrap();
//! println!("{}", report.document.to_json());
//! ```

pub mod engine;
pub mod exit;
pub mod identity;
pub mod job;
pub mod output;
pub mod schedule;
pub mod secrets;
pub mod state;
pub mod terminal;
