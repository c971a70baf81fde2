//! A property test of the merge laws (feature `laws`).
//!
//! ```
//! # use pagefold_reducer::{Position, Reducer, ReducerError};
//! # struct Count;
//! # impl Reducer for Count {
//! #     type Config = ();
//! #     type State = u64;
//! #     type Record<'a> = serde::de::IgnoredAny;
//! #     fn new(_: ()) -> Result<Self, ReducerError> { Ok(Count) }
//! #     fn init(&self) -> u64 { 0 }
//! #     fn fold(&self, n: &mut u64, _: serde::de::IgnoredAny, _: Position) -> Result<(), ReducerError> { *n += 1; Ok(()) }
//! #     fn merge(&self, n: &mut u64, m: u64) { *n += m }
//! #     fn finish(&self, n: u64) -> serde_json::Value { n.into() }
//! # }
//! use pagefold_reducer::laws;
//! use proptest::prelude::*;
//!
//! laws::check(&Count, (0..100i64).prop_map(|n| serde_json::json!({ "n": n })));
//! ```

pub use proptest;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use crate::{Position, Reducer};

/// Checks identity, associativity, commutativity and the save/load round trip of `reducer` on
/// lists of records drawn from `records`, split into up to five contiguous worker shares at
/// random (pages, not records, are what workers share; contiguous shares of records are the
/// harder case for order-sensitive reducers, which see positions out of arrival order).
///
/// # Panics
///
/// When a law fails, with the smallest failing input proptest finds; also when a generated
/// record does not fold (make the strategy produce records the reducer accepts).
pub fn check<R: Reducer>(reducer: &R, records: impl Strategy<Value = Value>) {
    let cases = (
        proptest::collection::vec(records, 0..48),
        proptest::collection::vec(0..48usize, 0..4),
    );
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&cases, |(records, cuts)| {
        check_case(reducer, &records, &cuts)
    });
    if let Err(failure) = outcome {
        panic!("merge laws do not hold: {failure}");
    }
}

fn check_case<R: Reducer>(
    reducer: &R,
    records: &[Value],
    cuts: &[usize],
) -> Result<(), TestCaseError> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(records.len())).collect();
    cuts.sort_unstable();
    let mut shares = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([records.len()]) {
        shares.push(start..cut);
        start = cut;
    }
    let fold = |range: std::ops::Range<usize>| -> R::State {
        let mut state = reducer.init();
        for index in range {
            let text = records[index].to_string();
            let record = reducer.read(&text).unwrap_or_else(|e| {
                panic!(
                    "generated record {} does not deserialize: {e}",
                    records[index]
                )
            });
            let at = Position {
                chain: 0,
                page: index as u64,
                record: 0,
            };
            reducer
                .fold(&mut state, record, at)
                .unwrap_or_else(|e| panic!("fold failed on {}: {e}", records[index]));
        }
        state
    };
    let finish = |state: R::State| -> Value { reducer.finish(state) };

    let sequential = finish(fold(0..records.len()));

    // Commutativity: merge the shares in reverse order.
    let mut reversed = reducer.init();
    for share in shares.iter().rev() {
        reducer.merge(&mut reversed, fold(share.clone()));
    }
    prop_assert_eq!(
        &finish(reversed),
        &sequential,
        "merging shares in reverse order differs"
    );

    // Associativity: fold shares right to left, `a ⊕ (b ⊕ (c ⊕ d))`.
    let mut right = reducer.init();
    for share in shares.iter().rev() {
        let mut left = fold(share.clone());
        reducer.merge(&mut left, right);
        right = left;
    }
    prop_assert_eq!(&finish(right), &sequential, "right-nested merge differs");

    // Identity on both sides.
    let mut left_identity = reducer.init();
    reducer.merge(&mut left_identity, fold(0..records.len()));
    prop_assert_eq!(
        &finish(left_identity),
        &sequential,
        "init ⊕ a differs from a"
    );
    let mut right_identity = fold(0..records.len());
    reducer.merge(&mut right_identity, reducer.init());
    prop_assert_eq!(
        &finish(right_identity),
        &sequential,
        "a ⊕ init differs from a"
    );

    // Round trip through save and load, also of a merged state.
    let mut merged = reducer.init();
    for share in &shares {
        let saved = reducer.save(&fold(share.clone())).expect("save");
        let loaded = reducer.load(&saved).expect("load");
        reducer.merge(&mut merged, loaded);
    }
    let saved = reducer.save(&merged).expect("save");
    prop_assert_eq!(
        &finish(reducer.load(&saved).expect("load")),
        &sequential,
        "save/load round trip differs"
    );
    Ok(())
}
