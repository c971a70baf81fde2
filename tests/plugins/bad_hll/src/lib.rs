//! Test fixture: a HyperLogLog of a field whose `merge` adds registers instead of taking their
//! maximum. Its estimates stay right while few values are counted (the small-count correction
//! only looks at empty registers), so a law check that compares results of small cases passes
//! it; the tests below pin that `laws` catches it, naming the law that broke.

use pagefold_reducer::{Field, Position, Reducer, ReducerError, export_reducer};
use serde::Deserialize;

/// Estimates the number of distinct values of a field.
pub struct BadHll {
    field: Field,
    precision: u8,
}

/// The job's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    field: Field,
    precision: u8,
}

/// FNV-1a, then a 64-bit finaliser: a hash stable across builds.
fn hash(text: &str) -> u64 {
    let mut hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    });
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash
}

impl Reducer for BadHll {
    type Config = Config;
    type State = Vec<u8>;
    type Record<'a> = Option<&'a str>;

    fn new(config: Config) -> Result<Self, ReducerError> {
        if !(4..=16).contains(&config.precision) {
            return Err(ReducerError::new("`precision` is from 4 to 16"));
        }
        Ok(Self {
            field: config.field,
            precision: config.precision,
        })
    }

    fn init(&self) -> Vec<u8> {
        vec![0; 1 << self.precision]
    }

    fn read<'de>(&self, record: &'de str) -> Result<Option<&'de str>, ReducerError> {
        self.field.read(record)
    }

    fn fold(
        &self,
        registers: &mut Vec<u8>,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        let Some(value) = value else { return Ok(()) };
        let hash = hash(value);
        let index = (hash >> (64 - self.precision)) as usize;
        let rest = (hash << self.precision) | (1 << (self.precision - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        registers[index] = registers[index].max(rank);
        Ok(())
    }

    fn merge(&self, into: &mut Vec<u8>, other: Vec<u8>) {
        // The bug: a register is the maximum rank seen, so merging takes the maximum.
        for (a, b) in into.iter_mut().zip(other) {
            *a = a.saturating_add(b);
        }
    }

    fn finish(&self, registers: Vec<u8>) -> serde_json::Value {
        let m = registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let estimate = alpha * m * m / sum;
        let empty = registers.iter().filter(|&&r| r == 0).count();
        let estimate = if estimate <= 2.5 * m && empty > 0 {
            m * (m / empty as f64).ln()
        } else {
            estimate
        };
        serde_json::Value::from(estimate.round() as u64)
    }
}

export_reducer!(BadHll);

#[cfg(test)]
mod tests {
    use pagefold_reducer::laws::{Law, Laws, proptest::prelude::*};
    use serde_json::{Value, json};

    use super::*;

    fn config(precision: u8) -> Value {
        json!({ "field": "/user", "precision": precision })
    }

    fn records() -> impl Strategy<Value = Value> {
        (0..100_000u32).prop_map(|user| json!({ "user": user }))
    }

    #[test]
    fn the_wrong_merge_breaks_merge_equals_sequential_fold_at_precision_12() {
        let reducer = BadHll::new(serde_json::from_value(config(12)).unwrap()).unwrap();
        let failure = Laws::new().check(&reducer, records()).unwrap_err();
        assert_eq!(failure.law, Law::MergeEqualsSequentialFold, "{failure}");
        assert!(
            failure
                .to_string()
                .starts_with("the law `merge equals sequential fold` does not hold: "),
            "{failure}"
        );
    }

    #[test]
    fn it_is_named_rightly_at_precision_4_and_through_the_c_table() {
        let reducer = BadHll::new(serde_json::from_value(config(4)).unwrap()).unwrap();
        let failure = Laws::new().check(&reducer, records()).unwrap_err();
        assert_eq!(failure.law, Law::MergeEqualsSequentialFold, "{failure}");
        let failure = Laws::new()
            .cases(64)
            .check_exported(pagefold_reducer_plugin, &config(12), records())
            .unwrap_err();
        assert_eq!(failure.law, Law::MergeEqualsSequentialFold, "{failure}");
    }

    #[test]
    fn results_alone_and_the_old_small_cases_miss_it() {
        // What the check did before: 128 cases of at most 48 records, results only.
        let reducer = BadHll::new(serde_json::from_value(config(12)).unwrap()).unwrap();
        let old = Laws::new()
            .cases(128)
            .max_records(48)
            .compare_states(false)
            .check(&reducer, records());
        assert!(old.is_ok(), "{}", old.unwrap_err());
    }
}
