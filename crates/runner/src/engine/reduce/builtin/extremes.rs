//! `min` and `max` of a field.

use std::cmp::Ordering;
use std::marker::PhantomData;

use pagefold_reducer::{Position, ReducerError};
use serde::{Deserialize, Serialize};

use super::Builtin;
use super::value::{Decimal, DecimalError, KeyRef, Number, describe, present};
use crate::job::SketchOptions;

/// A value `min`/`max` can compare: numbers (by exact value, their text kept as the API wrote
/// it) order before strings (by text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Comparable {
    /// Saved by earlier versions; read, never made.
    Integer(i128),
    /// Saved by earlier versions; read, never made.
    Float(f64),
    Number(ExactNumber),
    Text(String),
}

/// A number as the API wrote it, and its exact value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub(crate) struct ExactNumber {
    text: String,
    value: Decimal,
}

impl TryFrom<String> for ExactNumber {
    type Error = DecimalError;

    fn try_from(text: String) -> Result<Self, DecimalError> {
        let value = Decimal::parse(&text)?;
        Ok(Self { text, value })
    }
}

impl From<ExactNumber> for String {
    fn from(number: ExactNumber) -> String {
        number.text
    }
}

impl Comparable {
    fn read(raw: &str, reducer: &str) -> Result<Self, ReducerError> {
        if raw.starts_with('"') {
            return match KeyRef::read(raw, reducer)? {
                KeyRef::Text(text) => Ok(Self::Text(text.into_owned())),
                KeyRef::Json(_) => unreachable!("a JSON string reads as text"),
            };
        }
        match ExactNumber::try_from(raw.to_owned()) {
            Ok(number) => Ok(Self::Number(number)),
            Err(DecimalError::NotANumber(_)) => Err(ReducerError::new(format!(
                "`{reducer}` compares numbers or strings, but the field is {}",
                describe(raw)
            ))),
            Err(error) => Err(ReducerError::new(format!("`{reducer}`: {error}"))),
        }
    }

    /// The exact value of a number (of any version's spelling), `None` for text. Borrowed
    /// for the numbers a run reads: every record is compared, and nothing need be copied.
    fn value(&self) -> Option<std::borrow::Cow<'_, Decimal>> {
        use std::borrow::Cow;
        match self {
            Self::Integer(n) => Some(Cow::Owned(Decimal::from_i128(*n))),
            Self::Float(x) => Decimal::from_f64(*x).map(Cow::Owned),
            Self::Number(number) => Some(Cow::Borrowed(&number.value)),
            Self::Text(_) => None,
        }
    }

    /// The number's text, for ties between equal values written differently (`1`, `1.0`).
    fn spelling(&self) -> String {
        match self {
            Self::Integer(n) => n.to_string(),
            Self::Float(x) => Number::Float(*x).to_json().to_string(),
            Self::Number(number) => number.text.clone(),
            Self::Text(text) => text.clone(),
        }
    }

    /// A total order, so that the result never depends on which worker saw what.
    fn order(&self, other: &Self) -> Ordering {
        match (self.value(), other.value()) {
            // Equal values: by their spelling, so which one is kept never depends on order.
            (Some(a), Some(b)) => a
                .cmp(&b)
                .then_with(|| self.spelling().cmp(&other.spelling())),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.spelling().cmp(&other.spelling()),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Integer(n) => Number::Integer(*n).to_json(),
            Self::Float(x) => (*x).into(),
            // Every digit as written: a 39-digit id stays itself.
            Self::Number(number) => number
                .text
                .parse::<serde_json::Number>()
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
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

    fn new(_k: usize, _: &SketchOptions) -> Self {
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
