//! Reading field values from raw JSON for the built-ins.

use std::borrow::Cow;

use pagefold_reducer::ReducerError;
use serde::{Deserialize, Serialize};

pub(crate) use pagefold_reducer::{Decimal, DecimalError, ExactSum, Number};

/// What kind of JSON value `raw` is, for messages.
pub(crate) fn describe(text: &str) -> String {
    let kind = match text.as_bytes().first() {
        Some(b'"') => "the string",
        Some(b'{') => "the object",
        Some(b'[') => "the array",
        Some(b't' | b'f') => "the boolean",
        _ => "the value",
    };
    let shown: String = text.chars().take(40).collect();
    let more = if shown.len() < text.len() { "…" } else { "" };
    format!("{kind} `{shown}{more}`")
}

/// Whether the field is absent for a reducer: missing, or `null`.
pub(crate) fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|text| *text != "null")
}

/// Adds the raw JSON text of a number to `sum`, exactly.
pub(crate) fn add_exactly(
    sum: &mut ExactSum,
    raw: &str,
    reducer: &str,
) -> Result<(), ReducerError> {
    sum.add_text(raw).map_err(|error| match error {
        DecimalError::NotANumber(_) => ReducerError::new(format!(
            "`{reducer}` needs numbers, but the field is {}",
            describe(raw)
        )),
        DecimalError::OutOfRange(_) => ReducerError::new(format!("`{reducer}`: {error}")),
    })
}

/// A field value as a key for counting: strings by their text, anything else by its compact
/// JSON. Ordered strings first, so ties break the same way on every run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum ValueKey {
    Text(String),
    Json(String),
}

/// A borrowed [`ValueKey`], to look up counts without allocating.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) enum KeyRef<'a> {
    Text(Cow<'a, str>),
    Json(Cow<'a, str>),
}

impl KeyRef<'_> {
    pub fn read(text: &str) -> KeyRef<'_> {
        if text.starts_with('"') {
            if !text.contains('\\') {
                return KeyRef::Text(Cow::Borrowed(&text[1..text.len() - 1]));
            }
            let unescaped: String = serde_json::from_str(text).expect("a raw JSON string parses");
            return KeyRef::Text(Cow::Owned(unescaped));
        }
        if text.starts_with(['{', '[']) {
            // Objects and arrays: one spelling per value, whatever the API's whitespace.
            let value: serde_json::Value = serde_json::from_str(text).expect("raw JSON parses");
            return KeyRef::Json(Cow::Owned(value.to_string()));
        }
        KeyRef::Json(Cow::Borrowed(text))
    }
}

impl ValueKey {
    /// The key as the value it came from.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Text(text) => text.clone().into(),
            Self::Json(json) => serde_json::from_str(json).unwrap_or_else(|_| json.clone().into()),
        }
    }

    /// The key as an object key in the result.
    pub fn label(&self) -> String {
        match self {
            Self::Text(text) | Self::Json(text) => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_numbers_and_refuses_the_rest() {
        let mut sum = ExactSum::default();
        add_exactly(&mut sum, "12", "sum").unwrap();
        add_exactly(&mut sum, "-1.5e2", "sum").unwrap();
        assert_eq!(sum.to_json().to_string(), "-138.0");
        assert_eq!(
            add_exactly(&mut sum, "\"12\"", "sum")
                .unwrap_err()
                .message(),
            "`sum` needs numbers, but the field is the string `\"12\"`"
        );
        assert_eq!(
            add_exactly(&mut sum, "1e10001", "sum")
                .unwrap_err()
                .message(),
            "`sum`: `1e10001` is beyond what can be summed exactly (numbers from 1e-10000 to 1e10000)"
        );
    }

    #[test]
    fn reads_keys_in_one_spelling() {
        assert_eq!(
            KeyRef::read(r#""a\"b""#),
            KeyRef::Text(Cow::Borrowed("a\"b"))
        );
        assert_eq!(
            KeyRef::read(r#"{ "b" : 1 }"#),
            KeyRef::Json(Cow::Borrowed(r#"{"b":1}"#))
        );
        assert_eq!(KeyRef::read("true"), KeyRef::Json(Cow::Borrowed("true")));
    }
}
