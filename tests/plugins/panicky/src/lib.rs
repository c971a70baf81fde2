//! Test fixture: a reducer that counts records and panics on the record whose `id` is
//! `config.panic_on_id`, to show that a plugin's panic becomes an error, not a crash.

use pagefold_reducer::{Position, Reducer, ReducerError, export_reducer};
use serde::Deserialize;

/// Counts records; panics on one.
pub struct Panicky {
    panic_on_id: u64,
}

/// The job's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    panic_on_id: u64,
}

/// The one field read.
#[derive(Deserialize)]
pub struct Record {
    id: u64,
}

impl Reducer for Panicky {
    type Config = Config;
    type State = u64;
    type Record<'a> = Record;

    fn new(config: Config) -> Result<Self, ReducerError> {
        Ok(Self {
            panic_on_id: config.panic_on_id,
        })
    }

    fn init(&self) -> u64 {
        0
    }

    fn fold(&self, count: &mut u64, record: Record, _: Position) -> Result<(), ReducerError> {
        assert!(
            record.id != self.panic_on_id,
            "record {} is cursed",
            record.id
        );
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

export_reducer!(Panicky);
