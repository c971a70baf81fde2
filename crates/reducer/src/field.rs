//! A field of a record named by a JSON Pointer that the job configures.

use serde::{Deserialize, Deserializer};

use crate::json::{Pointer, PointerSet, RawValue};
use crate::{Number, ReducerError};

/// A record field chosen at run time (`config = { field = "/amount" }`), for reducers whose
/// record type is the raw record (`type Record<'a> = &'a RawValue`). When the fields are known
/// when you write the plugin, a `#[derive(Deserialize)]` struct is simpler and faster.
///
/// ```
/// use pagefold_reducer::{Field, Number};
/// use pagefold_reducer::json::RawValue;
///
/// let field: Field = serde_json::from_str(r#""/price/amount""#).unwrap();
/// let record: Box<RawValue> = serde_json::from_str(r#"{"price":{"amount":12}}"#).unwrap();
/// assert_eq!(field.number(&record).unwrap(), Some(Number::Integer(12)));
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

    /// Reads a record from a deserializer, picking out this field in the same pass: what
    /// [`crate::Reducer::read`] calls for `type Record<'a> = Option<&'a RawValue>`. `None`
    /// when the record lacks the field or it is `null`.
    ///
    /// # Errors
    ///
    /// When the record is not well-formed JSON.
    pub fn read<'de, D: Deserializer<'de>>(
        &self,
        record: D,
    ) -> Result<Option<&'de RawValue>, D::Error> {
        let mut found = [None];
        self.set.extract_from(record, &mut found)?;
        Ok(found[0].filter(|raw| raw.get() != "null"))
    }

    /// The field's value read as a number.
    ///
    /// # Errors
    ///
    /// When `value` is not a number; the message names the field.
    pub fn to_number(&self, value: &RawValue) -> Result<Number, ReducerError> {
        Number::parse(value.get()).ok_or_else(|| {
            ReducerError::new(format!(
                "`{}` must be a number, not `{}`",
                self.pointer,
                value.get()
            ))
        })
    }

    /// The field's raw value in `record`; `None` when the record lacks it or it is `null`.
    ///
    /// # Errors
    ///
    /// When `record` is not well-formed JSON (records from pagefold always are).
    pub fn get<'a>(&self, record: &'a RawValue) -> Result<Option<&'a RawValue>, ReducerError> {
        let mut found = [None];
        self.set
            .extract(record.get(), &mut found)
            .map_err(|e| ReducerError::new(format!("the record is not JSON: {e}")))?;
        Ok(found[0].filter(|raw| raw.get() != "null"))
    }

    /// The field as a number; `None` when absent or `null`.
    ///
    /// # Errors
    ///
    /// When the field holds something other than a number.
    pub fn number(&self, record: &RawValue) -> Result<Option<Number>, ReducerError> {
        let Some(raw) = self.get(record)? else {
            return Ok(None);
        };
        self.to_number(raw).map(Some)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Pointer::deserialize(deserializer).map(Self::new)
    }
}
