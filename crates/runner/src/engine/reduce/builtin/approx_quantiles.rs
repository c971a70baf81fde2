//! `approx_quantiles`: quantiles of a numeric field within a relative error, in bounded memory.
//!
//! A DDSketch (Masson, Rim and Lee, VLDB 2019), the algorithm of the quantiles plugin: a
//! nonzero value `x` falls into bucket `⌈log_γ |x|⌉` of its sign, `γ = (1 + α) / (1 − α)`,
//! and a quantile is read back as `2γ^i / (γ + 1)`, within a relative error `α` of every value
//! of bucket `i`, then clamped to the exact minimum and maximum. Zeros are counted apart.
//!
//! **Memory** is bounded: each sign keeps at most [`MAX_BUCKETS`] buckets. Past that, the
//! buckets of the smallest magnitudes are folded into the lowest one kept, as DDSketch does,
//! which only happens when one sign's values span more than `γ^2048` (10^17 at α = 1 %); the
//! result then says below which magnitude the bound no longer holds (`collapsed_below`).
//! Collapsing keeps the highest 2048 buckets of everything folded, whatever the order, so
//! merging (adding bucket counts, then collapsing) stays exactly associative and commutative
//! and the saved state is the same for any split across workers.

use std::collections::BTreeMap;

use pagefold_reducer::{Number, Position, ReducerError};
use serde::{Deserialize, Serialize};

use super::Builtin;
use super::value::{describe, present};
use crate::job::{SketchOptions, quantile_label};

/// The most buckets a sign keeps: with the zero count, a sketch is at most 4 097 counters.
pub(crate) const MAX_BUCKETS: usize = 2048;

/// Quantiles of a numeric field, as `{"count", "min", "max", "p50", …, "relative_accuracy"}`.
pub(crate) struct ApproxQuantiles {
    quantiles: Vec<f64>,
    relative_accuracy: f64,
    gamma: f64,
    log_gamma: f64,
    max_buckets: usize,
}

/// The sketch: bucket counts per sign, zeros, and the exact extremes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sketch {
    /// What the buckets' indices mean: a state of another accuracy is refused on loading.
    relative_accuracy: f64,
    positive: Store,
    negative: Store,
    zero: u64,
    count: u64,
    min: Option<f64>,
    max: Option<f64>,
}

/// The buckets of one sign, by index (sorted, so equal stores save alike).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Store {
    buckets: BTreeMap<i32, u64>,
    /// Once buckets were folded together: the lowest bucket kept, which counts every value of
    /// a smaller magnitude too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    collapsed: Option<i32>,
}

impl Store {
    /// Folds the buckets below the `max_buckets` highest into the lowest of those.
    fn collapse(&mut self, max_buckets: usize) {
        if self.buckets.len() <= max_buckets {
            return;
        }
        let lowest_kept = *self
            .buckets
            .keys()
            .nth_back(max_buckets - 1)
            .expect("more buckets than kept");
        let kept = self.buckets.split_off(&lowest_kept);
        let folded: u64 = std::mem::replace(&mut self.buckets, kept).values().sum();
        *self
            .buckets
            .get_mut(&lowest_kept)
            .expect("the lowest kept bucket") += folded;
        self.collapsed = Some(lowest_kept);
    }

    fn add(&mut self, bucket: i32, max_buckets: usize) {
        *self.buckets.entry(bucket).or_default() += 1;
        self.collapse(max_buckets);
    }

    fn merge(&mut self, other: Store, max_buckets: usize) {
        for (bucket, count) in other.buckets {
            *self.buckets.entry(bucket).or_default() += count;
        }
        // Without a collapse here the union is one side's buckets, whose lowest is its mark.
        self.collapsed = self.collapsed.max(other.collapsed);
        self.collapse(max_buckets);
    }

    /// Whether a loaded store is one this sketch could have made.
    fn check(&self, max_buckets: usize) -> Result<(), String> {
        if self.buckets.len() > max_buckets {
            return Err(format!(
                "a sign has {} buckets, more than {max_buckets}",
                self.buckets.len()
            ));
        }
        if let Some(lowest) = self.collapsed
            && (self.buckets.len() != max_buckets || self.buckets.keys().next() != Some(&lowest))
        {
            return Err(format!(
                "the collapsed bucket {lowest} is not the lowest kept"
            ));
        }
        Ok(())
    }
}

impl ApproxQuantiles {
    fn bucket(&self, magnitude: f64) -> i32 {
        // |index| < 745 / ln γ ≤ 3.8 million for the finest accuracy accepted: no overflow.
        (magnitude.ln() / self.log_gamma).ceil() as i32
    }

    /// The value a bucket stands for: within `α` of every value in it.
    fn value(&self, bucket: i32) -> f64 {
        2.0 * self.gamma.powi(bucket) / (self.gamma + 1.0)
    }

    /// The value at rank `q · (count − 1)`, clamped to the extremes (which are exact: p0 is
    /// the minimum, p100 the maximum); `None` on no input.
    fn quantile(&self, sketch: &Sketch, q: f64) -> Option<f64> {
        let (min, max) = (sketch.min?, sketch.max?);
        if q == 0.0 {
            return Some(min);
        }
        if q == 1.0 {
            return Some(max);
        }
        let rank = q * (sketch.count - 1) as f64;
        // Negative values from the largest magnitude up, zeros, positive from the smallest.
        let negative = sketch
            .negative
            .buckets
            .iter()
            .rev()
            .map(|(&bucket, &count)| (-self.value(bucket), count));
        let zero = std::iter::once((0.0, sketch.zero));
        let positive = sketch
            .positive
            .buckets
            .iter()
            .map(|(&bucket, &count)| (self.value(bucket), count));
        let mut seen = 0u64;
        for (value, count) in negative.chain(zero).chain(positive) {
            seen += count;
            if seen as f64 > rank {
                return Some(value.clamp(min, max));
            }
        }
        Some(max)
    }

    /// Below which magnitude values were folded together, if any were.
    fn collapsed_below(&self, sketch: &Sketch) -> Option<f64> {
        [sketch.positive.collapsed, sketch.negative.collapsed]
            .into_iter()
            .flatten()
            .max()
            .map(|lowest| self.gamma.powi(lowest - 1))
    }

    /// A sketch of at most `max_buckets` buckets a sign, so that tests can reach the cap.
    pub(super) fn capped(sketch: &SketchOptions, max_buckets: usize) -> Self {
        let gamma = (1.0 + sketch.relative_accuracy) / (1.0 - sketch.relative_accuracy);
        Self {
            quantiles: sketch.quantiles.clone(),
            relative_accuracy: sketch.relative_accuracy,
            gamma,
            log_gamma: gamma.ln(),
            max_buckets,
        }
    }
}

impl Builtin for ApproxQuantiles {
    type State = Sketch;

    fn new(_k: usize, sketch: &SketchOptions) -> Self {
        Self::capped(sketch, MAX_BUCKETS)
    }

    fn init(&self) -> Sketch {
        Sketch {
            relative_accuracy: self.relative_accuracy,
            positive: Store::default(),
            negative: Store::default(),
            zero: 0,
            count: 0,
            min: None,
            max: None,
        }
    }

    fn fold_value(
        &self,
        sketch: &mut Sketch,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        let Some(raw) = present(value) else {
            return Ok(());
        };
        let Some(number) = Number::parse(raw) else {
            return Err(ReducerError::new(format!(
                "`approx_quantiles` needs numbers, but the field is {}",
                describe(raw)
            )));
        };
        let x = number.as_f64();
        if !x.is_finite() {
            return Err(ReducerError::new(format!(
                "`approx_quantiles`: `{raw}` is beyond the range of a float (±1.8e308)"
            )));
        }
        if x == 0.0 {
            sketch.zero += 1;
        } else if x > 0.0 {
            sketch.positive.add(self.bucket(x), self.max_buckets);
        } else {
            sketch.negative.add(self.bucket(-x), self.max_buckets);
        }
        // `-0` is `0`: which of the two `f64::min` returns is unspecified.
        let x = if x == 0.0 { 0.0 } else { x };
        sketch.count += 1;
        sketch.min = Some(sketch.min.map_or(x, |min| min.min(x)));
        sketch.max = Some(sketch.max.map_or(x, |max| max.max(x)));
        Ok(())
    }

    fn merge(&self, into: &mut Sketch, other: Sketch) {
        assert_eq!(
            into.relative_accuracy, other.relative_accuracy,
            "states of one reducer have one accuracy (loading checks saved ones)"
        );
        into.positive.merge(other.positive, self.max_buckets);
        into.negative.merge(other.negative, self.max_buckets);
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
        for &q in &self.quantiles {
            result.insert(quantile_label(q), self.quantile(&sketch, q).into());
        }
        result.insert("relative_accuracy".into(), self.relative_accuracy.into());
        if let Some(below) = self.collapsed_below(&sketch) {
            result.insert("collapsed_below".into(), below.into());
        }
        result.into()
    }

    fn accepts(&self, sketch: &Sketch) -> Result<(), String> {
        if sketch.relative_accuracy != self.relative_accuracy {
            return Err(format!(
                "the saved sketch has relative accuracy {}, but `relative_accuracy` is {}",
                sketch.relative_accuracy, self.relative_accuracy
            ));
        }
        sketch.positive.check(self.max_buckets)?;
        sketch.negative.check(self.max_buckets)?;
        let counted = sketch.zero
            + sketch.positive.buckets.values().sum::<u64>()
            + sketch.negative.buckets.values().sum::<u64>();
        if counted != sketch.count || sketch.min.is_some() != (sketch.count > 0) {
            return Err(format!(
                "the sketch counts {} values but holds {counted}",
                sketch.count
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn reducer(quantiles: &[f64]) -> ApproxQuantiles {
        let sketch = SketchOptions {
            quantiles: quantiles.to_vec(),
            ..SketchOptions::default()
        };
        ApproxQuantiles::new(0, &sketch)
    }

    fn fold_all(reducer: &ApproxQuantiles, values: &[f64]) -> Sketch {
        let mut sketch = reducer.init();
        for value in values {
            let raw = json!(value).to_string();
            reducer
                .fold_value(&mut sketch, Some(&raw), Position::default())
                .unwrap();
        }
        sketch
    }

    /// Each quantile of `values` within the relative accuracy of the value at its rank.
    fn assert_within_bound(reducer: &ApproxQuantiles, values: &[f64], result: &Value) {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        for &q in &reducer.quantiles {
            let exact = sorted[(q * (sorted.len() - 1) as f64) as usize];
            let estimate = result[quantile_label(q)].as_f64().unwrap();
            // The bound, and a few ulps for the logarithm at a bucket's edge.
            let bound = reducer.relative_accuracy * exact.abs() * (1.0 + 1e-9);
            assert!(
                (estimate - exact).abs() <= bound,
                "{}: {estimate} vs {exact}",
                quantile_label(q)
            );
        }
    }

    #[test]
    fn stays_within_the_relative_error_bound() {
        let reducer = reducer(&[0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]);
        let mut values: Vec<f64> = (1..=10_000).map(|i| f64::from(i).powf(1.7)).collect();
        values.extend((1..=3_000).map(|i| -f64::from(i) * 0.37));
        values.extend([0.0; 500]);
        let result = reducer.finish(fold_all(&reducer, &values));
        assert_within_bound(&reducer, &values, &result);
        assert_eq!(result["count"], json!(13_500));
        assert_eq!(result["min"], json!(-1110.0));
        assert_eq!(result["max"], json!(f64::from(10_000).powf(1.7)));
        assert_eq!(result["relative_accuracy"], json!(0.01));
        assert!(result.get("collapsed_below").is_none());
        assert_eq!(result["p0"], result["min"]);
        assert_eq!(result["p100"], result["max"]);
    }

    #[test]
    fn memory_is_capped_and_the_result_says_where_the_bound_stops() {
        let reducer = reducer(&[0.01, 0.5, 0.99]);
        // 4 001 values from 1e-20 to 1e20, each in a bucket of its own: twice the cap.
        let values: Vec<f64> = (0..=4000)
            .map(|k| 10f64.powf(f64::from(k) / 100.0 - 20.0))
            .collect();
        let sketch = fold_all(&reducer, &values);
        assert_eq!(sketch.positive.buckets.len(), MAX_BUCKETS);
        let result = reducer.finish(sketch);
        // The 2 048 highest values are kept apart: from 10^-0.47 up.
        let below = result["collapsed_below"].as_f64().unwrap();
        assert!((0.33..0.34).contains(&below), "{below}");
        assert_eq!(result["count"], json!(4001));
        let above = self::reducer(&[0.5, 0.99]);
        assert_within_bound(&above, &values, &result);
        // p1 is in the collapsed buckets: only between the minimum and the bound.
        let p1 = result["p1"].as_f64().unwrap();
        assert!(p1 <= below * reducer.gamma && p1 >= values[0], "{p1}");
    }

    #[test]
    fn no_input_gives_nulls_and_zeros_are_one_value() {
        let reducer = reducer(&[0.5]);
        let mut sketch = reducer.init();
        reducer
            .fold_value(&mut sketch, Some("null"), Position::default())
            .unwrap();
        assert_eq!(
            reducer.finish(sketch.clone()),
            json!({ "count": 0, "min": null, "max": null, "p50": null, "relative_accuracy": 0.01 })
        );
        for zero in ["-0", "0.0", "0"] {
            reducer
                .fold_value(&mut sketch, Some(zero), Position::default())
                .unwrap();
        }
        assert_eq!(
            reducer.finish(sketch),
            json!({ "count": 3, "min": 0.0, "max": 0.0, "p50": 0.0, "relative_accuracy": 0.01 })
        );
    }

    #[test]
    fn refuses_what_is_not_a_finite_number() {
        let reducer = reducer(&[0.5]);
        let mut sketch = reducer.init();
        let error = |raw: &str, sketch: &mut Sketch| {
            reducer
                .fold_value(sketch, Some(raw), Position::default())
                .unwrap_err()
                .message()
                .to_owned()
        };
        assert_eq!(
            error("\"12\"", &mut sketch),
            "`approx_quantiles` needs numbers, but the field is the string `\"12\"`"
        );
        assert_eq!(
            error("1e400", &mut sketch),
            "`approx_quantiles`: `1e400` is beyond the range of a float (±1.8e308)"
        );
        assert_eq!(sketch, reducer.init());
    }

    #[test]
    fn loading_checks_the_state_holds_together() {
        let reducer = reducer(&[0.5]);
        let sketch = fold_all(&reducer, &[1.0, 2.0, -3.0, 0.0]);
        assert_eq!(reducer.accepts(&sketch), Ok(()));
        let mut lying = sketch.clone();
        lying.count = 5;
        assert_eq!(
            reducer.accepts(&lying).unwrap_err(),
            "the sketch counts 5 values but holds 4"
        );
        let mut small = ApproxQuantiles::new(0, &SketchOptions::default());
        small.max_buckets = 1;
        assert_eq!(
            small.accepts(&sketch).unwrap_err(),
            "a sign has 2 buckets, more than 1"
        );
        let coarse = ApproxQuantiles::new(
            0,
            &SketchOptions {
                relative_accuracy: 0.05,
                ..SketchOptions::default()
            },
        );
        assert_eq!(
            coarse.accepts(&sketch).unwrap_err(),
            "the saved sketch has relative accuracy 0.01, but `relative_accuracy` is 0.05"
        );
    }
}
