//! A pagefold plugin: quantiles of a numeric field (p50, p95, p99, or any you ask for).
//!
//! It keeps a DDSketch (Masson, Rim and Lee, VLDB 2019): values fall into buckets whose bounds
//! grow geometrically by `γ = (1 + α) / (1 − α)`, and a quantile is read back as the middle of
//! its bucket. **Error bound:** every reported quantile is within a *relative* error `α` of the
//! true value at that rank (default `α` = 1%, `relative_accuracy` in the config), clamped to
//! the exact minimum and maximum. Merging two sketches adds bucket counts, which is exactly
//! associative and commutative, so the result does not depend on how pages were split across
//! workers. Memory grows with the logarithm of the value range, not with the record count.
//!
//! ```toml
//! [[reduce]]
//! name = "amount_quantiles"
//! plugin = "target/release/libquantiles.so"
//! config = { field = "/amount", q = [0.5, 0.95, 0.99] }
//! ```
//!
//! The result: `{"count": n, "min": …, "max": …, "p50": …, "p95": …, "p99": …}` (`null`s on no
//! input).

use std::collections::BTreeMap;

use pagefold_reducer::{Field, Position, Reducer, ReducerError, export_reducer};
use serde::{Deserialize, Serialize};

/// The job's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    field: Field,
    #[serde(default = "default_quantiles")]
    q: Vec<f64>,
    #[serde(default = "default_accuracy")]
    relative_accuracy: f64,
}

fn default_quantiles() -> Vec<f64> {
    vec![0.5, 0.95, 0.99]
}

fn default_accuracy() -> f64 {
    0.01
}

/// The reducer: which field, which quantiles, how accurate.
pub struct Quantiles {
    field: Field,
    q: Vec<f64>,
    log_gamma: f64,
    gamma: f64,
}

/// A DDSketch: bucket counts for positive and negative values, and the exact extremes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    zero: u64,
    count: u64,
    min: Option<f64>,
    max: Option<f64>,
}

impl Quantiles {
    fn bucket(&self, magnitude: f64) -> i32 {
        (magnitude.ln() / self.log_gamma).ceil() as i32
    }

    /// The value a bucket stands for: within `α` of every value in it.
    fn value(&self, bucket: i32) -> f64 {
        2.0 * self.gamma.powi(bucket) / (self.gamma + 1.0)
    }

    fn quantile(&self, sketch: &Sketch, q: f64) -> Option<f64> {
        let (min, max) = (sketch.min?, sketch.max?);
        let rank = q * (sketch.count - 1) as f64;
        let mut seen = 0u64;
        // Negative values from the most negative (largest magnitude) up, then zeros, then
        // positive values from the smallest up.
        let negative = sketch
            .negative
            .iter()
            .rev()
            .map(|(&b, &n)| (-self.value(b), n));
        let zero = std::iter::once((0.0, sketch.zero));
        let positive = sketch.positive.iter().map(|(&b, &n)| (self.value(b), n));
        for (value, count) in negative.chain(zero).chain(positive) {
            seen += count;
            if seen as f64 > rank {
                return Some(value.clamp(min, max));
            }
        }
        Some(max)
    }
}

fn label(q: f64) -> String {
    let percent = (q * 1e6).round() / 1e4;
    format!("p{percent}")
}

impl Reducer for Quantiles {
    type Config = Config;
    type State = Sketch;
    /// Only the field, picked out while the record is read.
    type Record<'a> = Option<&'a str>;

    fn new(config: Config) -> Result<Self, ReducerError> {
        if let Some(bad) = config.q.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(ReducerError::new(format!(
                "`q` holds {bad}, but quantiles are from 0 to 1 (0.95 is p95)"
            )));
        }
        let alpha = config.relative_accuracy;
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(ReducerError::new(format!(
                "`relative_accuracy` must be between 0 and 1, not {alpha}"
            )));
        }
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        Ok(Self {
            field: config.field,
            q: config.q,
            log_gamma: gamma.ln(),
            gamma,
        })
    }

    fn init(&self) -> Sketch {
        Sketch::default()
    }

    fn read<'de>(&self, record: &'de str) -> Result<Option<&'de str>, ReducerError> {
        self.field.read(record)
    }

    fn fold(
        &self,
        sketch: &mut Sketch,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        let Some(value) = value else { return Ok(()) };
        let number = self.field.to_number(value)?;
        let x = number.as_f64();
        // Values too close to 0 for a bucket index count as 0.
        if x.abs() < 1e-300 {
            sketch.zero += 1;
        } else if x > 0.0 {
            *sketch.positive.entry(self.bucket(x)).or_default() += 1;
        } else {
            *sketch.negative.entry(self.bucket(-x)).or_default() += 1;
        }
        sketch.count += 1;
        sketch.min = Some(sketch.min.map_or(x, |m| m.min(x)));
        sketch.max = Some(sketch.max.map_or(x, |m| m.max(x)));
        Ok(())
    }

    fn merge(&self, into: &mut Sketch, other: Sketch) {
        for (bucket, count) in other.positive {
            *into.positive.entry(bucket).or_default() += count;
        }
        for (bucket, count) in other.negative {
            *into.negative.entry(bucket).or_default() += count;
        }
        into.zero += other.zero;
        into.count += other.count;
        into.min = match (into.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        into.max = match (into.max, other.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn finish(&self, sketch: Sketch) -> serde_json::Value {
        let mut result = serde_json::Map::new();
        result.insert("count".into(), sketch.count.into());
        result.insert("min".into(), sketch.min.into());
        result.insert("max".into(), sketch.max.into());
        for &q in &self.q {
            result.insert(label(q), self.quantile(&sketch, q).into());
        }
        result.into()
    }
}

export_reducer!(Quantiles);

#[cfg(test)]
mod tests {
    use pagefold_reducer::laws::{self, proptest::prelude::*};
    use serde_json::{Value, json};

    use super::*;

    fn quantiles(config: Value) -> Quantiles {
        Quantiles::new(serde_json::from_value(config).unwrap()).unwrap()
    }

    #[test]
    fn keeps_the_merge_laws() {
        let reducer = quantiles(json!({ "field": "/x", "q": [0.0, 0.5, 0.9, 1.0] }));
        let x = prop_oneof![
            (-1e6f64..1e6).prop_map(Value::from),
            (0u64..1000).prop_map(Value::from),
            Just(json!(0))
        ];
        laws::check(&reducer, x.prop_map(|x| json!({ "x": x })));
    }

    #[test]
    fn stays_within_the_relative_error_bound() {
        let reducer = quantiles(json!({ "field": "/x", "q": [0.5, 0.95, 0.99] }));
        let mut sketch = reducer.init();
        let values: Vec<f64> = (1..=10_000).map(|i| (i as f64).powf(1.7)).collect();
        for value in &values {
            let record = json!({ "x": value }).to_string();
            let value = reducer.read(&record).unwrap();
            reducer
                .fold(&mut sketch, value, Position::default())
                .unwrap();
        }
        let result = reducer.finish(sketch);
        for (q, key) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
            let exact = values[(q * (values.len() - 1) as f64) as usize];
            let estimate = result[key].as_f64().unwrap();
            assert!(
                (estimate - exact).abs() <= 0.01 * exact,
                "{key}: {estimate} vs {exact}"
            );
        }
        assert_eq!(result["count"], json!(10_000));
    }

    #[test]
    fn rejects_quantiles_outside_0_to_1() {
        let config = serde_json::from_value(json!({ "field": "/x", "q": [95] })).unwrap();
        let error = Quantiles::new(config).err().unwrap();
        assert_eq!(
            error.message(),
            "`q` holds 95, but quantiles are from 0 to 1 (0.95 is p95)"
        );
    }
}
