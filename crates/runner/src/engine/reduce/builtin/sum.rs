//! `sum`: the exact sum of a numeric field.

use pagefold_reducer::{Position, ReducerError};

use super::Builtin;
use super::value::{ExactSum, add_exactly, present};
use crate::job::SketchOptions;

/// Sums a numeric field exactly, in decimal, in any order: an integer when every value is an
/// integer, else every digit of the exact sum (`0.1 + 0.2` is `0.3`); `0` on no input.
pub(crate) struct Sum;

impl Builtin for Sum {
    type State = ExactSum;

    fn new(_k: usize, _: &SketchOptions) -> Self {
        Sum
    }

    fn init(&self) -> ExactSum {
        ExactSum::default()
    }

    fn fold_value(
        &self,
        sum: &mut ExactSum,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        if let Some(raw) = present(value) {
            add_exactly(sum, raw, "sum")?;
        }
        Ok(())
    }

    fn merge(&self, into: &mut ExactSum, other: ExactSum) {
        into.merge(&other);
    }

    fn finish(&self, sum: ExactSum) -> serde_json::Value {
        sum.to_json()
    }
}
