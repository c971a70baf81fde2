//! The mark: the largest value of the incremental field seen, and a hash of every record
//! within `lag` of it, kept by a reducer of its own so that it folds on every worker, merges,
//! and is saved in checkpoints like any other.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::engine::reduce::{PageView, Partial, Reduce, ReduceFailure};
use crate::job::IncrementalSpec;

/// The reducer name the mark has in checkpoints; no job reducer can have it (names are
/// identifiers).
pub const MARK_NAME: &str = "(incremental mark)";

/// A field value, ordered: numbers before times before other strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MarkKey {
    /// A JSON number.
    Number(f64),
    /// An RFC 3339 time, in nanoseconds since the epoch.
    Time(i64),
    /// Any other string.
    Text(String),
}

impl Eq for MarkKey {}

impl PartialOrd for MarkKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MarkKey {
    fn cmp(&self, other: &Self) -> Ordering {
        use MarkKey::{Number, Text, Time};
        match (self, other) {
            (Number(a), Number(b)) => a.total_cmp(b),
            (Time(a), Time(b)) => a.cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl MarkKey {
    fn rank(&self) -> u8 {
        match self {
            Self::Number(_) => 0,
            Self::Time(_) => 1,
            Self::Text(_) => 2,
        }
    }

    /// Reads a field's raw JSON; `None` for null, booleans, objects and arrays.
    pub fn read(raw: &str) -> Option<Self> {
        if raw.starts_with('"') {
            let text: String = serde_json::from_str(raw).ok()?;
            return Some(match DateTime::parse_from_rfc3339(&text) {
                Ok(time) => Self::Time(time.timestamp_nanos_opt()?),
                Err(_) => Self::Text(text),
            });
        }
        raw.parse::<f64>().ok().map(Self::Number)
    }

    /// Reads a value given as text (`start`): a time, a number, or else text.
    pub fn from_text(text: &str) -> Self {
        if let Ok(time) = DateTime::parse_from_rfc3339(text)
            && let Some(nanos) = time.timestamp_nanos_opt()
        {
            return Self::Time(nanos);
        }
        match text.parse::<f64>() {
            Ok(number) => Self::Number(number),
            Err(_) => Self::Text(text.to_owned()),
        }
    }

    /// The key `lag` earlier; `None` for text, which has no distance.
    fn minus(&self, lag: Duration) -> Option<Self> {
        match self {
            Self::Number(x) => Some(Self::Number(x - lag.as_secs_f64())),
            Self::Time(nanos) => Some(Self::Time(
                nanos.saturating_sub(i64::try_from(lag.as_nanos()).unwrap_or(i64::MAX)),
            )),
            Self::Text(_) => None,
        }
    }
}

/// What the last successful run left: its mark, and the hashes of the records near it; and
/// the lowest value this run asked for.
#[derive(Debug, Default)]
pub struct PreviousMark {
    max: Option<MarkKey>,
    seen: HashSet<u64>,
    /// What `since` asks for: a record below it came back although it was not asked for
    /// (the API ignores the parameter?) and is not new.
    floor: Option<MarkKey>,
}

/// Why a record is not folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unfolded {
    /// The last run folded it.
    SeenBefore,
    /// It is older than what was asked for.
    BelowSince,
}

impl PreviousMark {
    /// The start of a first run: nothing seen, and `start` (if any) as the floor.
    pub fn from_start(start: Option<&str>) -> Self {
        Self {
            floor: start.map(MarkKey::from_text),
            ..Self::default()
        }
    }

    /// Whether and why the record is not to be folded.
    pub(super) fn unfolded(&self, key: &MarkKey, hash: u64) -> Option<Unfolded> {
        if self.floor.as_ref().is_some_and(|floor| key < floor) {
            return Some(Unfolded::BelowSince);
        }
        (self.max.as_ref().is_some_and(|max| key <= max) && self.seen.contains(&hash))
            .then_some(Unfolded::SeenBefore)
    }

    /// Whether the last run left nothing to compare with: every record is new.
    pub(super) fn is_blank(&self) -> bool {
        self.max.is_none() && self.floor.is_none()
    }
}

/// A stable 64-bit FNV-1a hash of a record's bytes: it is kept between runs, and between
/// versions of pagefold, so std's `DefaultHasher` (whose algorithm may change) will not do.
pub(super) fn record_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The mark's state on one worker.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MarkState {
    /// The largest value seen, as its raw JSON.
    pub max: Option<(MarkKey, String)>,
    /// `(value, record hash)` of the records within `lag` of `max`.
    recent: BTreeSet<(MarkKey, u64)>,
    /// Records not folded because the last run folded them.
    pub seen_again: u64,
    /// Records not folded because they are older than what was asked for.
    #[serde(default)]
    pub below_since: u64,
    /// `recent`'s length after the last pruning: it is pruned when it doubles.
    #[serde(skip)]
    pruned_at: usize,
}

impl MarkState {
    fn prune(&mut self, lag: Option<Duration>) {
        if let Some((max, _)) = &self.max {
            let floor = match lag {
                Some(lag) => max.minus(lag).unwrap_or_else(|| max.clone()),
                None => max.clone(),
            };
            self.recent = self.recent.split_off(&(floor, 0));
        }
        self.pruned_at = self.recent.len();
    }

    fn absorb(&mut self, key: MarkKey, raw: &str, hash: u64, lag: Option<Duration>) {
        if self.max.as_ref().is_none_or(|(max, _)| key > *max) {
            self.max = Some((key.clone(), raw.to_owned()));
        }
        self.recent.insert((key, hash));
        if self.recent.len() > 2 * self.pruned_at.max(512) {
            self.prune(lag);
        }
    }

    /// The mark's finished value, taken off the end of the reducers' values (it is not one
    /// of the job's results).
    ///
    /// # Errors
    ///
    /// When the value is not a mark's (a bug).
    pub fn take_from(
        values: &mut Vec<(String, serde_json::Value)>,
    ) -> Result<Self, crate::engine::reduce::ReduceError> {
        let (_, value) = values.pop().expect("the mark is the last reducer");
        serde_json::from_value(value).map_err(|error| crate::engine::reduce::ReduceError::Page {
            url: "the incremental mark".into(),
            message: error.to_string(),
        })
    }

    /// The state a new run starts from: this one, with its count of records seen again
    /// (which is a run's own) back at zero.
    pub fn for_next_run(mut self) -> Vec<u8> {
        self.seen_again = 0;
        self.below_since = 0;
        serde_json::to_vec(&self).expect("a mark serializes")
    }

    /// What the next run starts from, asking from the mark less `lag`.
    pub fn previous(&self, lag: Option<Duration>) -> PreviousMark {
        let max = self.max.as_ref().map(|(key, _)| key.clone());
        PreviousMark {
            floor: max.as_ref().map(|max| {
                lag.and_then(|lag| max.minus(lag))
                    .unwrap_or_else(|| max.clone())
            }),
            max,
            seen: self.recent.iter().map(|(_, hash)| *hash).collect(),
        }
    }
}

/// The mark as a reducer.
pub struct MarkReducer {
    lag: Option<Duration>,
    previous: Arc<PreviousMark>,
}

impl MarkReducer {
    /// The mark of `spec`, with what the last run left.
    pub fn new(spec: &IncrementalSpec, previous: Arc<PreviousMark>) -> Self {
        Self {
            lag: spec.lag,
            previous,
        }
    }
}

impl Reduce for MarkReducer {
    fn describe(&self) -> String {
        "the incremental mark".into()
    }

    fn partial(&self, _slot: Option<usize>) -> Result<Box<dyn Partial>, ReduceFailure> {
        Ok(Box::new(MarkPartial {
            state: MarkState::default(),
            lag: self.lag,
            previous: self.previous.clone(),
        }))
    }

    fn restore(
        &self,
        _slot: Option<usize>,
        bytes: &[u8],
    ) -> Result<Box<dyn Partial>, ReduceFailure> {
        let state = serde_json::from_slice(bytes)
            .map_err(|error| ReduceFailure::Failed(format!("a saved mark is damaged: {error}")))?;
        Ok(Box::new(MarkPartial {
            state,
            lag: self.lag,
            previous: self.previous.clone(),
        }))
    }
}

struct MarkPartial {
    state: MarkState,
    lag: Option<Duration>,
    previous: Arc<PreviousMark>,
}

impl Partial for MarkPartial {
    /// Folds the raw page (before `map`), whose view has the mark's field in slot 0.
    fn fold(&mut self, page: &PageView<'_>) -> Result<(), ReduceFailure> {
        let records = page.page.records_json();
        for (index, &(start, end)) in page.page.record_bounds().iter().enumerate() {
            let Some(key) = page.value(index, 0).and_then(MarkKey::read) else {
                continue;
            };
            let raw = page.value(index, 0).unwrap_or_default();
            let hash = record_hash(&records.as_bytes()[start as usize..end as usize]);
            match self.previous.unfolded(&key, hash) {
                Some(Unfolded::SeenBefore) => self.state.seen_again += 1,
                Some(Unfolded::BelowSince) => self.state.below_since += 1,
                None => {}
            }
            self.state.absorb(key, raw, hash, self.lag);
        }
        Ok(())
    }

    fn merge(&mut self, other: Box<dyn Partial>) -> Result<(), ReduceFailure> {
        let other = other
            .into_any()
            .downcast::<MarkPartial>()
            .map_err(|_| ReduceFailure::Failed("merged with another reducer".into()))?;
        let other = other.state;
        if let Some((key, raw)) = other.max
            && self.state.max.as_ref().is_none_or(|(max, _)| key > *max)
        {
            self.state.max = Some((key, raw));
        }
        self.state.recent.extend(other.recent);
        self.state.seen_again += other.seen_again;
        self.state.below_since += other.below_since;
        self.state.prune(self.lag);
        Ok(())
    }

    fn save(&self) -> Result<Vec<u8>, ReduceFailure> {
        let mut state = MarkState {
            max: self.state.max.clone(),
            recent: self.state.recent.clone(),
            seen_again: self.state.seen_again,
            below_since: self.state.below_since,
            pruned_at: 0,
        };
        state.prune(self.lag);
        serde_json::to_vec(&state).map_err(|error| ReduceFailure::Failed(error.to_string()))
    }

    fn finish(self: Box<Self>) -> Result<serde_json::Value, ReduceFailure> {
        let mut state = self.state;
        state.prune(self.lag);
        serde_json::to_value(&state).map_err(|error| ReduceFailure::Failed(error.to_string()))
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_what_is_within_lag_of_the_max() {
        let lag = Some(Duration::from_secs(10));
        let mut state = MarkState::default();
        for second in 0..2000 {
            state.absorb(
                MarkKey::Number(f64::from(second)),
                &second.to_string(),
                second as u64,
                lag,
            );
        }
        state.prune(lag);
        assert_eq!(state.recent.len(), 11);
        let previous = state.previous(lag);
        let seen = Some(Unfolded::SeenBefore);
        assert_eq!(previous.unfolded(&MarkKey::Number(1995.0), 1995), seen);
        assert_eq!(
            previous.unfolded(&MarkKey::Number(1995.0), 7),
            None,
            "a late write"
        );
        assert_eq!(
            previous.unfolded(&MarkKey::Number(2001.0), 1999),
            None,
            "new"
        );
        assert_eq!(
            previous.unfolded(&MarkKey::Number(1980.0), 1980),
            Some(Unfolded::BelowSince),
            "below the mark less lag: not asked for"
        );
    }
}
