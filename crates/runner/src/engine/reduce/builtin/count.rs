//! `count`: the number of records.

use pagefold_reducer::{Position, ReducerError};

use super::Builtin;
use crate::job::SketchOptions;

/// Counts records; `0` on no input.
pub(crate) struct Count;

impl Builtin for Count {
    type State = u64;

    fn new(_k: usize, _: &SketchOptions) -> Self {
        Count
    }

    fn init(&self) -> u64 {
        0
    }

    fn fold_value(
        &self,
        count: &mut u64,
        _: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        *count += 1;
        Ok(())
    }

    fn merge(&self, into: &mut u64, other: u64) {
        *into += other;
    }

    fn finish(&self, count: u64) -> serde_json::Value {
        count.into()
    }
}
