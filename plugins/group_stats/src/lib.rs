//! A pagefold plugin: a group-by in one pass. For each value of a key field, the number of
//! records and the count, sum, min, max and mean of a numeric field.
//!
//! ```toml
//! [[reduce]]
//! name = "amount_by_status"
//! plugin = "target/release/libgroup_stats.so"
//! config = { key = "/status", field = "/amount" }
//! ```
//!
//! The result: `{"paid": {"records": 10, "count": 9, "sum": …, "min": …, "max": …, "mean": …}, …}`
//! where `records` counts the group's records and `count` those with a number in `field`.
//! Records without the key are grouped under `null`. Sums are exact ([`ExactSum`]), so the
//! result is the same for any split of pages across workers.

use std::collections::BTreeMap;

use pagefold_reducer::json::PointerSet;
use pagefold_reducer::{ExactSum, Field, Position, Reducer, ReducerError, export_reducer};
use serde::{Deserialize, Serialize};

/// The job's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    key: Field,
    field: Field,
}

/// The reducer.
pub struct GroupStats {
    field: Field,
    /// The key and the field, picked out of a record in one pass.
    both: PointerSet,
}

/// One group's statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    records: u64,
    count: u64,
    sum: ExactSum,
    min: Option<f64>,
    max: Option<f64>,
}

impl Group {
    fn merge(&mut self, other: Group) {
        self.records += other.records;
        self.count += other.count;
        self.sum.merge(&other.sum);
        self.min = [self.min, other.min].into_iter().flatten().reduce(f64::min);
        self.max = [self.max, other.max].into_iter().flatten().reduce(f64::max);
    }
}

fn group_label(raw: Option<&str>) -> String {
    match raw {
        None => "null".into(),
        Some(raw) => match serde_json::from_str::<String>(raw) {
            Ok(text) => text,
            Err(_) => raw.to_owned(),
        },
    }
}

impl Reducer for GroupStats {
    type Config = Config;
    type State = BTreeMap<String, Group>;
    /// The key and the field, `None` where the record lacks them (or has `null`).
    type Record<'a> = [Option<&'a str>; 2];

    fn new(config: Config) -> Result<Self, ReducerError> {
        let both = PointerSet::new([config.key.pointer(), config.field.pointer()]);
        Ok(Self {
            field: config.field,
            both,
        })
    }

    fn read<'de>(&self, record: &'de str) -> Result<Self::Record<'de>, ReducerError> {
        let mut found = [None, None];
        self.both
            .scan(record, &mut found)
            .map_err(|e| ReducerError::new(format!("the record is not JSON: {e}")))?;
        Ok(found.map(|value| value.filter(|text| *text != "null")))
    }

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn fold(
        &self,
        groups: &mut Self::State,
        [key, value]: Self::Record<'_>,
        _: Position,
    ) -> Result<(), ReducerError> {
        let label = group_label(key);
        let number = value.map(|value| self.field.to_number(value)).transpose()?;
        let group = groups.entry(label).or_default();
        group.records += 1;
        if let (Some(number), Some(value)) = (number, value) {
            let x = number.as_f64();
            group.count += 1;
            self.field.add_to(&mut group.sum, value)?;
            group.min = Some(group.min.map_or(x, |m| m.min(x)));
            group.max = Some(group.max.map_or(x, |m| m.max(x)));
        }
        Ok(())
    }

    fn merge(&self, into: &mut Self::State, other: Self::State) {
        for (label, group) in other {
            into.entry(label).or_default().merge(group);
        }
    }

    fn finish(&self, groups: Self::State) -> serde_json::Value {
        groups
            .into_iter()
            .map(|(label, group)| {
                let mean = group.sum.mean(group.count);
                let sum = group.sum.to_json();
                let stats = serde_json::json!({
                    "records": group.records,
                    "count": group.count,
                    "sum": sum,
                    "min": group.min,
                    "max": group.max,
                    "mean": mean,
                });
                (label, stats)
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

export_reducer!(GroupStats);

#[cfg(test)]
mod tests {
    use pagefold_reducer::laws::{self, proptest::prelude::*};
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn keeps_the_merge_laws() {
        let config = serde_json::from_value(json!({ "key": "/g", "field": "/x" })).unwrap();
        let reducer = GroupStats::new(config).unwrap();
        let group = prop_oneof![
            Just(json!("a")),
            Just(json!("b")),
            Just(json!(3)),
            Just(Value::Null)
        ];
        let x = prop_oneof![
            (-1e6f64..1e6).prop_map(Value::from),
            (0i64..100).prop_map(Value::from),
            Just(Value::Null)
        ];
        laws::check(
            &reducer,
            (group, x).prop_map(|(g, x)| json!({ "g": g, "x": x })),
        );
    }
}
