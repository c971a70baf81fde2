//! Reduce worker threads: each folds the pages it receives into partial states of its own;
//! at the end the partial states are merged, worker by worker, and finished.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use pagefold_fetch::Page;

use super::map::MapProgram;
use super::{PageView, Partial, ReduceError, Reducers};

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

/// One worker's saved states and what they cover.
#[derive(Debug)]
pub struct WorkerSnapshot {
    /// Each reducer's saved state, in job order.
    pub states: Vec<Vec<u8>>,
    /// `(chain, page)` of every page this worker folded.
    pub folded: Vec<(u32, u64)>,
    /// Records in those pages.
    pub records: u64,
}

/// Worker threads folding pages from a channel.
pub struct WorkerPool {
    reducers: Arc<Reducers>,
    threads: Vec<JoinHandle<Result<Partials, ReduceError>>>,
    snapshots: tokio::sync::Mutex<
        tokio::sync::mpsc::UnboundedReceiver<Result<WorkerSnapshot, ReduceError>>,
    >,
    gate: Arc<Gate>,
}

/// Where workers wait after a snapshot until the checkpoint is written.
#[derive(Default)]
struct Gate {
    generation: Mutex<u64>,
    opened: Condvar,
}

impl Gate {
    fn wait_past(&self, generation: u64) {
        let mut current = self.generation.lock().expect("no panics while locked");
        while *current <= generation {
            current = self.opened.wait(current).expect("no panics while locked");
        }
    }

    fn open(&self) {
        *self.generation.lock().expect("no panics while locked") += 1;
        self.opened.notify_all();
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
    /// Starts `workers` threads reading work from `work` until it is closed and empty. The
    /// first worker starts from `restored` (states read back from a checkpoint), the others
    /// from fresh states.
    ///
    /// # Errors
    ///
    /// When a reducer cannot create a state.
    pub fn start(
        reducers: Arc<Reducers>,
        workers: usize,
        work: async_channel::Receiver<Work>,
        restored: Option<Partials>,
    ) -> Result<Self, ReduceError> {
        let (snapshots_to, snapshots) = tokio::sync::mpsc::unbounded_channel();
        let gate = Arc::new(Gate::default());
        let mut restored = restored;
        let mut threads = Vec::new();
        for number in 0..workers.max(1) {
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
            let thread = std::thread::Builder::new()
                .name(format!("reduce-{number}"))
                // Room for `map`'s jq programs, whose recursion is watched against it.
                .stack_size(super::map::MAP_STACK)
                .spawn(move || worker.run(partials))
                .expect("the system can start a thread");
            threads.push(thread);
        }
        Ok(Self {
            reducers,
            threads,
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
        for _ in 0..self.threads.len() {
            if work.send(Work::Snapshot(round)).await.is_err() {
                return None;
            }
        }
        let mut taken = Vec::new();
        while taken.len() < self.threads.len() {
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

    /// Waits for the workers, merges their states and finishes them.
    ///
    /// # Errors
    ///
    /// The first failure of a worker, or of a merge or finish.
    pub fn finish(self) -> Result<Merged, ReduceError> {
        let mut merged: Option<Vec<Box<dyn Partial>>> = None;
        let mut first_error = None;
        for thread in self.threads {
            let outcome = thread
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
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

/// One worker thread's share of the pool.
struct Worker {
    reducers: Arc<Reducers>,
    work: CloseOnExit,
    snapshots: tokio::sync::mpsc::UnboundedSender<Result<WorkerSnapshot, ReduceError>>,
    gate: Arc<Gate>,
}

impl Worker {
    fn run(self, mut partials: Partials) -> Result<Partials, ReduceError> {
        let map = match &self.reducers.map {
            // Checked when the job was loaded.
            Some(code) => Some(
                MapProgram::compile(code)
                    .map_err(|error| ReduceError::Page {
                        url: "`map`".into(),
                        message: error.to_string(),
                    })?
                    // Each worker thread is started with that stack.
                    .on_map_stack(),
            ),
            None => None,
        };
        let mut folded = Vec::new();
        let mut records = 0;
        while let Ok(work) = self.work.0.recv_blocking() {
            match work {
                Work::Page(page) => {
                    let unseen = match &self.reducers.filtering {
                        Some(filtering) => {
                            let index = filtering.index;
                            filtering
                                .filter
                                .apply(&mut partials[index], &page)
                                .map_err(|failure| {
                                    let (name, reducer) = &self.reducers.entries[index];
                                    let during = Some(format!("on `{}`", page.url()));
                                    ReduceError::failed(name, reducer.as_ref(), failure, during)
                                })?
                        }
                        None => None,
                    };
                    let page_raw = unseen.as_ref().unwrap_or(&page);
                    let carried = match self.reducers.carried(page.chain()) {
                        Some(parent) => Some(with_parent(page_raw, &parent)?),
                        None => None,
                    };
                    let page_in = carried.as_ref().unwrap_or(page_raw);
                    match &map {
                        Some(map) => {
                            fold_page(&self.reducers, &mut partials, &mapped(map, page_in)?)?
                        }
                        None => fold_page(&self.reducers, &mut partials, page_in)?,
                    }
                    folded.push((page.chain(), page.index()));
                    records += page.record_count() as u64;
                }
                Work::Snapshot(round) => {
                    let generation = self.gate.generation();
                    if generation > round {
                        // The round this request belongs to is over (abandoned or done).
                        continue;
                    }
                    let states = partials
                        .iter()
                        .zip(&self.reducers.entries)
                        .map(|(partial, (name, reducer))| {
                            partial.save().map_err(|failure| {
                                ReduceError::failed(
                                    name,
                                    reducer.as_ref(),
                                    failure,
                                    Some("while saving a checkpoint".into()),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>();
                    let snapshot = states.map(|states| WorkerSnapshot {
                        states,
                        folded: folded.clone(),
                        records,
                    });
                    if self.snapshots.send(snapshot).is_ok() {
                        self.gate.wait_past(generation);
                    }
                }
            }
        }
        Ok(partials)
    }
}

/// The page with `"_parent": PARENT` added to each record that is an object.
fn with_parent(page: &Page, parent: &str) -> Result<Page, ReduceError> {
    let records = page.records_json();
    let mut array =
        String::with_capacity(records.len() + page.record_count() * (parent.len() + 12) + 2);
    array.push('[');
    for (number, &(start, end)) in page.record_bounds().iter().enumerate() {
        if number > 0 {
            array.push(',');
        }
        let record = records.get(start as usize..end as usize).unwrap_or("null");
        match record.strip_prefix('{') {
            Some(rest) if rest.trim_start().starts_with('}') => {
                array.push_str(&format!("{{\"_parent\":{parent}}}"))
            }
            Some(rest) => array.push_str(&format!("{{\"_parent\":{parent},{rest}")),
            None => array.push_str(record),
        }
    }
    array.push(']');
    page.with_records(array)
        .map_err(|failure| ReduceError::Page {
            url: page.url().to_string(),
            message: failure.to_string(),
        })
}

/// The page as `map` makes it: each record through the jq program, its outputs in order.
fn mapped(map: &MapProgram, page: &Page) -> Result<Page, ReduceError> {
    let records = page.records_json();
    let mut outputs = Vec::new();
    for (number, &(start, end)) in page.record_bounds().iter().enumerate() {
        let record = records.get(start as usize..end as usize).unwrap_or("null");
        map.run(record, &mut outputs)
            .map_err(|message| ReduceError::Page {
                url: page.url().to_string(),
                message: format!("`map` on record {number}: {message}"),
            })?;
    }
    let array = format!("[{}]", outputs.join(","));
    page.with_records(array)
        .map_err(|failure| ReduceError::Page {
            url: page.url().to_string(),
            message: failure.to_string(),
        })
}

/// Folds one page into one worker's partial states: the fields every built-in reads are
/// picked out of each record in one scan, then each reducer folds the page.
///
/// # Errors
///
/// The first reducer that fails, with the page's URL.
pub fn fold_page(
    reducers: &Reducers,
    partials: &mut [Box<dyn Partial>],
    page: &Page,
) -> Result<(), ReduceError> {
    let stride = reducers.fields.len();
    let mut rows = vec![None; page.record_count() * stride];
    if stride > 0 {
        // Each record from where the fetcher found it, read only as far as its last wanted
        // field: what follows (often most of a record) is not scanned.
        let records = page.records_json();
        for (&(start, end), row) in page.record_bounds().iter().zip(rows.chunks_mut(stride)) {
            let record = records.get(start as usize..end as usize).unwrap_or("null");
            if let Err(error) = reducers.fields.scan_first(record, row) {
                // Cannot happen for a page the fetcher checked; reported rather than trusted.
                return Err(ReduceError::Page {
                    url: page.url().to_string(),
                    message: error.to_string(),
                });
            }
        }
    }
    let view = PageView::new(page, &rows, stride);
    // Every reducer but a filter's, which saw the page before.
    let filter = reducers.filtering.as_ref().map(|filtering| filtering.index);
    for (_, (partial, (name, reducer))) in partials
        .iter_mut()
        .zip(&reducers.entries)
        .enumerate()
        .filter(|(index, _)| Some(*index) != filter)
    {
        partial.fold(&view).map_err(|failure| {
            let during = format!("on `{}`", page.url());
            ReduceError::failed(name, reducer.as_ref(), failure, Some(during))
        })?;
    }
    Ok(())
}
