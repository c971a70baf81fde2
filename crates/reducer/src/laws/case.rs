//! One case of the law check, written once for any [`Subject`]: a [`Reducer`] called in Rust,
//! or a plugin called through its C table.

use std::ops::Range;

use serde_json::Value;

use super::{Law, LawFailure};
use crate::{Position, Reducer};

/// What the laws are checked on: the operations of a reducer, with states of its own.
pub(crate) trait Subject {
    /// A state.
    type State;
    /// A fresh state.
    fn init(&self) -> Self::State;
    /// Folds `records[range]` into a fresh state, record `i` at page `i`.
    ///
    /// # Panics
    ///
    /// When a record does not fold: a problem of the check's inputs, not a law.
    fn fold(&self, records: &[String], range: Range<usize>) -> Self::State;
    /// Merges `other` into `into`.
    fn merge(&self, into: &mut Self::State, other: Self::State);
    /// Saves a state.
    fn save(&self, state: &Self::State) -> Result<Vec<u8>, String>;
    /// Loads a saved state.
    fn load(&self, bytes: &[u8]) -> Result<Self::State, String>;
    /// Finishes a state.
    fn finish(&self, state: Self::State) -> Value;
}

/// A [`Reducer`] as a [`Subject`].
pub(crate) struct RustSubject<'a, R>(pub(crate) &'a R);

impl<R: Reducer> Subject for RustSubject<'_, R> {
    type State = R::State;

    fn init(&self) -> R::State {
        self.0.init()
    }

    fn fold(&self, records: &[String], range: Range<usize>) -> R::State {
        let mut state = self.0.init();
        for index in range {
            let text = &records[index];
            let record = self
                .0
                .read(text)
                .unwrap_or_else(|e| panic!("generated record {text} does not deserialize: {e}"));
            let at = Position {
                chain: 0,
                page: index as u64,
                record: 0,
            };
            self.0
                .fold(&mut state, record, at)
                .unwrap_or_else(|e| panic!("fold failed on {text}: {e}"));
        }
        state
    }

    fn merge(&self, into: &mut R::State, other: R::State) {
        self.0.merge(into, other);
    }

    fn save(&self, state: &R::State) -> Result<Vec<u8>, String> {
        self.0.save(state).map_err(|e| e.to_string())
    }

    fn load(&self, bytes: &[u8]) -> Result<R::State, String> {
        self.0.load(bytes).map_err(|e| e.to_string())
    }

    fn finish(&self, state: R::State) -> Value {
        self.0.finish(state)
    }
}

/// What a state shows: what it saves to and what it finishes to.
struct Observed {
    saved: Vec<u8>,
    result: Value,
}

/// A law that failed on a case, before the case is attached.
type Broken = (Law, String);

fn observe<S: Subject>(subject: &S, state: S::State, law: Law) -> Result<Observed, Broken> {
    let saved = subject
        .save(&state)
        .map_err(|e| (law, format!("`save` failed: {e}")))?;
    Ok(Observed {
        saved,
        result: subject.finish(state),
    })
}

/// Whether two saved states are the same state: equal JSON values when both are JSON (so the
/// order of an object's keys does not matter), else equal bytes.
fn same_state(a: &[u8], b: &[u8]) -> bool {
    match (
        serde_json::from_slice::<Value>(a),
        serde_json::from_slice::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}… ({} bytes)", &text[..cut], bytes.len())
    } else {
        text.into_owned()
    }
}

/// Checks that `got` (described by `what`) agrees with `expected`.
fn agree(
    law: Law,
    what: &str,
    got: &Observed,
    expected: &Observed,
    compare_states: bool,
) -> Result<(), Broken> {
    if got.result != expected.result {
        return Err((
            law,
            format!(
                "{what} finishes to {}, but a sequential fold of the same records to {}",
                got.result, expected.result
            ),
        ));
    }
    if compare_states && !same_state(&got.saved, &expected.saved) {
        return Err((
            law,
            format!(
                "{what} finishes to the same result as a sequential fold, but its state differs: it saves {}, a sequential fold saves {}",
                shown(&got.saved),
                shown(&expected.saved)
            ),
        ));
    }
    Ok(())
}

/// The shares of a case: `records` cut at `cuts` (clamped and sorted).
fn shares(len: usize, cuts: &[usize]) -> Vec<Range<usize>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(len)).collect();
    cuts.sort_unstable();
    let mut shares = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([len]) {
        shares.push(start..cut);
        start = cut;
    }
    shares
}

/// Checks every law on one case; the first that breaks is the failure.
pub(crate) fn check_case<S: Subject>(
    subject: &S,
    records: &[Value],
    cuts: &[usize],
    compare_states: bool,
) -> Result<(), LawFailure> {
    let shares = shares(records.len(), cuts);
    let texts: Vec<String> = records.iter().map(Value::to_string).collect();
    laws(subject, &texts, &shares, compare_states).map_err(|(law, detail)| LawFailure {
        law,
        detail,
        records: records.to_vec(),
        shares,
    })
}

fn laws<S: Subject>(
    subject: &S,
    records: &[String],
    shares: &[Range<usize>],
    compare: bool,
) -> Result<(), Broken> {
    let all = 0..records.len();
    let fold = |range: &Range<usize>| subject.fold(records, range.clone());
    let sequential = observe(subject, fold(&all), Law::Identity)?;

    let law = Law::Identity;
    let mut left = subject.init();
    subject.merge(&mut left, fold(&all));
    agree(
        law,
        "`init ⊕ fold(all)`",
        &observe(subject, left, law)?,
        &sequential,
        compare,
    )?;
    let mut right = fold(&all);
    subject.merge(&mut right, subject.init());
    agree(
        law,
        "`fold(all) ⊕ init`",
        &observe(subject, right, law)?,
        &sequential,
        compare,
    )?;

    let law = Law::MergeEqualsSequentialFold;
    let mut merged = fold(&shares[0]);
    for share in &shares[1..] {
        subject.merge(&mut merged, fold(share));
    }
    let what = format!("merging the states of the shares {shares:?} in order");
    agree(
        law,
        &what,
        &observe(subject, merged, law)?,
        &sequential,
        compare,
    )?;

    let law = Law::Commutativity;
    let mut reversed = fold(&shares[shares.len() - 1]);
    for share in shares[..shares.len() - 1].iter().rev() {
        subject.merge(&mut reversed, fold(share));
    }
    let what = format!("merging the states of the shares {shares:?} in reverse order");
    agree(
        law,
        &what,
        &observe(subject, reversed, law)?,
        &sequential,
        compare,
    )?;

    let law = Law::Associativity;
    let mut nested = fold(&shares[shares.len() - 1]);
    for share in shares[..shares.len() - 1].iter().rev() {
        let mut outer = fold(share);
        subject.merge(&mut outer, nested);
        nested = outer;
    }
    let what = format!("merging the states of the shares {shares:?} right-nested");
    agree(
        law,
        &what,
        &observe(subject, nested, law)?,
        &sequential,
        compare,
    )?;

    let law = Law::SaveLoadRoundTrip;
    let round_trip = |bytes: &[u8]| {
        subject
            .load(bytes)
            .map_err(|e| (law, format!("`load` of a saved state failed: {e}")))
    };
    let mut merged = subject.init();
    for share in shares {
        let original = observe(subject, fold(share), law)?;
        let loaded = round_trip(&original.saved)?;
        let again = subject
            .save(&loaded)
            .map_err(|e| (law, format!("`save` of a loaded state failed: {e}")))?;
        if compare && !same_state(&again, &original.saved) {
            return Err((
                law,
                format!(
                    "a loaded state saves {}, but was saved as {}",
                    shown(&again),
                    shown(&original.saved)
                ),
            ));
        }
        let result = subject.finish(loaded);
        if result != original.result {
            return Err((
                law,
                format!(
                    "a loaded state finishes to {result}, the state it was saved from to {}",
                    original.result
                ),
            ));
        }
        subject.merge(&mut merged, round_trip(&original.saved)?);
    }
    let what = "merging the shares' states, each saved and loaded,";
    agree(
        law,
        what,
        &observe(subject, merged, law)?,
        &sequential,
        compare,
    )
}
