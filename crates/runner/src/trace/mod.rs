//! `--trace FILE`: a run as a trace in the Chrome trace event format, which Perfetto
//! (ui.perfetto.dev, "Open trace file") and `chrome://tracing` open as it is.
//!
//! A [`Trace`] is handed to the run ([`crate::engine::run::RunOptions::trace`]); the fetch
//! side tells it of each request through the same [`pagefold_fetch::FetchObserver`] that
//! drives the progress bar ([`Traced`] wraps the bar and forwards to both), a sampler thread
//! reads the counters (requests in flight, the concurrency limit, pages queued for the
//! reducers) every [`sampler::EVERY`], and at the end [`chrome`] writes the file atomically.
//! Events are compact structs kept in a few growing vectors (see `shelf.rs`) and serialized
//! once, at the end: recording a request costs a lock nobody else holds, a push and a copy
//! of its URL, no allocation of its own; without `--trace` there is no [`Trace`] and nothing
//! to pay.
//!
//! What a trace holds (timestamps in µs since the run's start):
//!
//! * a track (thread) per chain, named by a metadata event: `partition N (values)`,
//!   `parent N`, `child N`; a chain whose requests overlap (numbered pages fan out) gets
//!   lanes `…·2`, `…·3` next to it, since slices on one track must nest;
//! * a complete event (`ph: "X"`) per HTTP request, from sending to the last byte, with its
//!   phases as args: `queued_us` (waiting for a slot, a pause or the rate limit; of which
//!   `throttled_us` on the API's behalf), `first_byte_us` (sending to the response's
//!   headers, connection set-up included: hyper does not tell the two apart), `body_us`;
//!   and the redacted URL, status, attempt, bytes, and the failure if any;
//! * `waiting on reducers` slices where a chain waited for room in the channel;
//! * instant events: retries (reason, wait, whether the API asked for it), rate-limit pauses,
//!   concurrency-limit changes (AIMD), checkpoints;
//! * counter tracks: `requests in flight` (with the limit) and `queued for reducers`;
//! * under `otherData`, the run's totals (for `pagefold report`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use pagefold::trace::Trace;
//!
//! let trace = Arc::new(Trace::new("orders"));
//! // … RunOptions { trace: Some(trace.clone()), .. } …
//! trace.write(std::path::Path::new("run.trace.json")).unwrap();
//! ```

pub mod chrome;
mod event;
mod recorder;
pub mod sampler;
mod shelf;

pub use event::Role;
pub use recorder::{Trace, Traced};
