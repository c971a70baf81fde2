//! A pagefold plugin: the top N *whole records* by a numeric field, which no built-in can do
//! (built-ins keep values, not records).
//!
//! ```toml
//! [[reduce]]
//! name = "biggest_orders"
//! plugin = "target/release/libtop_records.so"
//! config = { by = "/amount", n = 5 }              # order = "desc" (default) or "asc"
//! ```
//!
//! The result is an array of up to `n` records as the API sent them, best first; ties go to
//! the record that comes first in page order (its [`Position`]), so the result is the same
//! whatever order pages arrive in. Records without the field are skipped. Memory: `n` records
//! per worker.

use pagefold_reducer::{Field, Position, Reducer, ReducerError, export_reducer};
use serde::{Deserialize, Serialize};

/// The job's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    by: Field,
    #[serde(default = "default_n")]
    n: usize,
    #[serde(default)]
    order: Order,
}

fn default_n() -> usize {
    10
}

/// Largest first or smallest first.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Largest first.
    #[default]
    Desc,
    /// Smallest first.
    Asc,
}

/// The reducer.
pub struct TopRecords {
    by: Field,
    n: usize,
    order: Order,
}

/// A kept record with its sort key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    key: f64,
    at: Position,
    record: String,
}

impl TopRecords {
    /// Best first: by key in the configured order, then by position.
    fn sort(&self, kept: &mut Vec<Kept>) {
        kept.sort_by(|a, b| {
            let by_key = match self.order {
                Order::Desc => b.key.total_cmp(&a.key),
                Order::Asc => a.key.total_cmp(&b.key),
            };
            by_key.then(a.at.cmp(&b.at))
        });
        kept.truncate(self.n);
    }
}

impl Reducer for TopRecords {
    type Config = Config;
    type State = Vec<Kept>;
    /// The whole record, as the API sent it.
    type Record<'a> = &'a str;

    fn new(config: Config) -> Result<Self, ReducerError> {
        if config.n == 0 {
            return Err(ReducerError::new("`n` must be at least 1"));
        }
        Ok(Self {
            by: config.by,
            n: config.n,
            order: config.order,
        })
    }

    fn init(&self) -> Vec<Kept> {
        Vec::new()
    }

    fn read<'de>(&self, record: &'de str) -> Result<&'de str, ReducerError> {
        Ok(record)
    }

    fn fold(&self, kept: &mut Vec<Kept>, record: &str, at: Position) -> Result<(), ReducerError> {
        let Some(key) = self.by.number(record)? else {
            return Ok(());
        };
        kept.push(Kept {
            key: key.as_f64(),
            at,
            record: record.to_owned(),
        });
        // Sort only when the buffer has doubled, so folding stays O(1) amortised per record.
        if kept.len() >= 2 * self.n {
            self.sort(kept);
        }
        Ok(())
    }

    fn merge(&self, into: &mut Vec<Kept>, other: Vec<Kept>) {
        into.extend(other);
        self.sort(into);
    }

    fn finish(&self, mut kept: Vec<Kept>) -> serde_json::Value {
        self.sort(&mut kept);
        kept.into_iter()
            .map(|k| {
                serde_json::from_str::<serde_json::Value>(&k.record).expect("kept records are JSON")
            })
            .collect()
    }
}

export_reducer!(TopRecords);

#[cfg(test)]
mod tests {
    use pagefold_reducer::laws::{self, proptest::prelude::*};
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_the_merge_laws() {
        for order in ["desc", "asc"] {
            let config =
                serde_json::from_value(json!({ "by": "/x", "n": 3, "order": order })).unwrap();
            let reducer = TopRecords::new(config).unwrap();
            let record = (0i64..20, 0u32..1000).prop_map(|(x, id)| json!({ "x": x, "id": id }));
            // The state is a buffer sorted only when it doubles, so equal states may save
            // differently: results only.
            let outcome = laws::Laws::new()
                .compare_states(false)
                .check(&reducer, record);
            outcome.unwrap_or_else(|failure| panic!("{failure}"));
        }
    }
}
