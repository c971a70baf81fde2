//! Reduce workers: each folds the pages it receives into partial states of its own; at the
//! end the partial states are merged, worker by worker, and finished. A worker is a thread of
//! its own, or a task beside the requests on the fetching thread (see [`Placement`]).

use std::sync::{Arc, Condvar, Mutex};

use pagefold_fetch::Page;

use super::fold::{Folder, WorkerSnapshot};
use super::{Partial, ReduceError, Reducers};

/// One worker's partial states, one per reducer in job order.
type Partials = Vec<Box<dyn Partial>>;

/// What reduce workers receive: pages, and requests to save their states for a checkpoint.
pub enum Work {
    /// A page to fold.
    Page(Page),
    /// Save your states, send them, and wait until told to go on: for the snapshot of this
    /// round (a request left over from an abandoned round is ignored).
    Snapshot(u64),
}

impl From<Page> for Work {
    fn from(page: Page) -> Self {
        Work::Page(page)
    }
}

/// Workers folding pages from a channel.
pub struct WorkerPool {
    reducers: Arc<Reducers>,
    workers: Vec<Running>,
    snapshots: tokio::sync::Mutex<
        tokio::sync::mpsc::UnboundedReceiver<Result<WorkerSnapshot, ReduceError>>,
    >,
    gate: Arc<Gate>,
}

/// Where pages are folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On one task of the fetching runtime, beside the requests. Handing each page to another
    /// thread costs a wake-up and a cold cache, as much CPU as folding it with the built-ins
    /// (bench scenario 13): so jobs whose reducers are all built-ins fold where they fetch.
    Task,
    /// On this many threads of their own: for plugins and `map`, whose cost per page is
    /// unknown and may be large, and whenever `workers` is set.
    Threads(usize),
}

impl Placement {
    /// How many workers fold.
    pub fn workers(self) -> usize {
        match self {
            Placement::Task => 1,
            Placement::Threads(threads) => threads,
        }
    }
}

/// A running worker.
enum Running {
    Thread(std::thread::JoinHandle<Result<Partials, ReduceError>>),
    Task(tokio::task::JoinHandle<Result<Partials, ReduceError>>),
}

/// Where workers wait after a snapshot until the checkpoint is written: threads on the
/// condition variable, a task on the notification.
#[derive(Default)]
struct Gate {
    generation: Mutex<u64>,
    opened: Condvar,
    opened_for_tasks: tokio::sync::Notify,
}

impl Gate {
    fn wait_past(&self, generation: u64) {
        let mut current = self.generation.lock().expect("no panics while locked");
        while *current <= generation {
            current = self.opened.wait(current).expect("no panics while locked");
        }
    }

    async fn passed(&self, generation: u64) {
        loop {
            // Registered before the check, so that an opening between the two is not missed.
            let opened = self.opened_for_tasks.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            if self.generation() > generation {
                return;
            }
            opened.await;
        }
    }

    fn open(&self) {
        *self.generation.lock().expect("no panics while locked") += 1;
        self.opened.notify_all();
        self.opened_for_tasks.notify_waiters();
    }

    fn generation(&self) -> u64 {
        *self.generation.lock().expect("no panics while locked")
    }
}

/// The finished value of every reducer, in job order.
#[derive(Debug)]
pub struct Merged {
    /// `(name, value)` pairs.
    pub values: Vec<(String, serde_json::Value)>,
    /// For an incremental job, every reducer's merged state, saved before finishing: what
    /// the next run carries on from.
    pub states: Option<Vec<Vec<u8>>>,
    /// What the records held: per field the built-ins read (`""`: the records only), the
    /// counts.
    pub coverage: Vec<(String, super::coverage::Counts)>,
}

/// Closes the channel when a worker stops for any reason (an error, a panic), so that the
/// fetching side notices at its next send instead of waiting on a full channel forever.
struct CloseOnExit(async_channel::Receiver<Work>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl WorkerPool {
    /// Starts the workers, placed as `placement` says (a task on `runtime`), reading work from
    /// `work` until it is closed and empty. The first worker starts from `restored` (states
    /// read back from a checkpoint), the others from fresh states.
    ///
    /// # Errors
    ///
    /// When a reducer cannot create a state.
    pub fn start(
        reducers: Arc<Reducers>,
        placement: Placement,
        work: async_channel::Receiver<Work>,
        restored: Option<Partials>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Self, ReduceError> {
        let (snapshots_to, snapshots) = tokio::sync::mpsc::unbounded_channel();
        let gate = Arc::new(Gate::default());
        let mut restored = restored;
        let mut workers = Vec::new();
        for number in 0..placement.workers() {
            let partials = match restored.take() {
                Some(partials) => partials,
                None => reducers.partials()?,
            };
            let worker = Worker {
                reducers: reducers.clone(),
                work: CloseOnExit(work.clone()),
                snapshots: snapshots_to.clone(),
                gate: gate.clone(),
            };
            workers.push(match placement {
                Placement::Task => Running::Task(runtime.spawn(worker.run_task(partials))),
                Placement::Threads(_) => Running::Thread(
                    std::thread::Builder::new()
                        .name(format!("reduce-{number}"))
                        // Room for `map`'s jq programs, whose recursion is watched against it.
                        .stack_size(super::map::MAP_STACK)
                        .spawn(move || worker.run_thread(partials))
                        .expect("the system can start a thread"),
                ),
            });
        }
        Ok(Self {
            reducers,
            workers,
            snapshots: tokio::sync::Mutex::new(snapshots),
            gate,
        })
    }

    /// Asks every worker for its states (through `work`, so each has folded all it took
    /// before) and returns them; the workers wait until [`WorkerPool::resume`]. `None` when a
    /// worker has stopped, and so no consistent snapshot can be had.
    pub async fn snapshot(
        &self,
        work: &async_channel::Sender<Work>,
    ) -> Option<Result<Vec<WorkerSnapshot>, ReduceError>> {
        let mut snapshots = self.snapshots.lock().await;
        // Answers left over from an abandoned round are stale.
        while snapshots.try_recv().is_ok() {}
        let round = self.gate.generation();
        for _ in 0..self.workers.len() {
            if work.send(Work::Snapshot(round)).await.is_err() {
                return None;
            }
        }
        let mut taken = Vec::new();
        while taken.len() < self.workers.len() {
            tokio::select! {
                snapshot = snapshots.recv() => match snapshot {
                    Some(Ok(snapshot)) => taken.push(snapshot),
                    Some(Err(error)) => return Some(Err(error)),
                    None => return None,
                },
                // A worker that stopped closes the channel and will never answer.
                () = tokio::time::sleep(std::time::Duration::from_millis(50)) => {
                    if work.is_closed() {
                        return None;
                    }
                }
            }
        }
        Some(Ok(taken))
    }

    /// Lets the workers go on after a snapshot, and ends its round: a snapshot request of that
    /// round still queued is ignored.
    pub fn resume(&self) {
        self.gate.open();
    }

    /// Waits for the workers (a task's on `runtime`, which runs it to its end), merges their
    /// states and finishes them. A worker's panic goes on here.
    ///
    /// # Errors
    ///
    /// The first failure of a worker, or of a merge or finish.
    pub fn finish(self, runtime: &tokio::runtime::Runtime) -> Result<Merged, ReduceError> {
        let mut merged: Option<Vec<Box<dyn Partial>>> = None;
        let mut first_error = None;
        for worker in self.workers {
            let outcome = match worker {
                Running::Thread(thread) => thread
                    .join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
                Running::Task(task) => runtime
                    .block_on(task)
                    .unwrap_or_else(|ended| std::panic::resume_unwind(ended.into_panic())),
            };
            match (outcome, &mut merged) {
                (Err(error), _) => {
                    first_error.get_or_insert(error);
                }
                (Ok(partials), None) => merged = Some(partials),
                (Ok(partials), Some(into)) => {
                    for ((into, other), (name, reducer)) in
                        into.iter_mut().zip(partials).zip(&self.reducers.entries)
                    {
                        into.merge(other).map_err(|failure| {
                            ReduceError::failed(
                                name,
                                reducer.as_ref(),
                                failure,
                                Some("while merging".into()),
                            )
                        })?;
                    }
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        self.reducers.conclude(merged.unwrap_or_default())
    }
}

/// One worker's share of the pool.
struct Worker {
    reducers: Arc<Reducers>,
    work: CloseOnExit,
    snapshots: tokio::sync::mpsc::UnboundedSender<Result<WorkerSnapshot, ReduceError>>,
    gate: Arc<Gate>,
}

impl Worker {
    fn run_thread(self, partials: Partials) -> Result<Partials, ReduceError> {
        let mut folder = Folder::new(&self.reducers, partials)?;
        while let Ok(work) = self.work.0.recv_blocking() {
            if let Some(generation) = self.take(&mut folder, work)? {
                self.gate.wait_past(generation);
            }
        }
        Ok(folder.partials)
    }

    async fn run_task(self, partials: Partials) -> Result<Partials, ReduceError> {
        let mut folder = Folder::new(&self.reducers, partials)?;
        while let Ok(work) = self.work.0.recv().await {
            if let Some(generation) = self.take(&mut folder, work)? {
                self.gate.passed(generation).await;
            }
        }
        Ok(folder.partials)
    }

    /// Folds a page, or answers a snapshot request: then the generation of the gate to wait
    /// past before going on.
    fn take(&self, folder: &mut Folder, work: Work) -> Result<Option<u64>, ReduceError> {
        match work {
            Work::Page(page) => folder.fold(&self.reducers, page).map(|()| None),
            Work::Snapshot(round) => {
                let generation = self.gate.generation();
                if generation > round {
                    // The round this request belongs to is over (abandoned or done).
                    return Ok(None);
                }
                let sent = self.snapshots.send(folder.snapshot(&self.reducers));
                Ok(sent.is_ok().then_some(generation))
            }
        }
    }
}
