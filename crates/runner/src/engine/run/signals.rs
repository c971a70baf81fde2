//! What stops a run: SIGINT and SIGTERM when the run is the process's, or a [`Stop`] when a
//! scheduler runs it (and so decides when its runs stop, after their grace period).

use tokio::sync::watch;

/// Tells runs to stop: what a scheduler holds.
#[derive(Debug, Clone)]
pub struct StopSender(watch::Sender<Option<&'static str>>);

/// Whether and why to stop: what a run scheduled by [`StopSender`]'s holder listens to.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<Option<&'static str>>);

/// A sender and the receiver that hears it.
pub fn stop_channel() -> (StopSender, Stop) {
    let (sender, receiver) = watch::channel(None);
    (StopSender(sender), Stop(receiver))
}

impl StopSender {
    /// Stops every run listening, in the name of `signal` (`"SIGTERM"`, `"SIGINT"`).
    pub fn stop(&self, signal: &'static str) {
        self.0.send_replace(Some(signal));
    }

    /// A receiver for one more run.
    pub fn subscribe(&self) -> Stop {
        Stop(self.0.subscribe())
    }
}

impl Stop {
    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Waits for a stop; never returns if the sender is dropped without one.
    pub async fn wait(&mut self) -> &'static str {
        match self.0.wait_for(Option::is_some).await {
            Ok(signal) => signal.expect("waited for Some"),
            Err(_) => std::future::pending().await,
        }
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (schedulers and service managers), or a scheduler's [`Stop`].
pub(super) enum Signals {
    #[cfg(unix)]
    Process {
        interrupt: tokio::signal::unix::Signal,
        terminate: tokio::signal::unix::Signal,
    },
    #[cfg(not(unix))]
    Process,
    Scheduler(Stop),
}

impl Signals {
    pub(super) fn new(stop: Option<Stop>) -> std::io::Result<Self> {
        if let Some(stop) = stop {
            return Ok(Self::Scheduler(stop));
        }
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self::Process {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self::Process)
    }

    /// The next signal's name.
    pub(super) async fn next(&mut self) -> &'static str {
        match self {
            #[cfg(unix)]
            Self::Process {
                interrupt,
                terminate,
            } => {
                tokio::select! {
                    _ = interrupt.recv() => "SIGINT",
                    _ = terminate.recv() => "SIGTERM",
                }
            }
            #[cfg(not(unix))]
            Self::Process => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
            Self::Scheduler(stop) => stop.wait().await,
        }
    }
}
