//! Write reducers for pagefold: the [`Reducer`] trait, the
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
//! * **merge equals sequential fold**: folding records into two states and merging them
//!   finishes to the same result as folding all of them into one;
//! * **serialization**: [`Reducer::load`] of [`Reducer::save`] of a state finishes to the same
//!   result as the state itself.
//!
//! Together they make the result independent of the number of workers and of the order in
//! which pages arrive. Where order matters to a reducer (say, "the first 10 records"), use the
//! [`Position`] that comes with each record instead of arrival order. With the `laws` feature
//! (documented on docs.rs, which builds all features; locally `cargo doc --features laws`),
//! `laws::check` tests them on generated records (`laws::check_exported`: through the plugin's
//! C table), comparing saved states as well as results; its docs state each law exactly.
//!
//! # What to implement
//!
//! [`Reducer::new`], [`Reducer::init`], [`Reducer::fold`], [`Reducer::merge`] and
//! [`Reducer::finish`] are required; [`Reducer::save`] and [`Reducer::load`] default to JSON
//! through the state's serde implementations.
//!
//! # Start a plugin
//!
//! `pagefold plugin new NAME` writes a crate that builds and loads as it is: this SDK's source
//! in a folder of its own (so it builds anywhere with crates.io alone), a reducer that sums a
//! field exactly, and tests of the laws in Rust and through the exported C table. Then:
//!
//! ```sh
//! cargo test && cargo build --release
//! pagefold plugin check target/release/libNAME.so --config '{"field": "/amount"}'
//! ```
//!
//! and in the job file (the path is relative to it):
//!
//! ```toml
//! [[reduce]]
//! name = "total"
//! plugin = "NAME/target/release/libNAME.so"
//! config = { field = "/amount" }
//! ```
//!
//! # Example
//!
//! A plugin that sums a field, with its records read as a struct that names only that field.
//! [`ExactSum`] keeps the sum exact whatever the order of additions, so `merge` is associative
//! and commutative even for floats (a plain `f64` sum is not):
//!
//! ```
//! use pagefold_reducer::{export_reducer, ExactSum, Number, Position, Reducer, ReducerError};
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
//!     type State = ExactSum;
//!     type Record<'a> = Order;
//!
//!     fn new(_config: serde_json::Value) -> Result<Self, ReducerError> {
//!         Ok(SumAmount)
//!     }
//!     fn init(&self) -> ExactSum {
//!         ExactSum::default()
//!     }
//!     fn fold(&self, sum: &mut ExactSum, order: Order, _at: Position) -> Result<(), ReducerError> {
//!         if let Some(amount) = order.amount {
//!             sum.add(Number::Float(amount));
//!         }
//!         Ok(())
//!     }
//!     fn merge(&self, into: &mut ExactSum, other: ExactSum) {
//!         into.merge(&other);
//!     }
//!     fn finish(&self, sum: ExactSum) -> serde_json::Value {
//!         sum.total().to_json()
//!     }
//! }
//!
//! export_reducer!(SumAmount);
//! ```
//!
//! # Building: `panic = "unwind"` and a release build
//!
//! A plugin must be built with `panic = "unwind"` (Cargo's default): every entry point catches
//! the plugin's panics and reports them as errors, which an abort would make impossible, so
//! [`export_reducer!`] refuses `panic = "abort"` at compile time. Build with `--release`: a
//! plugin built without optimisations runs several times slower, and pagefold warns about it
//! (`pagefold plugin check`, `validate` and `run` show the build each plugin was made with).
//!
//! # Versions: the SDK, the ABI and saved states
//!
//! | pagefold-reducer | plugin ABI | loaded by |
//! | --- | --- | --- |
//! | 0.1.0 (first releases) | 1.0 | pagefold 0.1 |
//! | 0.1.0 (this one) | 1.1 (adds the build and [`Reducer::STATE_FORMAT`]) | pagefold speaking ABI 1.x |
//!
//! A runner loads a plugin whose ABI major version is its own, whatever the minor version
//! (see [`abi`]); a plugin built for another major version is refused with the SDK version to
//! rebuild against.
//!
//! pagefold saves reducer states in checkpoints and incremental states, and records beside
//! them the plugin's name, version and [`Reducer::STATE_FORMAT`]. A new release of a plugin
//! may change its version freely; when it changes what [`Reducer::save`] writes, either keep
//! [`Reducer::load`] able to read the old format (then keep `STATE_FORMAT`), or raise
//! `STATE_FORMAT`: pagefold then refuses the old states with the command that starts over,
//! rather than misreading them.
#![deny(missing_docs)]

pub mod abi;
mod decimal;
mod error;
mod exact_sum;
#[doc(hidden)]
pub mod export;
mod field;
#[cfg(feature = "laws")]
pub mod laws;
mod number;
mod position;
mod reducer;

pub use decimal::{Decimal, DecimalError, MAX_EXPONENT};
pub use error::ReducerError;
pub use exact_sum::ExactSum;
pub use field::Field;
pub use number::Number;
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
