//! A field of a record named by a JSON Pointer that the job configures.

use serde::{Deserialize, Deserializer};

use crate::json::{Pointer, PointerSet};
use crate::{DecimalError, ExactSum, Number, ReducerError};

/// A record field chosen at run time (`config = { field = "/amount" }`). Values come back as
/// their JSON text (`12.5`, `"paid"`, `{"a":1}`), picked out of the record by a scan that
/// trusts the runner's check that pages are well-formed JSON.
///
/// Use it in [`crate::Reducer::read`] with `type Record<'a> = Option<&'a str>`, so the field
/// is found while the record is read. When the fields are known when you write the plugin, a
/// `#[derive(Deserialize)]` struct is simpler.
///
/// ```
/// use pagefold_reducer::{Field, Number};
///
/// let field: Field = serde_json::from_str(r#""/price/amount""#).unwrap();
/// let record = r#"{"id":1,"price":{"amount":12}}"#;
/// assert_eq!(field.read(record).unwrap(), Some("12"));
/// assert_eq!(field.number(record).unwrap(), Some(Number::Integer(12)));
/// ```
#[derive(Debug, Clone)]
pub struct Field {
    pointer: Pointer,
    set: PointerSet,
}

impl Field {
    /// A field at `pointer`.
    pub fn new(pointer: Pointer) -> Self {
        let set = PointerSet::new([&pointer]);
        Self { pointer, set }
    }

    /// The pointer.
    pub fn pointer(&self) -> &Pointer {
        &self.pointer
    }

    /// The field's JSON text in `record`; `None` when the record lacks it or it is `null`.
    ///
    /// # Errors
    ///
    /// When `record` is not well-formed JSON (records from pagefold always are).
    pub fn read<'a>(&self, record: &'a str) -> Result<Option<&'a str>, ReducerError> {
        let mut found = [None];
        self.set
            .scan(record, &mut found)
            .map_err(|e| ReducerError::new(format!("the record is not JSON: {e}")))?;
        Ok(found[0].filter(|value| *value != "null"))
    }

    /// The field read as a number; `None` when absent or `null`.
    ///
    /// # Errors
    ///
    /// When the field holds something other than a number.
    pub fn number(&self, record: &str) -> Result<Option<Number>, ReducerError> {
        self.read(record)?
            .map(|value| self.to_number(value))
            .transpose()
    }

    /// A value of this field (from [`Field::read`]) as a number.
    ///
    /// # Errors
    ///
    /// When `value` is not a number; the message names the field.
    pub fn to_number(&self, value: &str) -> Result<Number, ReducerError> {
        Number::parse(value).ok_or_else(|| {
            ReducerError::new(format!(
                "`{}` must be a number, not `{value}`",
                self.pointer
            ))
        })
    }
}

impl Field {
    /// Adds a value of this field (from [`Field::read`]) to `sum`, exactly as its JSON text
    /// says (`0.1` is `0.1`, a 30-digit integer keeps every digit).
    ///
    /// ```
    /// use pagefold_reducer::{ExactSum, Field};
    ///
    /// let field: Field = serde_json::from_str(r#""/amount""#).unwrap();
    /// let mut sum = ExactSum::default();
    /// for record in [r#"{"amount":0.1}"#, r#"{"amount":0.2}"#] {
    ///     field.add_to(&mut sum, field.read(record).unwrap().unwrap()).unwrap();
    /// }
    /// assert_eq!(sum.to_json().to_string(), "0.3");
    /// ```
    ///
    /// # Errors
    ///
    /// When `value` is not a number, or is beyond what a sum holds (±1e10000).
    pub fn add_to(&self, sum: &mut ExactSum, value: &str) -> Result<(), ReducerError> {
        sum.add_text(value).map_err(|error| match error {
            DecimalError::NotANumber(_) => ReducerError::new(format!(
                "`{}` must be a number, not `{value}`",
                self.pointer
            )),
            DecimalError::OutOfRange(_) => {
                ReducerError::new(format!("`{}`: {error}", self.pointer))
            }
        })
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Pointer::deserialize(deserializer).map(Self::new)
    }
}
