//! The built-in reducers.
//!
//! Each implements [`Builtin`]: a fold over the one field value the runner extracted for it
//! (all built-ins' fields are extracted from a record in one pass). [`AsReducer`] makes a
//! built-in a [`pagefold_reducer::Reducer`] too, so built-ins keep the same contract as plugins
//! and are checked by the same law tests.

mod approx_distinct;
mod approx_quantiles;
mod collect;
mod count;
mod distinct;
mod extremes;
mod frequencies;
mod mean;
mod sum;
pub(crate) mod value;

use std::any::Any;
use std::sync::Arc;

use pagefold_json::{Pointer, PointerSet};
use pagefold_reducer::{Position, Reducer, ReducerError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{PageView, Partial, Reduce, ReduceFailure};
use crate::job::{BuiltinKind, SketchOptions};

/// A built-in reducer: a fold over one field value per record.
pub(crate) trait Builtin: Send + Sync + Sized + 'static {
    type State: Serialize + DeserializeOwned + Send + 'static;
    /// `k` is `top_k`'s; `sketch` holds the settings of the sketching built-ins.
    fn new(k: usize, sketch: &SketchOptions) -> Self;
    fn init(&self) -> Self::State;
    /// `value` is the record's field (`None`: the record lacks it); `count` ignores it.
    fn fold_value(
        &self,
        state: &mut Self::State,
        value: Option<&str>,
        at: Position,
    ) -> Result<(), ReducerError>;
    fn merge(&self, into: &mut Self::State, other: Self::State);
    fn finish(&self, state: Self::State) -> serde_json::Value;
    /// Whether a loaded state is one of this reducer's: a sketch of another size is not.
    fn accepts(&self, _state: &Self::State) -> Result<(), String> {
        Ok(())
    }
}

/// The `config` of a built-in when it is used through the [`Reducer`] trait.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct BuiltinConfig {
    pub field: Option<Pointer>,
    #[serde(default = "default_k")]
    pub k: usize,
    pub precision: Option<i64>,
    pub q: Option<Vec<f64>>,
    pub relative_accuracy: Option<f64>,
}

impl BuiltinConfig {
    /// The sketch settings, checked as the job file's are.
    fn sketch(&self) -> Result<SketchOptions, ReducerError> {
        let defaults = SketchOptions::default();
        SketchOptions::checked(
            self.precision.unwrap_or(defaults.precision.into()),
            self.q.clone().unwrap_or(defaults.quantiles),
            self.relative_accuracy.unwrap_or(defaults.relative_accuracy),
        )
        .map_err(ReducerError::new)
    }
}

fn default_k() -> usize {
    10
}

/// A built-in as a [`Reducer`] over whole records.
pub(crate) struct AsReducer<B> {
    builtin: B,
    field: Option<Pointer>,
    fields: PointerSet,
}

impl<B: Builtin> AsReducer<B> {
    fn build(field: Option<Pointer>, k: usize, sketch: &SketchOptions) -> Self {
        let fields = PointerSet::new(field.iter());
        Self {
            builtin: B::new(k, sketch),
            field,
            fields,
        }
    }
}

impl<B: Builtin> Reducer for AsReducer<B> {
    type Config = BuiltinConfig;
    type State = B::State;
    /// The field's JSON text, picked out while the record is read.
    type Record<'a> = Option<&'a str>;

    fn new(config: BuiltinConfig) -> Result<Self, ReducerError> {
        let sketch = config.sketch()?;
        Ok(Self::build(config.field, config.k, &sketch))
    }

    fn init(&self) -> B::State {
        self.builtin.init()
    }

    fn read<'de>(&self, record: &'de str) -> Result<Option<&'de str>, ReducerError> {
        let mut found = self.fields.scan_slots();
        self.fields
            .scan(record, &mut found)
            .map_err(|e| ReducerError::new(e.to_string()))?;
        Ok(found.first().copied().flatten())
    }

    fn fold(
        &self,
        state: &mut B::State,
        value: Option<&str>,
        at: Position,
    ) -> Result<(), ReducerError> {
        self.builtin.fold_value(state, value, at)
    }

    fn merge(&self, into: &mut B::State, other: B::State) {
        self.builtin.merge(into, other);
    }

    fn finish(&self, state: B::State) -> serde_json::Value {
        self.builtin.finish(state)
    }

    fn load(&self, bytes: &[u8]) -> Result<B::State, ReducerError> {
        let state: B::State = serde_json::from_slice(bytes)
            .map_err(|e| ReducerError::new(format!("cannot load state: {e}")))?;
        self.builtin
            .accepts(&state)
            .map_err(|problem| ReducerError::new(format!("cannot load state: {problem}")))?;
        Ok(state)
    }
}

/// A configured built-in, shared by the workers.
struct BuiltinReduce<B> {
    kind: BuiltinKind,
    reducer: Arc<AsReducer<B>>,
}

struct BuiltinPartial<B: Builtin> {
    reducer: Arc<AsReducer<B>>,
    slot: Option<usize>,
    state: B::State,
}

/// Builds the built-in `kind` reading `field`.
pub(crate) fn build(
    kind: BuiltinKind,
    field: Option<Pointer>,
    k: usize,
    sketch: &SketchOptions,
) -> Arc<dyn Reduce> {
    fn make<B: Builtin>(
        kind: BuiltinKind,
        field: Option<Pointer>,
        k: usize,
        sketch: &SketchOptions,
    ) -> Arc<dyn Reduce> {
        Arc::new(BuiltinReduce::<B> {
            kind,
            reducer: Arc::new(AsReducer::build(field, k, sketch)),
        })
    }
    match kind {
        BuiltinKind::Count => make::<count::Count>(kind, field, k, sketch),
        BuiltinKind::Sum => make::<sum::Sum>(kind, field, k, sketch),
        BuiltinKind::Min => make::<extremes::Min>(kind, field, k, sketch),
        BuiltinKind::Max => make::<extremes::Max>(kind, field, k, sketch),
        BuiltinKind::Mean => make::<mean::Mean>(kind, field, k, sketch),
        BuiltinKind::ApproxQuantiles => {
            make::<approx_quantiles::ApproxQuantiles>(kind, field, k, sketch)
        }
        BuiltinKind::CountBy => make::<frequencies::CountBy>(kind, field, k, sketch),
        BuiltinKind::Distinct => make::<distinct::Distinct>(kind, field, k, sketch),
        BuiltinKind::ApproxDistinct => {
            make::<approx_distinct::ApproxDistinct>(kind, field, k, sketch)
        }
        BuiltinKind::TopK => make::<frequencies::TopK>(kind, field, k, sketch),
        BuiltinKind::Collect => make::<collect::Collect>(kind, field, k, sketch),
    }
}

impl<B: Builtin> Reduce for BuiltinReduce<B> {
    fn describe(&self) -> String {
        format!("built-in `{}`", self.kind)
    }

    fn field(&self) -> Option<&Pointer> {
        self.reducer.field.as_ref()
    }

    fn restore(
        &self,
        slot: Option<usize>,
        bytes: &[u8],
    ) -> Result<Box<dyn Partial>, ReduceFailure> {
        let state = self
            .reducer
            .load(bytes)
            .map_err(|e| ReduceFailure::Failed(e.to_string()))?;
        Ok(Box::new(BuiltinPartial {
            reducer: self.reducer.clone(),
            slot,
            state,
        }))
    }

    fn partial(&self, slot: Option<usize>) -> Result<Box<dyn Partial>, ReduceFailure> {
        Ok(Box::new(BuiltinPartial {
            reducer: self.reducer.clone(),
            slot,
            state: self.reducer.init(),
        }))
    }
}

impl<B: Builtin> Partial for BuiltinPartial<B> {
    fn fold(&mut self, page: &PageView<'_>) -> Result<(), ReduceFailure> {
        let builtin = &self.reducer.builtin;
        for record in 0..page.count {
            let value = self.slot.and_then(|slot| page.value(record, slot));
            builtin
                .fold_value(&mut self.state, value, page.position(record))
                .map_err(|e| ReduceFailure::Failed(format!("record {record}: {e}")))?;
        }
        Ok(())
    }

    fn merge(&mut self, other: Box<dyn Partial>) -> Result<(), ReduceFailure> {
        let other = other
            .into_any()
            .downcast::<Self>()
            .expect("partials of one reducer merge with each other");
        self.reducer.builtin.merge(&mut self.state, other.state);
        Ok(())
    }

    fn save(&self) -> Result<Vec<u8>, ReduceFailure> {
        self.reducer
            .save(&self.state)
            .map_err(|e| ReduceFailure::Failed(e.to_string()))
    }

    fn finish(self: Box<Self>) -> Result<serde_json::Value, ReduceFailure> {
        Ok(self.reducer.builtin.finish(self.state))
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

#[cfg(test)]
mod laws {
    //! Every built-in keeps the merge laws, checked like a plugin's.

    use pagefold_reducer::laws::{self, proptest::prelude::*};
    use serde_json::{Value, json};

    use super::*;

    fn records() -> impl Strategy<Value = Value> {
        let amount = prop_oneof![
            (-1000i64..1000).prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            Just(Value::Null),
        ];
        let status = prop_oneof![Just("paid"), Just("open"), Just("shipped"), Just("x\"y")];
        (amount, status, any::<bool>()).prop_map(|(amount, status, has_amount)| {
            if has_amount {
                json!({ "amount": amount, "status": status })
            } else {
                json!({ "status": status })
            }
        })
    }

    /// Numbers at the edges: ±1e308, subnormals, 2^64 ± 1, long decimals, `-0`, past `f64`.
    fn extreme_records() -> impl Strategy<Value = Value> {
        const EDGES: [&str; 16] = [
            "1e308",
            "-1e308",
            "1.7976931348623157e308",
            "5e-324",
            "-2.2250738585072014e-308",
            "18446744073709551615",
            "18446744073709551616",
            "18446744073709551617",
            "-9223372036854775809",
            "0.1",
            "1.005",
            "0.1234567890123456789012345678901",
            "-0",
            "-0.0",
            "1e400",
            "123456789012345678901234567890123456789",
        ];
        (0..EDGES.len()).prop_map(
            |index| json!({ "amount": serde_json::from_str::<Value>(EDGES[index]).unwrap() }),
        )
    }

    fn check<B: Builtin>(field: &str) {
        let reducer =
            AsReducer::<B>::build(Some(field.parse().unwrap()), 3, &SketchOptions::default());
        laws::check(&reducer, records());
    }

    fn results_only<B: Builtin>(field: &str) {
        let reducer =
            AsReducer::<B>::build(Some(field.parse().unwrap()), 3, &SketchOptions::default());
        let outcome = laws::Laws::new()
            .compare_states(false)
            .check(&reducer, records());
        outcome.unwrap_or_else(|failure| panic!("{failure}"));
    }

    #[test]
    fn count() {
        laws::check(
            &AsReducer::<count::Count>::build(None, 0, &SketchOptions::default()),
            records(),
        );
    }

    #[test]
    fn numeric() {
        check::<sum::Sum>("/amount");
        check::<mean::Mean>("/amount");
        check::<extremes::Min>("/amount");
        check::<extremes::Max>("/amount");
    }

    /// Any order and any split across workers give the same result at the extremes.
    #[test]
    fn numeric_at_the_extremes() {
        // Fewer, shorter cases: numbers 700 digits apart make every addition a long one.
        let laws = laws::Laws::new().cases(64).max_records(64);
        let field = || Some("/amount".parse().unwrap());
        let outcomes = [
            laws.check(
                &AsReducer::<sum::Sum>::build(field(), 3, &SketchOptions::default()),
                extreme_records(),
            ),
            laws.check(
                &AsReducer::<mean::Mean>::build(field(), 3, &SketchOptions::default()),
                extreme_records(),
            ),
            laws.check(
                &AsReducer::<extremes::Min>::build(field(), 3, &SketchOptions::default()),
                extreme_records(),
            ),
            laws.check(
                &AsReducer::<extremes::Max>::build(field(), 3, &SketchOptions::default()),
                extreme_records(),
            ),
        ];
        for outcome in outcomes {
            outcome.unwrap_or_else(|failure| panic!("{failure}"));
        }
    }

    #[test]
    fn by_value() {
        check::<frequencies::CountBy>("/status");
        check::<frequencies::TopK>("/status");
        check::<extremes::Min>("/status");
        // A set saves in hash order and a collection in merge order, so equal states may save
        // differently: their results only.
        results_only::<distinct::Distinct>("/amount");
        results_only::<collect::Collect>("/amount");
    }

    /// The sketches' states are canonical: compared, not only their results.
    #[test]
    fn sketches() {
        check::<approx_distinct::ApproxDistinct>("/amount");
        check::<approx_distinct::ApproxDistinct>("/status");
        check::<approx_quantiles::ApproxQuantiles>("/amount");
    }

    /// With 16 registers the registers fill up within a case, past the small-count regime.
    #[test]
    fn approx_distinct_with_few_registers() {
        let sketch = SketchOptions {
            precision: 4,
            ..SketchOptions::default()
        };
        let field = Some("/n".parse().unwrap());
        let reducer = AsReducer::<approx_distinct::ApproxDistinct>::build(field, 0, &sketch);
        laws::check(&reducer, (0u32..100_000).prop_map(|n| json!({ "n": n })));
    }

    /// With a cap of 8 buckets a sign, collapsing happens in most cases, at any merge.
    #[test]
    fn approx_quantiles_when_buckets_collapse() {
        let builtin = approx_quantiles::ApproxQuantiles::capped(&SketchOptions::default(), 8);
        let field = Some("/amount".parse().unwrap());
        let fields = PointerSet::new(field.iter());
        let reducer = AsReducer {
            builtin,
            field,
            fields,
        };
        let amount = prop_oneof![
            (-1e6f64..1e6).prop_map(Value::from),
            (1e-300f64..1e300).prop_map(Value::from),
            Just(json!(0)),
        ];
        laws::check(
            &reducer,
            amount.prop_map(|amount| json!({ "amount": amount })),
        );
    }
}
