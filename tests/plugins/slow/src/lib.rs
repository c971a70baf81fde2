//! Test fixture: a reducer that counts records and sleeps `config.sleep_ms` on the first
//! record of every page: a slow reducer, without burning the CPU the test shares.

use std::time::Duration;

use pagefold_reducer::{Position, Reducer, ReducerError, export_reducer};
use serde::Deserialize;

/// Counts records, slowly.
pub struct Slow {
    sleep: Duration,
}

/// The job's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    sleep_ms: u64,
}

impl Reducer for Slow {
    type Config = Config;
    type State = u64;
    type Record<'a> = serde::de::IgnoredAny;

    fn new(config: Config) -> Result<Self, ReducerError> {
        Ok(Self {
            sleep: Duration::from_millis(config.sleep_ms),
        })
    }

    fn init(&self) -> u64 {
        0
    }

    fn fold(
        &self,
        count: &mut u64,
        _: serde::de::IgnoredAny,
        at: Position,
    ) -> Result<(), ReducerError> {
        if at.record == 0 {
            std::thread::sleep(self.sleep);
        }
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

export_reducer!(Slow);
