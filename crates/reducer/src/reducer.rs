//! The [`Reducer`] trait and the fold of a page of records.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::abi::RecordBounds;
use crate::{Position, ReducerError};

/// A fold over records that can be split across workers and merged back: see the crate docs
/// for the laws every implementation must keep.
///
/// One value of the implementing type is built per `[[reduce]]` entry of a job, from its
/// `config`, and shared by all workers (hence `Sync`); each worker owns its own
/// [`Reducer::State`]s.
pub trait Reducer: Sized + Send + Sync + 'static {
    /// The version of what [`Reducer::save`] writes, recorded beside every saved state in
    /// pagefold's checkpoints and incremental states. Raise it when a new release of the plugin
    /// can no longer [`Reducer::load`] what an older one saved: pagefold then refuses to resume
    /// from the old states (and says how to start over) instead of failing halfway or, worse,
    /// misreading them. A release whose `load` still reads the older format keeps the number.
    const STATE_FORMAT: u32 = 1;

    /// What the `config` table of the job's `[[reduce]]` entry deserializes into.
    type Config: DeserializeOwned;
    /// A partial result. It must serialize, so that runs can be checkpointed and resumed.
    type State: Serialize + DeserializeOwned + Send;
    /// One record as this reducer reads it. Name only the fields you need: serde skips the
    /// rest without building them, and borrowed fields (`&'a str`) avoid copies.
    type Record<'a>: Deserialize<'a>;

    /// Builds the reducer from its job configuration. Reject a bad config here, with a message
    /// that names the key and what is expected.
    fn new(config: Self::Config) -> Result<Self, ReducerError>;

    /// A fresh state: the identity of [`Reducer::merge`].
    fn init(&self) -> Self::State;

    /// Folds one record into a state. An error stops the run and is reported with the page URL
    /// and the record's position.
    fn fold(
        &self,
        state: &mut Self::State,
        record: Self::Record<'_>,
        at: Position,
    ) -> Result<(), ReducerError>;

    /// Merges `other` into `into`. Must be associative and commutative, with
    /// [`Reducer::init`] as identity.
    fn merge(&self, into: &mut Self::State, other: Self::State);

    /// Turns the final state into the value the result document shows for this reducer.
    fn finish(&self, state: Self::State) -> serde_json::Value;

    /// Reads one record of a page from its JSON text. The default deserializes
    /// [`Reducer::Record`] with serde. A reducer whose fields are chosen at run time overrides
    /// it to pick them out without a full parse, e.g. with [`crate::Field::read`] and
    /// `type Record<'a> = Option<&'a str>`.
    ///
    /// # Errors
    ///
    /// When the record does not have the shape the reducer needs.
    fn read<'de>(&self, record: &'de str) -> Result<Self::Record<'de>, ReducerError> {
        serde_json::from_str(record).map_err(|e| ReducerError::new(without_position(&e)))
    }

    /// Serializes a state (JSON by default).
    fn save(&self, state: &Self::State) -> Result<Vec<u8>, ReducerError> {
        serde_json::to_vec(state).map_err(|e| ReducerError::new(format!("cannot save state: {e}")))
    }

    /// Reads a state written by [`Reducer::save`].
    fn load(&self, bytes: &[u8]) -> Result<Self::State, ReducerError> {
        serde_json::from_slice(bytes)
            .map_err(|e| ReducerError::new(format!("cannot load state: {e}")))
    }
}

/// Folds the records of a page into `state`: `records` is the page's records array and
/// `bounds` where each record is in it (the runner found them while checking the page, so
/// nothing here splits the array again). Record `i` gets the position `first` with `record`
/// increased by `i`.
///
/// # Errors
///
/// When `records` is not UTF-8 or a bound is outside it, when a record cannot be read (the
/// message names the record), or when [`Reducer::fold`] fails.
pub fn fold_records<R: Reducer>(
    reducer: &R,
    state: &mut R::State,
    records: &[u8],
    bounds: &[RecordBounds],
    first: Position,
) -> Result<(), ReducerError> {
    let records = std::str::from_utf8(records)
        .map_err(|e| ReducerError::new(format!("the records are not UTF-8: {e}")))?;
    let mut at = first;
    for bound in bounds {
        let record = records
            .get(bound.start as usize..bound.end as usize)
            .ok_or_else(|| {
                ReducerError::new(format!("record {} is out of the page's bounds", at.record))
            })?;
        let read = reducer
            .read(record)
            .map_err(|e| ReducerError::new(format!("record {}: {e}", at.record)))?;
        reducer
            .fold(state, read, at)
            .map_err(|e| ReducerError::new(format!("record {}: {e}", at.record)))?;
        at.record += 1;
    }
    Ok(())
}

/// Folds every record of a JSON array into `state`, for tests and tools that hold a page's
/// records as JSON text: the array is split with [`pagefold_json::elements`], then as
/// [`fold_records`].
///
/// # Errors
///
/// When `records` is not a JSON array, or as [`fold_records`].
pub fn fold_json_array<R: Reducer>(
    reducer: &R,
    state: &mut R::State,
    records: &str,
    first: Position,
) -> Result<(), ReducerError> {
    let mut bounds = Vec::new();
    for element in pagefold_json::elements(records) {
        let element = element
            .map_err(|e| ReducerError::new(format!("the records are not a JSON array: {e}")))?;
        let start = element.as_ptr() as usize - records.as_ptr() as usize;
        let bound = |offset: usize| {
            u32::try_from(offset).map_err(|_| ReducerError::new("the records are over 4 GiB"))
        };
        bounds.push(RecordBounds {
            start: bound(start)?,
            end: bound(start + element.len())?,
        });
    }
    fold_records(reducer, state, records.as_bytes(), &bounds, first)
}

/// serde_json appends "at line L column C" to its messages; across the plugin boundary those
/// positions refer to bytes the user never sees, so they are dropped.
pub(crate) fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) if error.line() != 0 => text[..cut].to_owned(),
        _ => text,
    }
}
