//! A step between a page's arrival and the reducers: it sees the raw page first, may fold it
//! into a hidden reducer of its own, and may drop records. Incremental runs plug in here (their
//! mark keeps the largest `updated_at` and drops what the last run folded); the reduce side
//! knows nothing of them.

use std::sync::Arc;

use pagefold_fetch::Page;

use super::{Partial, Reduce, ReduceFailure};

/// What a page goes through before the reducers see it.
pub trait PageFilter: Send + Sync {
    /// Folds `page` into `state` (the partial state of the filter's own reducer) and returns
    /// the page the reducers should see instead, or `None` to keep it as it is.
    ///
    /// # Errors
    ///
    /// When the filter's reducer fails to fold, or the page cannot be rebuilt.
    fn apply(
        &self,
        state: &mut Box<dyn Partial>,
        page: &Page,
    ) -> Result<Option<Page>, ReduceFailure>;
}

/// A filter and the hidden reducer whose state it keeps, after the job's reducers.
pub(crate) struct Filtering {
    /// Where the hidden reducer is among the reducers (and its state among the partials).
    pub(crate) index: usize,
    pub(crate) filter: Arc<dyn PageFilter>,
}

impl super::Reducers {
    /// Adds a hidden reducer, `name`, after the job's reducers, and the filter every page
    /// goes through first. Its state is saved and restored like the others', and kept after
    /// the run.
    pub fn add_filter(
        &mut self,
        name: &str,
        reducer: Arc<dyn Reduce>,
        filter: Arc<dyn PageFilter>,
    ) {
        self.filtering = Some(Filtering {
            index: self.entries.len(),
            filter,
        });
        self.entries.push((name.to_owned(), reducer));
        self.slots.push(None);
    }

    /// Whether pages go through a filter (the states are then kept after the run).
    pub fn is_filtered(&self) -> bool {
        self.filtering.is_some()
    }
}
