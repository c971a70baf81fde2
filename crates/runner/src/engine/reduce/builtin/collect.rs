//! `collect`: every value of a field, in page order.

use pagefold_reducer::{Position, ReducerError};

use super::Builtin;
use super::value::{present, within_depth};
use crate::job::SketchOptions;

/// Every value of the field, in the order of the pages and of the records in them, whatever
/// order pages arrived in; `[]` on no input. Holds all values in memory: meant for small
/// results (ids, names), not for copying a whole API.
pub(crate) struct Collect;

impl Builtin for Collect {
    type State = Vec<(Position, String)>;

    fn new(_k: usize, _: &SketchOptions) -> Self {
        Collect
    }

    fn init(&self) -> Self::State {
        Vec::new()
    }

    fn fold_value(
        &self,
        values: &mut Self::State,
        value: Option<&str>,
        at: Position,
    ) -> Result<(), ReducerError> {
        if let Some(raw) = present(value) {
            // Refused now, with its page and record, rather than a `null` at the end.
            within_depth(raw, "collect")?;
            values.push((at, raw.to_owned()));
        }
        Ok(())
    }

    fn merge(&self, into: &mut Self::State, other: Self::State) {
        into.extend(other);
    }

    fn finish(&self, mut values: Self::State) -> serde_json::Value {
        values.sort_by_key(|(at, _)| *at);
        values
            .into_iter()
            .map(|(_, raw)| serde_json::from_str(&raw).unwrap_or(serde_json::Value::Null))
            .collect()
    }
}
