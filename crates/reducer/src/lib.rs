//! Write reducers for [pagefold](https://example.invalid/pagefold): the [`Reducer`] trait, the
//! C ABI a plugin exports, and [`export_reducer!`], the one macro that exports it.
//!
//! pagefold fetches the pages of an HTTP API concurrently and streams their records into
//! reducers. Each reduce worker thread folds its share of the pages into a *state* of its own,
//! and the states of all workers are merged at the end (map/reduce). That is the whole
//! contract this crate describes, and built-in reducers follow it too.
//!
//! # Who reads this crate
//!
//! * **Plugin authors** implement [`Reducer`] in safe Rust, call [`export_reducer!`] once, and
//!   build the crate as a `cdylib`. They never write `unsafe`, `extern "C"` or a pointer.
//! * **The runner** loads such a library with `dlopen` and talks to it through the types in
//!   [`abi`]; nothing else about the plugin is visible to it.
//!
//! # Why a C ABI
//!
//! Rust has no stable ABI: a plugin built by another compiler version (or with other flags)
//! may lay out the same Rust type differently. So only C-compatible data crosses the boundary:
//! pointer + length byte buffers (the config as JSON, the records of a page as the JSON array
//! the API sent, a serialized state, the result as JSON) and opaque pointers to plugin-owned
//! state. Memory is freed by the side that allocated it; every entry point catches panics and
//! returns them as errors; the table of entry points carries an ABI version that the runner
//! checks before it calls anything. Records cross as the bytes of the page, so each reducer
//! deserializes only the fields it names, into its own types, with serde.
//!
//! # The contract: merge laws
//!
//! For every reducer `r` and states `a`, `b`, `c`:
//!
//! * **identity**: merging `r.init()` into `a` (or `a` into `r.init()`) leaves `a`'s result
//!   unchanged;
//! * **associativity**: `(a ⊕ b) ⊕ c` and `a ⊕ (b ⊕ c)` finish to the same result;
//! * **commutativity**: `a ⊕ b` and `b ⊕ a` finish to the same result;
//! * **serialization**: [`Reducer::load`] of [`Reducer::save`] of a state finishes to the same
//!   result as the state itself.
//!
//! Together they make the result independent of the number of workers and of the order in
//! which pages arrive. Where order matters to a reducer (say, "the first 10 records"), use the
//! [`Position`] that comes with each record instead of arrival order. With the `laws` feature,
//! [`laws::check`] tests all four on generated records.
//!
//! # What to implement
//!
//! [`Reducer::new`], [`Reducer::init`], [`Reducer::fold`], [`Reducer::merge`] and
//! [`Reducer::finish`] are required; [`Reducer::save`] and [`Reducer::load`] default to JSON
//! through the state's serde implementations.
//!
//! # Example
//!
//! A plugin that sums a field, with its records read as a struct that names only that field:
//!
//! ```
//! use pagefold_reducer::{export_reducer, Position, Reducer, ReducerError};
//! use serde::Deserialize;
//!
//! pub struct SumAmount;
//!
//! #[derive(Deserialize)]
//! pub struct Order {
//!     amount: Option<f64>,
//! }
//!
//! impl Reducer for SumAmount {
//!     type Config = serde_json::Value;
//!     type State = f64;
//!     type Record<'a> = Order;
//!
//!     fn new(_config: serde_json::Value) -> Result<Self, ReducerError> {
//!         Ok(SumAmount)
//!     }
//!     fn init(&self) -> f64 {
//!         0.0
//!     }
//!     fn fold(&self, state: &mut f64, order: Order, _at: Position) -> Result<(), ReducerError> {
//!         *state += order.amount.unwrap_or(0.0);
//!         Ok(())
//!     }
//!     fn merge(&self, into: &mut f64, other: f64) {
//!         *into += other;
//!     }
//!     fn finish(&self, state: f64) -> serde_json::Value {
//!         state.into()
//!     }
//! }
//!
//! export_reducer!(SumAmount);
//! ```
//!
//! (Summing floats in arrival order is not exactly associative; the example plugins in
//! pagefold's repository show how to make results exact.)
#![deny(missing_docs)]

pub mod abi;
mod error;
mod exact_sum;
#[doc(hidden)]
pub mod export;
mod field;
#[cfg(feature = "laws")]
pub mod laws;
mod position;
mod reducer;

pub use error::ReducerError;
pub use exact_sum::{ExactSum, Number};
pub use field::Field;
/// JSON Pointers and one-pass field extraction, for reducers whose fields are configured at
/// run time (a record type of `&RawValue` plus a [`json::PointerSet`]).
pub use pagefold_json as json;
pub use position::Position;
pub use reducer::{Reducer, fold_json_array, fold_records};

/// The version of this SDK, recorded in every plugin built against it.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

// Re-exported for `export_reducer!`, so a plugin needs no direct dependency on them.
#[doc(hidden)]
pub use serde_json;
