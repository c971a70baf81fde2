//! A scheduler on its own thread and a hand-moved clock, with its events to wait for.

use super::*;

/// A scheduler running on its own thread, on a manual clock.
pub(super) struct Harness {
    pub(super) clock: ManualClock,
    pub(super) events: Receiver<Event>,
    pub(super) signals: tokio::sync::mpsc::UnboundedSender<&'static str>,
    pub(super) thread: Option<std::thread::JoinHandle<()>>,
    pub(super) log: Vec<String>,
}

impl Harness {
    pub(super) fn start(options: SchedulerOptions, at: DateTime<Utc>) -> Self {
        let clock = ManualClock::new(at);
        let (events_to, mut events) = tokio::sync::mpsc::unbounded_channel();
        let (scheduler, runs) =
            Scheduler::new(options, Arc::new(clock.clone()), events_to).expect("it starts");
        let (signals, signals_from) = tokio::sync::mpsc::unbounded_channel();
        let (forward_to, forwarded) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let forward = tokio::spawn(async move {
                    while let Some(event) = events.recv().await {
                        let _ = forward_to.send(event);
                    }
                });
                scheduler.run(runs, signals_from).await;
                let _ = forward.await;
            });
        });
        Self {
            clock,
            events: forwarded,
            signals,
            thread: Some(thread),
            log: Vec::new(),
        }
    }

    /// The next event that `wanted` accepts; the ones before it are kept in the log.
    pub(super) fn expect(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.log.push(event.to_string());
                    if wanted(&event) {
                        return event;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no event: {what}; the events were:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Waits for the scheduler to return (after `--once`, or a signal); the events left.
    pub(super) fn join(mut self) -> Vec<String> {
        self.thread
            .take()
            .unwrap()
            .join()
            .expect("the scheduler returns");
        self.log
            .extend(self.events.try_iter().map(|event| event.to_string()));
        self.log
    }

    pub(super) fn stop(self) -> Vec<String> {
        self.signals.send("SIGTERM").unwrap();
        self.join()
    }
}
