//! What pagefold tells the outside world about its runs, besides its own lines: Prometheus
//! metrics (a `/metrics` endpoint, a file for node_exporter's textfile collector, pushes to a
//! Pushgateway) and webhooks (`[alerts]`, `--alerts FILE`).
//!
//! An [`Observer`] is what the scheduler and `pagefold run` hold: they tell it of each run as
//! its history records it ([`Observer::record`]), and the scheduler of its jobs' next times and
//! running runs ([`Observer::set_live`]); it keeps the [`metrics::Metrics`], writes and pushes
//! them ([`Observer::publish`]), and posts alerts on a thread of its own, so that no receiver
//! ever holds up a run or the scheduler. Before the process exits, [`Observer::finish`] gives
//! what is still being delivered a bounded time.
//!
//! Arrows point here from the scheduler and the commands; from here, to the state folder (the
//! history the metrics start from), the job (its `[alerts]`) and the terminal (warnings).

mod background;
mod delivery;
pub mod endpoint;
mod error;
pub mod exposition;
pub mod metrics;
mod observer;
pub mod payload;
mod pushgateway;
pub mod textfile;
mod webhooks;

pub use error::{DeliveryError, ObserveError};
pub use metrics::{Live, Metrics};
pub use observer::{FINISH_WITHIN, ObserveOptions, Observer};
