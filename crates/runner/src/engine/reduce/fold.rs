//! Folding pages into one worker's partial states: the fields the built-ins read picked out of
//! each record once, then every reducer's fold; `map` and a parent's `carry` applied first.

use pagefold_fetch::Page;

use super::map::MapProgram;
use super::{PageView, Partial, ReduceError, Reducers};

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

/// One worker's share of the reduce: its partial states, one per reducer in job order, and
/// what it has folded into them (which a checkpoint records).
pub(super) struct Folder {
    pub(super) partials: Vec<Box<dyn Partial>>,
    /// The job's `map`, compiled for this worker, whose thread has the stack it needs.
    map: Option<MapProgram>,
    /// `(chain, page)` of every page folded.
    folded: Vec<(u32, u64)>,
    records: u64,
    rows: Rows,
}

impl Folder {
    /// A folder starting from `partials`, on a thread started with the stack `map` needs when
    /// the job has a `map`.
    pub(super) fn new(
        reducers: &Reducers,
        partials: Vec<Box<dyn Partial>>,
    ) -> Result<Self, ReduceError> {
        let map = match &reducers.map {
            // Checked when the job was loaded.
            Some(code) => Some(
                MapProgram::compile(code)
                    .map_err(|error| ReduceError::Page {
                        url: "`map`".into(),
                        message: error.to_string(),
                    })?
                    // Only reduce threads fold a job with a `map`, and they are started with
                    // that stack.
                    .on_map_stack(),
            ),
            None => None,
        };
        Ok(Self {
            partials,
            map,
            folded: Vec::new(),
            records: 0,
            rows: Rows::default(),
        })
    }

    /// Folds one page: through the filter, the parent's `carry` and `map` first, if any.
    pub(super) fn fold(&mut self, reducers: &Reducers, page: Page) -> Result<(), ReduceError> {
        let partials = &mut self.partials;
        let unseen = match &reducers.filtering {
            Some(filtering) => {
                let index = filtering.index;
                filtering
                    .filter
                    .apply(&mut partials[index], &page)
                    .map_err(|failure| {
                        let (name, reducer) = &reducers.entries[index];
                        let during = Some(format!("on `{}`", page.url()));
                        ReduceError::failed(name, reducer.as_ref(), failure, during)
                    })?
            }
            None => None,
        };
        let page_raw = unseen.as_ref().unwrap_or(&page);
        let carried = match reducers.carried(page.chain()) {
            Some(parent) => Some(with_parent(page_raw, &parent)?),
            None => None,
        };
        let page_in = carried.as_ref().unwrap_or(page_raw);
        match &self.map {
            Some(map) => fold_page(reducers, partials, &mapped(map, page_in)?, &mut self.rows)?,
            None => fold_page(reducers, partials, page_in, &mut self.rows)?,
        }
        self.folded.push((page.chain(), page.index()));
        self.records += page.record_count() as u64;
        Ok(())
    }

    /// Every state saved, and what they cover, for a checkpoint.
    pub(super) fn snapshot(&self, reducers: &Reducers) -> Result<WorkerSnapshot, ReduceError> {
        let states = self
            .partials
            .iter()
            .zip(&reducers.entries)
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
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WorkerSnapshot {
            states,
            folded: self.folded.clone(),
            records: self.records,
        })
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
    kept: &mut Rows,
) -> Result<(), ReduceError> {
    let stride = reducers.fields.len();
    let mut rows = kept.take();
    rows.resize(page.record_count() * stride, None);
    let folded = fold_rows(reducers, partials, page, stride, &mut rows);
    kept.keep(rows);
    folded
}

/// The fields every built-in reads, one row per record, kept from page to page: a page's
/// rows are a few kilobytes, allocated and zeroed for every page before.
#[derive(Debug, Default)]
pub struct Rows(Vec<Option<&'static str>>);

impl Rows {
    /// The buffer, empty, for a page's borrowed fields. Collecting an empty vector into one
    /// of the same layout reuses its allocation.
    fn take<'a>(&mut self) -> Vec<Option<&'a str>> {
        // Empty already: `keep` empties it.
        std::mem::take(&mut self.0)
            .into_iter()
            .map(|_| None)
            .collect()
    }

    /// The buffer back, emptied of the page's fields.
    fn keep(&mut self, mut rows: Vec<Option<&str>>) {
        rows.clear();
        self.0 = rows.into_iter().map(|_| None).collect();
    }
}

fn fold_rows<'a>(
    reducers: &Reducers,
    partials: &mut [Box<dyn Partial>],
    page: &'a Page,
    stride: usize,
    rows: &mut [Option<&'a str>],
) -> Result<(), ReduceError> {
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
    let view = PageView::new(page, rows, stride);
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
