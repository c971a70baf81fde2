//! Property tests of the merge laws (feature `laws`): one of a [`Reducer`] in Rust, one of a
//! built plugin through the C table that [`crate::export_reducer!`] exports.
//!
//! # The laws
//!
//! Each case draws a list of records and cuts it into up to five contiguous *shares*, as
//! workers would fold them; `fold(x)` folds the records of `x` into a fresh state, `⊕` is
//! [`Reducer::merge`]. Two states *agree* when they finish to the same result and (unless
//! [`Laws::compare_states`] is off) save to the same state (compared as JSON values when both
//! saved states are JSON, else as bytes). The laws, checked in this order:
//!
//! 1. **identity**: `init ⊕ fold(all)` and `fold(all) ⊕ init` agree with `fold(all)`;
//! 2. **merge equals sequential fold**: `fold(s₁) ⊕ fold(s₂) ⊕ …`, merged left to right, agrees
//!    with `fold(all)`;
//! 3. **commutativity**: the shares merged in reverse order agree with `fold(all)`;
//! 4. **associativity**: the shares merged right-nested, `fold(s₁) ⊕ (fold(s₂) ⊕ (…))`, agree
//!    with `fold(all)`;
//! 5. **save/load round trip**: `load(save(x))` agrees with `x` (and saves to the same state),
//!    for each share's state and for the states merged after loading.
//!
//! A failure names the first law that broke and the smallest case proptest found.
//!
//! Comparing saved states catches what results hide: a HyperLogLog whose `merge` adds
//! registers instead of taking their maximum finishes to the right estimate as long as few
//! values are counted, but its registers differ from a sequential fold's at once. A reducer
//! whose state has several representations of one value (an unsorted buffer, floating-point
//! partials) should save a canonical one (as [`crate::ExactSum`] does) or turn the state
//! comparison off.
//!
//! # Example
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
//! use pagefold_reducer::laws::{self, Laws};
//! use proptest::prelude::*;
//!
//! let records = (0..100i64).prop_map(|n| serde_json::json!({ "n": n }));
//! // 256 cases of up to 256 records:
//! laws::check(&Count, records.clone());
//! // Or settings of your own, and the failure as a value:
//! assert!(Laws::new().cases(32).max_records(1000).check(&Count, records).is_ok());
//! ```
//!
//! In a plugin crate, [`Laws::check_exported`] runs the same laws through the plugin's C table,
//! the calls pagefold makes: pass it `pagefold_reducer_plugin`, the entry point that
//! [`crate::export_reducer!`] defines (so a crate that forgets the macro fails to compile its
//! tests).

mod case;
mod exported;

use std::fmt;
use std::ops::Range;

pub use proptest;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;

use crate::Reducer;
use crate::abi::EntryFn;

use self::case::{RustSubject, Subject, check_case};
use self::exported::ExportedSubject;

/// One of the laws every reducer keeps (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// `init` is the identity of `merge`.
    Identity,
    /// Merging the states of the shares agrees with folding all records into one state.
    MergeEqualsSequentialFold,
    /// The order of merges does not matter.
    Commutativity,
    /// The nesting of merges does not matter.
    Associativity,
    /// `load` of `save` of a state agrees with the state.
    SaveLoadRoundTrip,
}

impl fmt::Display for Law {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Law::Identity => "identity",
            Law::MergeEqualsSequentialFold => "merge equals sequential fold",
            Law::Commutativity => "commutativity",
            Law::Associativity => "associativity",
            Law::SaveLoadRoundTrip => "save/load round trip",
        })
    }
}

/// A law that does not hold, with the smallest case found.
#[derive(Debug, Clone, PartialEq)]
pub struct LawFailure {
    /// The law.
    pub law: Law,
    /// What differed.
    pub detail: String,
    /// The records of the case.
    pub records: Vec<Value>,
    /// How the records were cut into the workers' shares.
    pub shares: Vec<Range<usize>>,
}

impl fmt::Display for LawFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the law `{}` does not hold: {}", self.law, self.detail)?;
        write!(
            f,
            "smallest case found: {} record{} in the shares {:?}",
            self.records.len(),
            if self.records.len() == 1 { "" } else { "s" },
            self.shares
        )?;
        for (index, record) in self.records.iter().enumerate() {
            write!(f, "\n  {index}: {record}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LawFailure {}

/// The settings of a law check: how many cases, how many records each, whether saved states
/// are compared.
#[derive(Debug, Clone)]
pub struct Laws {
    cases: u32,
    max_records: usize,
    compare_states: bool,
}

impl Default for Laws {
    fn default() -> Self {
        Self::new()
    }
}

impl Laws {
    /// 256 cases of up to 256 records, saved states compared.
    pub fn new() -> Self {
        Self {
            cases: 256,
            max_records: 256,
            compare_states: true,
        }
    }

    /// How many cases to generate (before shrinking a failure).
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// At most how many records a case has. Sketches need enough to leave their small-count
    /// regime: keep it well above the number of values a sketch holds exactly.
    pub fn max_records(mut self, max_records: usize) -> Self {
        self.max_records = max_records;
        self
    }

    /// Whether states must also save to the same state, not only finish to the same result
    /// (on by default).
    pub fn compare_states(mut self, compare: bool) -> Self {
        self.compare_states = compare;
        self
    }

    /// Checks the laws of `reducer` on records drawn from `records`.
    ///
    /// # Errors
    ///
    /// The first law that fails, with the smallest case found.
    ///
    /// # Panics
    ///
    /// When a generated record does not fold (make the strategy produce records the reducer
    /// accepts).
    pub fn check<R: Reducer>(
        &self,
        reducer: &R,
        records: impl Strategy<Value = Value>,
    ) -> Result<(), LawFailure> {
        self.run(&RustSubject(reducer), records)
    }

    /// Checks the laws through a plugin's exported C table, as pagefold calls it: `entry` is
    /// the plugin's `pagefold_reducer_plugin` (what [`crate::export_reducer!`] defines), and
    /// `config` the reducer's `config` as a job would give it. Beyond the laws, the table must
    /// speak this SDK's ABI, name the plugin, and accept the config.
    ///
    /// # Errors
    ///
    /// The first law that fails, with the smallest case found.
    ///
    /// # Panics
    ///
    /// When the table is not one pagefold would load, the config is refused, or a generated
    /// record does not fold.
    pub fn check_exported(
        &self,
        entry: EntryFn,
        config: &Value,
        records: impl Strategy<Value = Value>,
    ) -> Result<(), LawFailure> {
        let subject = ExportedSubject::new(entry, config);
        self.run(&subject, records)
    }

    fn run<S: Subject>(
        &self,
        subject: &S,
        records: impl Strategy<Value = Value>,
    ) -> Result<(), LawFailure> {
        let cases = (
            proptest::collection::vec(records, 0..=self.max_records),
            proptest::collection::vec(0..=self.max_records, 0..5),
        );
        let mut runner = TestRunner::new(Config {
            cases: self.cases,
            failure_persistence: None,
            ..Config::default()
        });
        let compare = self.compare_states;
        let outcome = runner.run(&cases, |(records, cuts)| {
            check_case(subject, &records, &cuts, compare)
                .map_err(|failure| TestCaseError::fail(failure.to_string()))
        });
        match outcome {
            Ok(()) => Ok(()),
            Err(TestError::Fail(_, (records, cuts))) => {
                // Run the smallest case again for the failure as a value.
                Err(check_case(subject, &records, &cuts, compare)
                    .expect_err("the smallest failing case fails again"))
            }
            Err(TestError::Abort(reason)) => panic!("the law check gave up: {reason}"),
        }
    }
}

/// Checks the laws of `reducer` with the default settings ([`Laws::new`]).
///
/// # Panics
///
/// When a law fails, with the law and the smallest case found; also when a generated record
/// does not fold.
pub fn check<R: Reducer>(reducer: &R, records: impl Strategy<Value = Value>) {
    if let Err(failure) = Laws::new().check(reducer, records) {
        panic!("{failure}");
    }
}

/// Checks the laws through a plugin's exported C table with the default settings (see
/// [`Laws::check_exported`]).
///
/// # Panics
///
/// When a law fails, and as [`Laws::check_exported`].
pub fn check_exported(entry: EntryFn, config: &Value, records: impl Strategy<Value = Value>) {
    if let Err(failure) = Laws::new().check_exported(entry, config, records) {
        panic!("{failure}");
    }
}
