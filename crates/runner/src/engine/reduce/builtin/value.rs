//! Reading field values from raw JSON for the built-ins.

use std::borrow::Cow;

use pagefold_reducer::ReducerError;
use serde::{Deserialize, Serialize};

pub(crate) use pagefold_reducer::{Decimal, DecimalError, ExactSum, Number};

/// Values an API sent, each with what a built-in keeps of it: hashed with foldhash, a quarter
/// of SipHash's cost on short keys (bench scenario 13), and seeded at random per process, so
/// that no API can choose keys that collide.
pub(crate) type ValueMap<V> = std::collections::HashMap<String, V, foldhash::fast::RandomState>;

/// Values an API sent, hashed as in [`ValueMap`].
pub(crate) type ValueSet = std::collections::HashSet<String, foldhash::fast::RandomState>;

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
    /// The key of a field's raw JSON (well-formed: pages are checked as they arrive).
    ///
    /// # Errors
    ///
    /// When an object or array is nested deeper than [`MAX_DEPTH`].
    pub fn read<'a>(text: &'a str, reducer: &str) -> Result<KeyRef<'a>, ReducerError> {
        if text.starts_with('"') {
            // A byte loop: these are short, and a `memchr` call costs more than it scans.
            if !text.bytes().any(|byte| byte == b'\\') {
                return Ok(KeyRef::Text(Cow::Borrowed(&text[1..text.len() - 1])));
            }
            let unescaped: String = serde_json::from_str(text).expect("a raw JSON string parses");
            return Ok(KeyRef::Text(Cow::Owned(unescaped)));
        }
        if text.starts_with(['{', '[']) {
            within_depth(text, reducer)?;
            // Objects and arrays: one spelling per value, whatever the API's whitespace.
            let value: serde_json::Value = serde_json::from_str(text).expect("raw JSON parses");
            return Ok(KeyRef::Json(Cow::Owned(value.to_string())));
        }
        Ok(KeyRef::Json(Cow::Borrowed(text)))
    }
}

/// Values nested deeper than this are refused, by every reducer alike: the JSON reader that
/// turns them into values stops at 128 levels, and a silent `null` would be a wrong result.
pub(crate) const MAX_DEPTH: usize = 127;

/// How deep objects and arrays nest in well-formed JSON text.
pub(crate) fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// `Ok` when `text` nests at most [`MAX_DEPTH`] levels; else an error naming the reducer.
pub(crate) fn within_depth(text: &str, reducer: &str) -> Result<(), ReducerError> {
    let depth = nesting(text);
    if depth > MAX_DEPTH {
        return Err(ReducerError::new(format!(
            "`{reducer}`: the value is nested {depth} levels deep; values up to {MAX_DEPTH} levels are read"
        )));
    }
    Ok(())
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
            KeyRef::read(r#""a\"b""#, "count_by").unwrap(),
            KeyRef::Text(Cow::Borrowed("a\"b"))
        );
        assert_eq!(
            KeyRef::read(r#"{ "b" : 1 }"#, "count_by").unwrap(),
            KeyRef::Json(Cow::Borrowed(r#"{"b":1}"#))
        );
        assert_eq!(
            KeyRef::read("true", "count_by").unwrap(),
            KeyRef::Json(Cow::Borrowed("true"))
        );
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(
            KeyRef::read(&deep, "count_by").unwrap_err().message(),
            "`count_by`: the value is nested 200 levels deep; values up to 127 levels are read"
        );
        assert_eq!(nesting(r#"{"a": "[[[", "b": [{}]}"#), 3);
    }
}
