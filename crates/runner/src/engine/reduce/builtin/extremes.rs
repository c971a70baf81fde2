//! `min` and `max` of a field.

use std::cmp::Ordering;
use std::marker::PhantomData;

use pagefold_reducer::{Position, ReducerError};
use serde::{Deserialize, Serialize};

use super::Builtin;
use super::value::{KeyRef, Number, describe, number, present};

/// A value `min`/`max` can compare: numbers (by value) order before strings (by text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Comparable {
    Integer(i128),
    Float(f64),
    Text(String),
}

impl Comparable {
    fn read(raw: &str, reducer: &str) -> Result<Self, ReducerError> {
        if raw.starts_with('"') {
            return match KeyRef::read(raw) {
                KeyRef::Text(text) => Ok(Self::Text(text.into_owned())),
                KeyRef::Json(_) => unreachable!("a JSON string reads as text"),
            };
        }
        match number(raw, reducer) {
            Ok(Number::Integer(n)) => Ok(Self::Integer(n)),
            Ok(Number::Float(x)) => Ok(Self::Float(x)),
            Err(_) => Err(ReducerError::new(format!(
                "`{reducer}` compares numbers or strings, but the field is {}",
                describe(raw)
            ))),
        }
    }

    /// A total order, so that the result never depends on which worker saw what.
    fn order(&self, other: &Self) -> Ordering {
        use Comparable::{Float, Integer, Text};
        let rank = |c: &Self| matches!(c, Text(_)) as u8;
        match (self, other) {
            (Integer(a), Integer(b)) => a.cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (Integer(_) | Float(_), Integer(_) | Float(_)) => {
                let value = |c: &Self| match c {
                    Integer(n) => *n as f64,
                    Float(x) => *x,
                    Text(_) => unreachable!("numbers only in this arm"),
                };
                // Equal values: an integer orders before the float spelling of it.
                value(self)
                    .total_cmp(&value(other))
                    .then(matches!(self, Float(_)).cmp(&matches!(other, Float(_))))
            }
            _ => rank(self).cmp(&rank(other)),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Integer(n) => Number::Integer(*n).to_json(),
            Self::Float(x) => (*x).into(),
            Self::Text(text) => text.clone().into(),
        }
    }
}

/// Which end `Extreme` keeps.
pub(crate) trait End: Send + Sync + 'static {
    const NAME: &'static str;
    /// Whether `candidate` replaces `kept`.
    fn better(candidate: Ordering) -> bool;
}

/// The smallest value.
pub(crate) struct Smallest;
/// The largest value.
pub(crate) struct Largest;

impl End for Smallest {
    const NAME: &'static str = "min";
    fn better(candidate: Ordering) -> bool {
        candidate == Ordering::Less
    }
}

impl End for Largest {
    const NAME: &'static str = "max";
    fn better(candidate: Ordering) -> bool {
        candidate == Ordering::Greater
    }
}

/// The smallest or largest value of a field; `null` on no input.
pub(crate) struct Extreme<E>(PhantomData<E>);

/// `min`.
pub(crate) type Min = Extreme<Smallest>;
/// `max`.
pub(crate) type Max = Extreme<Largest>;

impl<E: End> Extreme<E> {
    fn keep(kept: &mut Option<Comparable>, candidate: Comparable) {
        match kept {
            Some(current) if !E::better(candidate.order(current)) => {}
            _ => *kept = Some(candidate),
        }
    }
}

impl<E: End> Builtin for Extreme<E> {
    type State = Option<Comparable>;

    fn new(_k: usize) -> Self {
        Self(PhantomData)
    }

    fn init(&self) -> Option<Comparable> {
        None
    }

    fn fold_value(
        &self,
        kept: &mut Option<Comparable>,
        value: Option<&str>,
        _: Position,
    ) -> Result<(), ReducerError> {
        if let Some(raw) = present(value) {
            Self::keep(kept, Comparable::read(raw, E::NAME)?);
        }
        Ok(())
    }

    fn merge(&self, into: &mut Option<Comparable>, other: Option<Comparable>) {
        if let Some(other) = other {
            Self::keep(into, other);
        }
    }

    fn finish(&self, kept: Option<Comparable>) -> serde_json::Value {
        kept.map_or(serde_json::Value::Null, |value| value.to_json())
    }
}
