//! `sum`: the exact sum of a numeric field.

use pagefold_reducer::{Position, ReducerError};

use super::Builtin;
use super::value::{ExactSum, number, present};

/// Sums a numeric field: an exact integer when every value is an integer, else the correctly
/// rounded sum of all values (independent of order); `0` on no input.
pub(crate) struct Sum;

impl Builtin for Sum {
    type State = ExactSum;

    fn new(_k: usize) -> Self {
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
            sum.add(number(raw, "sum")?);
        }
        Ok(())
    }

    fn merge(&self, into: &mut ExactSum, other: ExactSum) {
        into.merge(&other);
    }

    fn finish(&self, sum: ExactSum) -> serde_json::Value {
        sum.total().to_json()
    }
}
