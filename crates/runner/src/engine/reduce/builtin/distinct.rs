//! `distinct`: how many different values a field takes.

use pagefold_reducer::{Position, ReducerError};
use serde::{Deserialize, Serialize};

use super::Builtin;
use super::value::{KeyRef, ValueSet, present};
use crate::job::SketchOptions;

/// The exact number of distinct values of a field (`"1"` and `1` are different); `0` on no
/// input.
pub(crate) struct Distinct;

/// The values seen, strings by text and others by compact JSON; looked up without allocating.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Seen {
    text: ValueSet,
    json: ValueSet,
}

impl Builtin for Distinct {
    type State = Seen;

    fn new(_k: usize, _: &SketchOptions) -> Self {
        Distinct
    }

    fn init(&self) -> Seen {
        Seen::default()
    }

    fn fold_value(
        &self,
        seen: &mut Seen,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        if let Some(raw) = present(value) {
            let (set, key) = match KeyRef::read(raw, "distinct")? {
                KeyRef::Text(key) => (&mut seen.text, key),
                KeyRef::Json(key) => (&mut seen.json, key),
            };
            if !set.contains(key.as_ref()) {
                set.insert(key.into_owned());
            }
        }
        Ok(())
    }

    fn merge(&self, into: &mut Seen, other: Seen) {
        into.text.extend(other.text);
        into.json.extend(other.json);
    }

    fn finish(&self, seen: Seen) -> serde_json::Value {
        ((seen.text.len() + seen.json.len()) as u64).into()
    }
}
