//! The engine: a job run from its validated [`Job`](crate::job::Job) to its result document.
//!
//! [`run`] prepares a run (reducers first, so a bad plugin fails before any request), fetches
//! (the fetch crate) into a bounded channel that [`reduce`] worker threads drain, merges their
//! states and assembles the result. [`checkpoint`] saves and resumes a run; [`incremental`]
//! plugs into the reduce side as a page filter, so that a run folds only what is new;
//! [`tracked`] wraps a run with what the state folder keeps (the lock, the history, the
//! incremental mark).

pub mod checkpoint;
pub mod incremental;
mod name_claim;
pub mod reduce;
pub mod run;
pub mod tracked;
mod tracked_entry;
mod tracked_error;
