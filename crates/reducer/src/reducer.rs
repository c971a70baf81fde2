//! The [`Reducer`] trait and the fold of a page of records.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::{Position, ReducerError};

/// A fold over records that can be split across workers and merged back: see the crate docs
/// for the laws every implementation must keep.
///
/// One value of the implementing type is built per `[[reduce]]` entry of a job, from its
/// `config`, and shared by all workers (hence `Sync`); each worker owns its own
/// [`Reducer::State`]s.
pub trait Reducer: Sized + Send + Sync + 'static {
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

    /// Reads one record of a page. The default deserializes [`Reducer::Record`] with serde.
    /// A reducer whose fields are chosen at run time overrides it to pick them out in the same
    /// pass, e.g. with [`crate::Field::read`] (`type Record<'a> = Option<&'a RawValue>`).
    ///
    /// # Errors
    ///
    /// When the record does not have the shape the reducer needs.
    fn read<'de, D: serde::Deserializer<'de>>(
        &self,
        record: D,
    ) -> Result<Self::Record<'de>, D::Error> {
        Self::Record::<'de>::deserialize(record)
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

/// Folds every record of a JSON array (the records of one page, as the API sent them) into
/// `state`. Record `i` gets the position `first` with `record` increased by `i`.
///
/// # Errors
///
/// When `records` is not a JSON array, when a record does not deserialize into
/// [`Reducer::Record`] (the message names the record), or when [`Reducer::fold`] fails.
pub fn fold_json_array<R: Reducer>(
    reducer: &R,
    state: &mut R::State,
    records: &[u8],
    first: Position,
) -> Result<(), ReducerError> {
    let mut failure = None;
    // One UTF-8 check for the page, instead of one per string and raw value.
    let records = std::str::from_utf8(records)
        .map_err(|e| ReducerError::new(format!("the records are not UTF-8: {e}")))?;
    let mut deserializer = serde_json::Deserializer::from_str(records);
    let seed = ArraySeed {
        reducer,
        state,
        first,
        failure: &mut failure,
        record: PhantomData,
    };
    let parsed = seed
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    if let Some(failure) = failure {
        return Err(failure);
    }
    parsed.map_err(|e| ReducerError::new(without_position(&e)))
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

/// Reads a record with [`Reducer::read`].
struct ReadRecord<'r, R> {
    reducer: &'r R,
}

impl<'de, R: Reducer> DeserializeSeed<'de> for ReadRecord<'_, R> {
    type Value = R::Record<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        self.reducer.read(deserializer)
    }
}

struct ArraySeed<'r, R: Reducer> {
    reducer: &'r R,
    state: &'r mut R::State,
    first: Position,
    failure: &'r mut Option<ReducerError>,
    record: PhantomData<R>,
}

impl<'de, R: Reducer> DeserializeSeed<'de> for ArraySeed<'_, R> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, R: Reducer> Visitor<'de> for ArraySeed<'_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut at = self.first;
        loop {
            let read = ReadRecord {
                reducer: self.reducer,
            };
            let record = match seq.next_element_seed(read) {
                Ok(Some(record)) => record,
                Ok(None) => return Ok(()),
                Err(error) => {
                    let message = error.to_string();
                    let message = match message.rfind(" at line ") {
                        Some(cut) => &message[..cut],
                        None => &message,
                    };
                    *self.failure = Some(ReducerError::new(format!(
                        "record {}: {message}",
                        at.record
                    )));
                    return Err(error);
                }
            };
            if let Err(error) = self.reducer.fold(self.state, record, at) {
                *self.failure = Some(ReducerError::new(format!("record {}: {error}", at.record)));
                return Err(serde::de::Error::custom("fold failed"));
            }
            at.record += 1;
        }
    }
}
