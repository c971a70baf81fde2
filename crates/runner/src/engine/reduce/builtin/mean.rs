//! `mean`: the arithmetic mean of a numeric field.

use pagefold_reducer::{Position, ReducerError};
use serde::{Deserialize, Serialize};

use super::Builtin;
use super::value::{ExactSum, add_exactly, present};
use crate::job::SketchOptions;

/// The mean of a numeric field: the exact decimal sum divided by the count, rounded once to
/// 17 significant digits (so independent of order); `null` on no input.
pub(crate) struct Mean;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct MeanState {
    sum: ExactSum,
    count: u64,
}

impl Builtin for Mean {
    type State = MeanState;

    fn new(_k: usize, _: &SketchOptions) -> Self {
        Mean
    }

    fn init(&self) -> MeanState {
        MeanState::default()
    }

    fn fold_value(
        &self,
        state: &mut MeanState,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        if let Some(raw) = present(value) {
            add_exactly(&mut state.sum, raw, "mean")?;
            state.count += 1;
        }
        Ok(())
    }

    fn merge(&self, into: &mut MeanState, other: MeanState) {
        into.sum.merge(&other.sum);
        into.count += other.count;
    }

    fn finish(&self, state: MeanState) -> serde_json::Value {
        state.sum.mean(state.count)
    }
}
