//! The counters of a trace, read on a thread of their own every [`EVERY`]: requests in
//! flight, the concurrency limit, and pages queued for the reducers (backpressure). Sampling
//! keeps their cost flat however many requests a run makes; a sample equal to the last one is
//! not recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Trace;

/// How often the counters are read.
pub const EVERY: Duration = Duration::from_millis(10);

/// The sampling thread; stops and joins when [`Sampler::stop`] is called or it is dropped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    /// Starts reading `read` (in flight, limit, queued) into `trace`.
    pub fn start(
        trace: Arc<Trace>,
        read: impl Fn() -> (usize, usize, usize) + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("trace-sampler".into())
            .spawn(move || {
                let mut last = None;
                while !stopping.load(Ordering::Relaxed) {
                    let now = read();
                    if last != Some(now) {
                        trace.counters(now.0, now.1, now.2);
                        last = Some(now);
                    }
                    std::thread::park_timeout(EVERY);
                }
                let now = read();
                trace.counters(now.0, now.1, now.2);
            })
            .ok();
        Self { stop, thread }
    }

    /// Takes a last sample and stops.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.halt();
    }
}
