//! Reduce worker threads: each folds the pages it receives into partial states of its own;
//! at the end the partial states are merged, worker by worker, and finished.

use std::sync::Arc;
use std::thread::JoinHandle;

use pagefold_fetch::Page;

use super::{PageView, Partial, ReduceError, Reducers};

/// One worker's partial states, one per reducer in job order.
type Partials = Vec<Box<dyn Partial>>;

/// Worker threads folding pages from a channel.
pub struct WorkerPool {
    reducers: Arc<Reducers>,
    threads: Vec<JoinHandle<Result<Partials, ReduceError>>>,
}

/// The finished value of every reducer, in job order.
#[derive(Debug)]
pub struct Merged {
    /// `(name, value)` pairs.
    pub values: Vec<(String, serde_json::Value)>,
}

/// Closes the channel when a worker stops for any reason (an error, a panic), so that the
/// fetching side notices at its next send instead of waiting on a full channel forever.
struct CloseOnExit(async_channel::Receiver<Page>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl WorkerPool {
    /// Starts `workers` threads reading pages from `pages` until it is closed and empty.
    ///
    /// # Errors
    ///
    /// When a reducer cannot create a state.
    pub fn start(
        reducers: Arc<Reducers>,
        workers: usize,
        pages: async_channel::Receiver<Page>,
    ) -> Result<Self, ReduceError> {
        let mut threads = Vec::new();
        for number in 0..workers.max(1) {
            let partials = reducers.partials()?;
            let reducers_for_thread = reducers.clone();
            let pages = CloseOnExit(pages.clone());
            let thread = std::thread::Builder::new()
                .name(format!("reduce-{number}"))
                .spawn(move || fold_pages(&reducers_for_thread, partials, &pages.0))
                .expect("the system can start a thread");
            threads.push(thread);
        }
        Ok(Self { reducers, threads })
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
        let partials = merged.unwrap_or_default();
        let mut values = Vec::new();
        for (partial, (name, reducer)) in partials.into_iter().zip(&self.reducers.entries) {
            let value = partial.finish().map_err(|failure| {
                ReduceError::failed(
                    name,
                    reducer.as_ref(),
                    failure,
                    Some("while finishing".into()),
                )
            })?;
            values.push((name.clone(), value));
        }
        Ok(Merged { values })
    }
}

fn fold_pages(
    reducers: &Reducers,
    mut partials: Partials,
    pages: &async_channel::Receiver<Page>,
) -> Result<Partials, ReduceError> {
    while let Ok(page) = pages.recv_blocking() {
        fold_page(reducers, &mut partials, &page)?;
    }
    Ok(partials)
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
    let mut rows = Vec::with_capacity(page.record_count() * stride);
    if stride > 0
        && let Err(error) = reducers.fields.scan_each(page.records_json(), &mut rows)
    {
        // Cannot happen for a page the fetcher checked; reported rather than trusted.
        return Err(ReduceError::Page {
            url: page.url().to_string(),
            message: error.to_string(),
        });
    }
    let view = PageView {
        page,
        count: page.record_count(),
        rows: &rows,
        stride,
    };
    for (partial, (name, reducer)) in partials.iter_mut().zip(&reducers.entries) {
        partial.fold(&view).map_err(|failure| {
            let during = format!("on `{}`", page.url());
            ReduceError::failed(name, reducer.as_ref(), failure, Some(during))
        })?;
    }
    Ok(())
}
