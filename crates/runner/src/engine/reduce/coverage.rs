//! What the records held: for each field a built-in reads, how many records had it, had
//! `null`, or lacked it; and the fields the first records do have, to say which one a typo
//! meant. Kept as hidden reducers after the job's own, so that checkpoints, workers and
//! resumed runs count them as they count everything else.

use std::any::Any;
use std::collections::BTreeSet;

use pagefold_json::Pointer;
use serde::{Deserialize, Serialize};

use super::{PageView, Partial, Reduce, ReduceFailure};

/// Records whose fields are sampled, per worker: enough to name the fields the API sends.
const SAMPLED_RECORDS: u64 = 8;
/// Field names kept at most, however wide the records.
const SAMPLED_FIELDS: usize = 256;
/// How deep the sample looks into a record.
const SAMPLED_DEPTH: usize = 4;

/// The hidden reducers' names start with this, which no job reducer's name can.
pub const HIDDEN: &str = "\u{0}coverage ";

/// How many records had a field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Records folded.
    pub records: u64,
    /// Records with the field, not `null`.
    pub present: u64,
    /// Records where it is `null`.
    pub null: u64,
    /// Fields (JSON Pointers) of the first records, for "did you mean".
    #[serde(default)]
    pub fields: BTreeSet<String>,
}

impl Counts {
    /// Records that lack the field.
    pub fn missing(&self) -> u64 {
        self.records.saturating_sub(self.present + self.null)
    }
}

/// Counts one field (or, with none, the records only).
pub(crate) struct Coverage {
    pub(crate) field: Option<Pointer>,
}

impl Reduce for Coverage {
    fn describe(&self) -> String {
        "coverage".into()
    }

    fn field(&self) -> Option<&Pointer> {
        self.field.as_ref()
    }

    fn partial(&self, slot: Option<usize>) -> Result<Box<dyn Partial>, ReduceFailure> {
        Ok(Box::new(CoveragePartial {
            slot,
            counts: Counts::default(),
        }))
    }

    fn restore(
        &self,
        slot: Option<usize>,
        bytes: &[u8],
    ) -> Result<Box<dyn Partial>, ReduceFailure> {
        let counts =
            serde_json::from_slice(bytes).map_err(|e| ReduceFailure::Failed(e.to_string()))?;
        Ok(Box::new(CoveragePartial { slot, counts }))
    }
}

struct CoveragePartial {
    slot: Option<usize>,
    counts: Counts,
}

impl Partial for CoveragePartial {
    fn fold(&mut self, page: &PageView<'_>) -> Result<(), ReduceFailure> {
        let counts = &mut self.counts;
        if let Some(slot) = self.slot {
            for record in 0..page.count {
                match page.value(record, slot) {
                    Some("null") => counts.null += 1,
                    Some(_) => counts.present += 1,
                    None => {}
                }
            }
        }
        if counts.records < SAMPLED_RECORDS {
            let records = page.page.records_json();
            let take = (SAMPLED_RECORDS - counts.records) as usize;
            for &(start, end) in page.page.record_bounds().iter().take(take) {
                let record = records.get(start as usize..end as usize).unwrap_or("null");
                sample_fields(record, &mut counts.fields);
            }
        }
        counts.records += page.count as u64;
        Ok(())
    }

    fn merge(&mut self, other: Box<dyn Partial>) -> Result<(), ReduceFailure> {
        let other = other
            .into_any()
            .downcast::<Self>()
            .expect("coverage merges with coverage");
        let counts = &mut self.counts;
        counts.records += other.counts.records;
        counts.present += other.counts.present;
        counts.null += other.counts.null;
        counts.fields.extend(other.counts.fields);
        while counts.fields.len() > SAMPLED_FIELDS {
            counts.fields.pop_last();
        }
        Ok(())
    }

    fn save(&self) -> Result<Vec<u8>, ReduceFailure> {
        serde_json::to_vec(&self.counts).map_err(|e| ReduceFailure::Failed(e.to_string()))
    }

    fn finish(self: Box<Self>) -> Result<serde_json::Value, ReduceFailure> {
        serde_json::to_value(&self.counts).map_err(|e| ReduceFailure::Failed(e.to_string()))
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Adds the JSON Pointers of `record`'s fields (objects only, a few levels deep) to `into`.
pub fn sample_fields(record: &str, into: &mut BTreeSet<String>) {
    fn walk(value: &serde_json::Value, at: String, depth: usize, into: &mut BTreeSet<String>) {
        if depth > SAMPLED_DEPTH || into.len() >= SAMPLED_FIELDS {
            return;
        }
        if let serde_json::Value::Object(map) = value {
            for (key, value) in map {
                let pointer = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                walk(value, pointer.clone(), depth + 1, into);
                if into.len() < SAMPLED_FIELDS {
                    into.insert(pointer);
                }
            }
        }
    }
    // A record too deep to read is no sample (the reducers say what is wrong with it).
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(record) {
        walk(&value, String::new(), 1, into);
    }
}

/// The sampled field closest to `wanted` by spelling, if one is close enough to be a typo.
pub fn closest<'a>(wanted: &str, fields: &'a BTreeSet<String>) -> Option<&'a str> {
    fields
        .iter()
        .map(|field| (strsim::normalized_damerau_levenshtein(wanted, field), field))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, field)| field.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_fields_and_finds_the_closest() {
        let mut fields = BTreeSet::new();
        sample_fields(
            r#"{"id":1,"amount":3,"shipping":{"city":"x"}}"#,
            &mut fields,
        );
        assert_eq!(
            fields.iter().map(String::as_str).collect::<Vec<_>>(),
            ["/amount", "/id", "/shipping", "/shipping/city"]
        );
        assert_eq!(closest("/amout", &fields), Some("/amount"));
        assert_eq!(closest("/shipping/cty", &fields), Some("/shipping/city"));
        assert_eq!(closest("/zzzzzz", &fields), None);
    }
}
