//! A pagefold plugin that sums a field exactly: the twin of the built-in `sum`, so the cost of
//! the plugin boundary can be measured (`pagefold-bench`, scenario 5).
//!
//! ```toml
//! [[reduce]]
//! name = "revenue"
//! plugin = "target/release/libsum_field.so"
//! config = { field = "/amount" }
//! ```

use pagefold_reducer::{ExactSum, Field, Position, Reducer, ReducerError, export_reducer};
use serde::Deserialize;

/// Sums `config.field`; records without it are skipped; `0` on no input.
pub struct SumField {
    field: Field,
}

/// The job's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    field: Field,
}

impl Reducer for SumField {
    type Config = Config;
    type State = ExactSum;
    /// Only the field, picked out while the record is read.
    type Record<'a> = Option<&'a str>;

    fn new(config: Config) -> Result<Self, ReducerError> {
        Ok(Self {
            field: config.field,
        })
    }

    fn init(&self) -> ExactSum {
        ExactSum::default()
    }

    fn read<'de>(&self, record: &'de str) -> Result<Option<&'de str>, ReducerError> {
        self.field.read(record)
    }

    fn fold(
        &self,
        sum: &mut ExactSum,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        if let Some(value) = value {
            self.field.add_to(sum, value)?;
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

export_reducer!(SumField);

#[cfg(test)]
mod tests {
    use pagefold_reducer::laws::{self, proptest::prelude::*};

    use super::*;

    #[test]
    fn keeps_the_merge_laws() {
        let reducer =
            SumField::new(serde_json::from_str(r#"{"field": "/amount"}"#).unwrap()).unwrap();
        let amount = prop_oneof![
            (-1000i64..1000).prop_map(serde_json::Value::from),
            (-1e9f64..1e9).prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
        ];
        laws::check(
            &reducer,
            amount
                .prop_map(|amount| serde_json::json!({ "amount": amount, "other": [1, {"x": 2}] })),
        );
    }
}
