//! The mark as a page filter: every raw page is folded into the mark first, and the records
//! the last run already folded are dropped before the reducers see the page.

use std::sync::Arc;

use pagefold_fetch::Page;
use pagefold_json::{Pointer, PointerSet};

use super::mark::{MARK_NAME, MarkKey, MarkReducer, PreviousMark, record_hash};
use crate::engine::reduce::{PageFilter, PageView, Partial, ReduceFailure, Reducers};
use crate::job::IncrementalSpec;

/// Adds the mark of `spec` to `reducers`, after the job's reducers, with its filter; `previous`
/// is what the last successful run left.
pub fn attach(reducers: &mut Reducers, spec: &IncrementalSpec, previous: Arc<PreviousMark>) {
    let reducer = MarkReducer::new(spec, previous.clone());
    let filter = MarkFilter::new(&spec.field, previous);
    reducers.add_filter(MARK_NAME, Arc::new(reducer), Arc::new(filter));
}

/// What workers do with the mark on each raw page: extract its field, and drop the records
/// the last run folded.
pub struct MarkFilter {
    fields: PointerSet,
    previous: Arc<PreviousMark>,
}

impl MarkFilter {
    /// The filter for the mark reading `field`.
    pub fn new(field: &Pointer, previous: Arc<PreviousMark>) -> Self {
        Self {
            fields: PointerSet::new(std::slice::from_ref(field)),
            previous,
        }
    }
}

impl PageFilter for MarkFilter {
    /// Folds `page` into the mark's partial state and returns the page without the records
    /// the last run folded (`None`: keep the page as it is).
    fn apply(
        &self,
        mark: &mut Box<dyn Partial>,
        page: &Page,
    ) -> Result<Option<Page>, ReduceFailure> {
        let mut rows = Vec::with_capacity(page.record_count());
        self.fields
            .scan_each(page.records_json(), &mut rows)
            .map_err(|error| ReduceFailure::Failed(error.to_string()))?;
        let view = PageView::new(page, &rows, 1);
        mark.fold(&view)?;
        if self.previous.is_blank() {
            return Ok(None);
        }
        let records = page.records_json();
        let bounds = page.record_bounds();
        let keep: Vec<bool> = bounds
            .iter()
            .enumerate()
            .map(|(index, &(start, end))| {
                let Some(key) = rows[index].and_then(MarkKey::read) else {
                    return true;
                };
                self.previous
                    .unfolded(
                        &key,
                        record_hash(&records.as_bytes()[start as usize..end as usize]),
                    )
                    .is_none()
            })
            .collect();
        if keep.iter().all(|&kept| kept) {
            return Ok(None);
        }
        let kept: Vec<&str> = bounds
            .iter()
            .zip(&keep)
            .filter(|(_, kept)| **kept)
            .map(|(&(start, end), _)| &records[start as usize..end as usize])
            .collect();
        page.with_records(format!("[{}]", kept.join(",")))
            .map(Some)
            .map_err(|failure| ReduceFailure::Failed(failure.to_string()))
    }
}
