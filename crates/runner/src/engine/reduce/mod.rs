//! The reduce side: reducers built from the job, worker threads that fold pages into partial
//! states, and the merge of those states at the end.

mod builtin;
pub mod coverage;
mod filter;
mod fold;
pub mod map;
mod plugin;
mod plugin_error;
mod plugin_info;
mod worker;

use std::any::Any;
use std::sync::Arc;

use pagefold_fetch::Page;
use pagefold_json::{Pointer, PointerSet};
use pagefold_reducer::Position;

pub use filter::PageFilter;
pub use fold::{Rows, WorkerSnapshot, fold_page};
pub use plugin::{PluginError, PluginLibrary};
pub use plugin_info::{Build, PluginIdentity, PluginInfo};
pub use worker::{Merged, Placement, Work, WorkerPool};

use crate::job::{ReduceSpec, ReducerUse};

/// A configured reducer, shared by all workers.
pub trait Reduce: Send + Sync {
    /// What it is, for messages: "built-in `sum`", "plugin `quantiles` 0.1.0 (`path`)".
    fn describe(&self) -> String;
    /// The field the runner extracts for it, if it reads one that way.
    fn field(&self) -> Option<&Pointer> {
        None
    }
    /// For a plugin: whose states it saves, in which format (checkpoints record it).
    fn plugin(&self) -> Option<PluginIdentity> {
        None
    }
    /// A fresh partial state; `slot` is where its field is in [`PageView`] rows.
    fn partial(&self, slot: Option<usize>) -> Result<Box<dyn Partial>, ReduceFailure>;
    /// A partial state read back from [`Partial::save`]'s bytes (a checkpoint).
    fn restore(&self, slot: Option<usize>, bytes: &[u8])
    -> Result<Box<dyn Partial>, ReduceFailure>;
}

/// One worker's partial state of one reducer.
pub trait Partial: Send {
    /// Folds the records of a page.
    fn fold(&mut self, page: &PageView<'_>) -> Result<(), ReduceFailure>;
    /// Merges another partial state of the same reducer into this one.
    fn merge(&mut self, other: Box<dyn Partial>) -> Result<(), ReduceFailure>;
    /// Serializes the state, for a checkpoint.
    fn save(&self) -> Result<Vec<u8>, ReduceFailure>;
    /// The reducer's value in the result document.
    fn finish(self: Box<Self>) -> Result<serde_json::Value, ReduceFailure>;
    /// For [`Partial::merge`], which needs the concrete type of the other state.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// Why a reducer failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReduceFailure {
    /// It returned an error.
    #[error("{0}")]
    Failed(String),
    /// It panicked (plugins only: a built-in's panic is a bug and aborts the worker).
    #[error("panicked: {0}")]
    Panicked(String),
}

/// A page as the reducers see it: its records, and the fields of each record that built-ins
/// read, extracted once for all of them.
pub struct PageView<'a> {
    /// The page.
    pub page: &'a Page,
    /// How many records it has.
    pub count: usize,
    rows: &'a [Option<&'a str>],
    stride: usize,
}

impl<'a> PageView<'a> {
    /// A view of `page` whose `rows` hold `stride` fields a record.
    pub(crate) fn new(page: &'a Page, rows: &'a [Option<&'a str>], stride: usize) -> Self {
        Self {
            page,
            count: page.record_count(),
            rows,
            stride,
        }
    }

    /// Field `slot` of record `record`.
    pub fn value(&self, record: usize, slot: usize) -> Option<&str> {
        self.rows[record * self.stride + slot]
    }

    /// Where record `record` is in the run.
    pub fn position(&self, record: usize) -> Position {
        Position {
            chain: self.page.chain(),
            page: self.page.index(),
            record: record as u32,
        }
    }
}

/// The job's reducers, in job order, and the fields to extract for the built-ins.
pub struct Reducers {
    entries: Vec<(String, Arc<dyn Reduce>)>,
    /// The `map` program every record goes through first, if any.
    map: Option<String>,
    /// Per child chain, the parent fields (`carry`) added to its records as `"_parent"`.
    carry: std::sync::Mutex<std::collections::HashMap<u32, String>>,
    fields: PointerSet,
    slots: Vec<Option<usize>>,
    /// The job's reducers are `entries[..user_len]`; the coverage counts follow, then a
    /// filter's hidden reducer, if any.
    user_len: usize,
    /// What every page goes through first, if anything.
    filtering: Option<filter::Filtering>,
    /// Whether every reducer's merged state is saved at the end of the run (a shard's part
    /// holds them), not only a filtered run's.
    keep_states: bool,
}

/// A reducer that could not be set up or failed while running.
#[derive(Debug, thiserror::Error)]
pub enum ReduceError {
    /// A plugin library could not be loaded.
    #[error("reducer `{name}`: {problem}")]
    Load {
        /// The reducer's name.
        name: String,
        /// Why (shown in the message, so not a `source`).
        problem: PluginError,
    },
    /// The records of a page could not be read for the reducers.
    #[error("the records of `{url}` cannot be read: {message}")]
    Page {
        /// The page, redacted.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A reducer failed.
    #[error("reducer `{name}` ({what}) {failure}{}", .during.as_ref().map(|d| format!(" {d}")).unwrap_or_default())]
    Failed {
        /// The reducer's name.
        name: String,
        /// What it is.
        what: String,
        /// What it was doing, e.g. "on page 3 of `URL`".
        during: Option<String>,
        /// What happened.
        failure: ReduceFailure,
    },
}

impl ReduceError {
    fn failed(
        name: &str,
        reducer: &dyn Reduce,
        failure: ReduceFailure,
        during: Option<String>,
    ) -> Self {
        let failure = match failure {
            // "panicked: …" reads after the reducer's description; an error needs a verb.
            ReduceFailure::Failed(message) => ReduceFailure::Failed(format!("failed: {message}")),
            panicked => panicked,
        };
        Self::Failed {
            name: name.to_owned(),
            what: reducer.describe(),
            during,
            failure,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Load { problem, .. } => problem.hint(),
            Self::Failed {
                failure: ReduceFailure::Panicked(_),
                ..
            } => Some(
                "this is a bug in the plugin: report it to its author with the message above"
                    .into(),
            ),
            Self::Failed { .. } | Self::Page { .. } => None,
        }
    }
}

impl Reducers {
    /// Builds the reducers of a job: built-ins, and plugins loaded and configured.
    ///
    /// # Errors
    ///
    /// When a plugin cannot be loaded or rejects its config.
    pub fn build(specs: &[ReduceSpec]) -> Result<Self, ReduceError> {
        let mut entries: Vec<(String, Arc<dyn Reduce>)> = Vec::new();
        for spec in specs {
            let reducer = match &spec.reducer {
                ReducerUse::Builtin {
                    kind,
                    field,
                    k,
                    sketch,
                } => builtin::build(*kind, field.clone(), *k, sketch),
                ReducerUse::Plugin { path, config } => {
                    let load = |problem| ReduceError::Load {
                        name: spec.name.clone(),
                        problem,
                    };
                    let library = PluginLibrary::load(path).map_err(load)?;
                    if let Some(warning) = library.info().build_warning() {
                        crate::terminal::warn(&format!("reducer `{}`: {warning}", spec.name));
                    }
                    Arc::new(Arc::new(library.reducer(config).map_err(load)?))
                }
            };
            entries.push((spec.name.clone(), reducer));
        }
        let user_len = entries.len();
        // Hidden after the job's reducers: the records that reach them, and each field a
        // built-in reads, counted (see `coverage`).
        let mut covered: Vec<Option<Pointer>> = vec![None];
        for (_, reducer) in &entries {
            if let Some(field) = reducer.field()
                && !covered.iter().flatten().any(|seen| seen == field)
            {
                covered.push(Some(field.clone()));
            }
        }
        for field in covered {
            let name = format!(
                "{}{}",
                coverage::HIDDEN,
                field.as_ref().map(ToString::to_string).unwrap_or_default()
            );
            entries.push((name, Arc::new(coverage::Coverage { field })));
        }
        let wanted: Vec<Pointer> = entries
            .iter()
            .filter_map(|(_, r)| r.field().cloned())
            .collect();
        let fields = PointerSet::new(&wanted);
        let slots = entries
            .iter()
            .map(|(_, r)| r.field().and_then(|f| fields.slot_of(f)))
            .collect();
        Ok(Self {
            map: None,
            carry: Default::default(),
            user_len,
            entries,
            fields,
            slots,
            filtering: None,
            keep_states: false,
        })
    }

    /// Per reducer, in job order: the plugin whose states it saves, if it is a plugin.
    pub fn plugins(&self) -> Vec<Option<PluginIdentity>> {
        self.entries[..self.user_len]
            .iter()
            .map(|(_, reducer)| reducer.plugin())
            .collect()
    }

    /// What each reducer is, `name: description`, for telling whether carried states fit.
    pub fn fingerprint(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|(name, reducer)| format!("{name}: {}", reducer.describe()))
            .collect()
    }

    /// One worker's starting states from a checkpoint: every saved worker's states read back
    /// and merged.
    ///
    /// # Errors
    ///
    /// When a state cannot be read back or merged.
    pub fn restore(&self, saved: &[Vec<Vec<u8>>]) -> Result<Vec<Box<dyn Partial>>, ReduceError> {
        let mut merged = self.partials()?;
        for worker in saved {
            for ((into, bytes), ((name, reducer), slot)) in merged
                .iter_mut()
                .zip(worker)
                .zip(self.entries.iter().zip(&self.slots))
            {
                let during = || Some("while resuming from the checkpoint".to_owned());
                let restored = reducer.restore(*slot, bytes).map_err(|failure| {
                    ReduceError::failed(name, reducer.as_ref(), failure, during())
                })?;
                into.merge(restored).map_err(|failure| {
                    ReduceError::failed(name, reducer.as_ref(), failure, during())
                })?;
            }
        }
        Ok(merged)
    }

    /// Saves every reducer's merged state at the end of the run, for a shard's part.
    pub fn keep_states(&mut self) {
        self.keep_states = true;
    }

    /// The value of each reducer from merged states: saved first when the run keeps them,
    /// then finished; the coverage counts apart.
    ///
    /// # Errors
    ///
    /// When a reducer fails to save or finish.
    pub fn conclude(&self, partials: Vec<Box<dyn Partial>>) -> Result<Merged, ReduceError> {
        let states = if self.is_filtered() || self.keep_states {
            let mut states = Vec::new();
            for (partial, (name, reducer)) in partials.iter().zip(&self.entries) {
                states.push(partial.save().map_err(|failure| {
                    ReduceError::failed(
                        name,
                        reducer.as_ref(),
                        failure,
                        Some("while saving its state".into()),
                    )
                })?);
            }
            Some(states)
        } else {
            None
        };
        let mut values = Vec::new();
        let mut coverage = Vec::new();
        for (partial, (name, reducer)) in partials.into_iter().zip(&self.entries) {
            let value = partial.finish().map_err(|failure| {
                ReduceError::failed(
                    name,
                    reducer.as_ref(),
                    failure,
                    Some("while finishing".into()),
                )
            })?;
            match name.strip_prefix(coverage::HIDDEN) {
                Some(field) => coverage.push((
                    field.to_owned(),
                    serde_json::from_value(value).unwrap_or_default(),
                )),
                None => values.push((name.clone(), value)),
            }
        }
        Ok(Merged {
            values,
            states,
            coverage,
        })
    }

    /// Adds `parent` (a JSON object) to every record of `chain`, as `"_parent"`.
    pub fn carry(&self, chain: u32, parent: String) {
        self.carry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(chain, parent);
    }

    fn carried(&self, chain: u32) -> Option<String> {
        let carry = self
            .carry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if carry.is_empty() {
            None
        } else {
            carry.get(&chain).cloned()
        }
    }

    /// Runs every record through the jq program `map` before the reducers see it.
    pub fn set_map(&mut self, map: Option<String>) {
        self.map = map;
    }

    /// The reducers' names, in job order (the filter's too; the coverage counts are not the
    /// job's and say nothing of which job a checkpoint is of).
    pub fn names(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| !name.starts_with(coverage::HIDDEN))
            .collect()
    }

    /// Fresh states, saved: one per reducer, in job order.
    ///
    /// # Errors
    ///
    /// When a reducer cannot create or save a state.
    pub fn fresh_states(&self) -> Result<Vec<Vec<u8>>, ReduceError> {
        self.partials()?
            .iter()
            .zip(&self.entries)
            .map(|(partial, (name, reducer))| {
                partial
                    .save()
                    .map_err(|failure| ReduceError::failed(name, reducer.as_ref(), failure, None))
            })
            .collect()
    }

    /// Where pages are folded: on reduce threads when `threads` is asked for (`--workers`,
    /// `[fetch] workers`), or when a plugin or `map` may take long on a page (the number of
    /// cores); else beside the requests (see [`Placement`]).
    pub fn placement(&self, threads: Option<usize>) -> Placement {
        let may_take_long = self.map.is_some()
            || self
                .entries
                .iter()
                .any(|(_, reducer)| reducer.plugin().is_some());
        let threads = match threads {
            Some(threads) => threads,
            None if may_take_long => std::thread::available_parallelism().map_or(2, usize::from),
            None => return Placement::Task,
        };
        // Asked for or counted, within what a machine sensibly runs.
        Placement::Threads(threads.clamp(1, 256))
    }

    /// Fresh partial states, one per reducer.
    ///
    /// # Errors
    ///
    /// When a reducer cannot create a state.
    pub fn partials(&self) -> Result<Vec<Box<dyn Partial>>, ReduceError> {
        self.entries
            .iter()
            .zip(&self.slots)
            .map(|((name, reducer), slot)| {
                reducer
                    .partial(*slot)
                    .map_err(|failure| ReduceError::failed(name, reducer.as_ref(), failure, None))
            })
            .collect()
    }
}
