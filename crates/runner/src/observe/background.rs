//! A thread of its own with a small tokio runtime, for deliveries (webhooks, Pushgateway
//! pushes) that must never hold up whoever asked for them: the scheduler hands a task over and
//! goes on. It starts with the first task, and [`Background::wait`] lets a process that is
//! about to exit give the tasks still running a bounded time to end.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// See the module's documentation.
#[derive(Default)]
pub(crate) struct Background {
    sender: OnceLock<mpsc::UnboundedSender<Task>>,
    /// Tasks handed over and not yet ended.
    pending: Mutex<usize>,
    ended: Condvar,
    client: OnceLock<reqwest::Client>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Background {
    /// Runs `task` on the background thread (started now if it is not yet).
    pub(crate) fn spawn(
        self: &std::sync::Arc<Self>,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        *self.lock() += 1;
        let this = self.clone();
        let task: Task = Box::pin(async move {
            task.await;
            let mut pending = this.lock();
            *pending -= 1;
            this.ended.notify_all();
        });
        let sender = self.sender.get_or_init(start_thread);
        if let Err(mpsc::error::SendError(_)) = sender.send(task) {
            // The thread is gone (its runtime could not be built): nothing will run the task.
            *self.lock() -= 1;
            crate::terminal::warn("alerts and pushes cannot be sent: their thread did not start");
        }
    }

    /// The HTTP client deliveries share (one connection pool).
    pub(crate) fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .user_agent(concat!("pagefold/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                // A redirect would turn a POST into a GET; a webhook that moved is an error.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default()
        })
    }

    /// Tasks handed over and not yet ended.
    pub(crate) fn pending(&self) -> usize {
        *self.lock()
    }

    /// Waits until every task has ended, or `within` has passed; the tasks still running.
    pub(crate) fn wait(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        let mut pending = self.lock();
        while *pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            pending = self
                .ended
                .wait_timeout(pending, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        *pending
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The thread: a current-thread runtime that runs every task it is handed, side by side, until
/// the process ends.
fn start_thread() -> mpsc::UnboundedSender<Task> {
    let (sender, mut tasks) = mpsc::unbounded_channel::<Task>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => {
            let started = std::thread::Builder::new()
                .name("pagefold-deliveries".into())
                .spawn(move || {
                    runtime.block_on(async move {
                        while let Some(task) = tasks.recv().await {
                            tokio::spawn(task);
                        }
                    });
                });
            if let Err(error) = started {
                tracing::warn!("no thread for deliveries: {error}");
            }
        }
        Err(error) => tracing::warn!("no runtime for deliveries: {error}"),
    }
    sender
}
