//! The pagefold runner, in layers whose arrows point one way:
//!
//! * [`job`]: the job file, TOML → validated runtime types ([`job::Job`]); nothing else;
//! * [`engine`]: a run from its job to its result document (prepare, fetch → reduce → merge,
//!   the plugin host, checkpoints, incremental filtering, tracked runs);
//! * [`state`]: the state folder (history, locks, marks, schedule times);
//! * [`output`]: the result document and where it goes;
//! * [`schedule`]: the scheduler, which starts tracked runs at their times;
//! * [`observe`]: what runs tell the outside world: Prometheus metrics (an endpoint, a file,
//!   pushes) and webhooks;
//! * [`terminal`]: everything a user reads (progress, summary, warnings, errors), always
//!   through the redaction of [`secrets`].
//!
//! The `pagefold` binary's `commands` (one module per subcommand) sit on top; benchmarks use
//! the library to measure the reduce path without HTTP. [`identity`] and [`exit`] are shared
//! by all.
//!
//! ```no_run
//! use std::path::Path;
//!
//! let job = pagefold::job::Job::load(Path::new("jobs/demo.toml")).unwrap();
//! let report = pagefold::engine::run::run(&job, &pagefold::engine::run::RunOptions::default()).unwrap();
//! println!("{}", report.document.to_json());
//! ```

#![deny(missing_docs)]

pub mod engine;
pub mod exit;
pub mod identity;
pub mod init;
pub mod job;
pub mod observe;
pub mod output;
pub mod report;
pub mod schedule;
pub mod secrets;
pub mod shard;
pub mod state;
pub mod terminal;
pub mod trace;
