//! JSON Pointers (RFC 6901) and the one-pass extraction that pagefold runs on every page and
//! every record.
//!
//! A page of an API is a few kilobytes of JSON of which pagefold needs very little: the records
//! array, perhaps a total or a cursor, and per record only the fields that reducers name.
//! Building a `serde_json::Value` tree for all of it would allocate for every key and value.
//! [`PointerSet`] instead walks the input once, skips what no pointer names, and hands back the
//! named values as [`RawValue`] slices *borrowed from the input*: no copy, no tree. Input is
//! `&str`: validate UTF-8 once per page, not once per value. A page's own pass,
//! [`PointerSet::extract_split_text`], checks it with a strict walk of this crate's at a third
//! of serde's cost, and leaves to serde only what it hands over, so errors stay serde's.
//!
//! ```
//! use pagefold_json::{Pointer, PointerSet};
//!
//! let amount: Pointer = "/amount".parse().unwrap();
//! let city: Pointer = "/address/city".parse().unwrap();
//! let set = PointerSet::new([&amount, &city]);
//!
//! let mut found = set.slots();
//! set.extract(r#"{"id":7,"amount":12.5,"address":{"city":"Oslo"}}"#, &mut found).unwrap();
//! assert_eq!(found[0].unwrap().get(), "12.5");
//! assert_eq!(found[1].unwrap().get(), r#""Oslo""#);
//! ```
#![deny(missing_docs)]

/// A visitor's methods for all but objects and arrays: any JSON value is expected, and a
/// scalar or `null` is accepted with nothing kept.
macro_rules! accept_scalars {
    () => {
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        accept_scalars!(@each visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str));
        fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    };
    (@each $($method:ident($ty:ty)),*) => {
        $(fn $method<E: serde::de::Error>(self, _: $ty) -> Result<(), E> { Ok(()) })*
    };
}

mod elements;
mod extract;
mod pointer;
mod quote;
mod scan;
mod split;
mod strict;

pub use elements::{Elements, elements};
pub use extract::PointerSet;
pub use pointer::{Pointer, PointerError};
pub use scan::ScanError;
pub use serde_json::value::RawValue;
pub use split::ArraySplit;
