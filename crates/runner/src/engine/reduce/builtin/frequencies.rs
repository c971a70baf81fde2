//! `count_by` and `top_k`: how often each value of a field occurs.

use pagefold_reducer::{Position, ReducerError};
use serde::{Deserialize, Serialize};

use super::Builtin;
use super::value::{KeyRef, ValueKey, ValueMap, present};
use crate::job::SketchOptions;

/// Counts per value, keyed without allocating for values seen before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Frequencies {
    /// String values by their text.
    text: ValueMap<u64>,
    /// Other values by their compact JSON.
    json: ValueMap<u64>,
}

impl Frequencies {
    pub fn add(&mut self, raw: &str, reducer: &str) -> Result<(), ReducerError> {
        Self::bump(
            KeyRef::read(raw, reducer)?,
            1,
            &mut self.text,
            &mut self.json,
        );
        Ok(())
    }

    fn bump(key: KeyRef<'_>, by: u64, text: &mut ValueMap<u64>, json: &mut ValueMap<u64>) {
        let (map, key) = match key {
            KeyRef::Text(key) => (text, key),
            KeyRef::Json(key) => (json, key),
        };
        match map.get_mut(key.as_ref()) {
            Some(count) => *count += by,
            None => {
                map.insert(key.into_owned(), by);
            }
        }
    }

    pub fn merge(&mut self, other: Frequencies) {
        for (key, count) in other.text {
            *self.text.entry(key).or_default() += count;
        }
        for (key, count) in other.json {
            *self.json.entry(key).or_default() += count;
        }
    }

    /// Every value with its count, in the order of [`ValueKey`].
    pub fn into_sorted(self) -> Vec<(ValueKey, u64)> {
        let mut all: Vec<(ValueKey, u64)> = self
            .text
            .into_iter()
            .map(|(k, n)| (ValueKey::Text(k), n))
            .chain(self.json.into_iter().map(|(k, n)| (ValueKey::Json(k), n)))
            .collect();
        all.sort_unstable();
        all
    }
}

/// `count_by`: an object from each value of the field to the number of records with it;
/// `{}` on no input. Non-string values are keyed by their JSON text.
pub(crate) struct CountBy;

impl Builtin for CountBy {
    type State = Frequencies;

    fn new(_k: usize, _: &SketchOptions) -> Self {
        CountBy
    }

    fn init(&self) -> Frequencies {
        Frequencies::default()
    }

    fn fold_value(
        &self,
        state: &mut Frequencies,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        if let Some(raw) = present(value) {
            state.add(raw, "count_by")?;
        }
        Ok(())
    }

    fn merge(&self, into: &mut Frequencies, other: Frequencies) {
        into.merge(other);
    }

    fn finish(&self, state: Frequencies) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        for (key, count) in state.into_sorted() {
            let label = key.label();
            let merged = object
                .get(&label)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
                + count;
            object.insert(label, merged.into());
        }
        serde_json::Value::Object(object)
    }
}

/// `top_k`: the `k` most frequent values as `[{"value": …, "count": n}, …]`, by count
/// descending, ties by value ascending; `[]` on no input. Exact: it counts every value.
pub(crate) struct TopK {
    k: usize,
}

impl Builtin for TopK {
    type State = Frequencies;

    fn new(k: usize, _: &SketchOptions) -> Self {
        TopK { k }
    }

    // Counting is `count_by`'s; only the answer differs.
    fn init(&self) -> Frequencies {
        CountBy.init()
    }

    fn fold_value(
        &self,
        state: &mut Frequencies,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        if let Some(raw) = present(value) {
            state.add(raw, "top_k")?;
        }
        Ok(())
    }

    fn merge(&self, into: &mut Frequencies, other: Frequencies) {
        CountBy.merge(into, other);
    }

    fn finish(&self, state: Frequencies) -> serde_json::Value {
        let mut all = state.into_sorted();
        all.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
        all.truncate(self.k);
        all.into_iter()
            .map(|(value, count)| serde_json::json!({ "value": value.to_json(), "count": count }))
            .collect()
    }
}
