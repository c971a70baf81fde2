//! Reading field values from raw JSON, and the exact arithmetic the built-ins share.

use std::borrow::Cow;

use pagefold_json::RawValue;
use pagefold_reducer::ReducerError;
use serde::{Deserialize, Serialize};

/// A JSON number, exact when it is an integer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Integer(i128),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Integer(n) => n as f64,
            Self::Float(x) => x,
        }
    }

    pub fn to_json(self) -> serde_json::Value {
        match self {
            Self::Integer(n) => i64::try_from(n)
                .map(Into::into)
                .or_else(|_| u64::try_from(n).map(Into::into))
                .unwrap_or_else(|_| (n as f64).into()),
            Self::Float(x) => x.into(),
        }
    }
}

/// What kind of JSON value `raw` is, for messages.
pub(crate) fn describe(raw: &RawValue) -> String {
    let text = raw.get();
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
pub(crate) fn present(value: Option<&RawValue>) -> Option<&RawValue> {
    value.filter(|raw| raw.get() != "null")
}

/// Reads a JSON number from its raw text without building a tree.
pub(crate) fn number(raw: &RawValue, reducer: &str) -> Result<Number, ReducerError> {
    let text = raw.get();
    let is_number = text
        .as_bytes()
        .first()
        .is_some_and(|b| *b == b'-' || b.is_ascii_digit());
    if !is_number {
        return Err(ReducerError::new(format!(
            "`{reducer}` needs numbers, but the field is {}",
            describe(raw)
        )));
    }
    if !text.contains(['.', 'e', 'E'])
        && let Ok(n) = text.parse::<i128>()
    {
        return Ok(Number::Integer(n));
    }
    text.parse::<f64>()
        .map(Number::Float)
        .map_err(|_| ReducerError::new(format!("`{text}` is not a number `{reducer}` can read")))
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
    pub fn read(raw: &RawValue) -> KeyRef<'_> {
        let text = raw.get();
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

    #[cfg(test)]
    pub fn to_owned_key(&self) -> ValueKey {
        match self {
            Self::Text(text) => ValueKey::Text(text.clone().into_owned()),
            Self::Json(json) => ValueKey::Json(json.clone().into_owned()),
        }
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

/// A sum that is exact whatever the order of additions: integers in an `i128`, floats as
/// Shewchuk's non-overlapping partials (the algorithm of Python's `math.fsum`), rounded once
/// at the end. So merging workers' sums in any order gives the same, correctly rounded total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExactSum {
    integer: i128,
    partials: Vec<f64>,
    saw_float: bool,
}

impl ExactSum {
    pub fn add(&mut self, number: Number) {
        match number {
            Number::Integer(n) => match self.integer.checked_add(n) {
                Some(sum) => self.integer = sum,
                None => self.add_float(n as f64, true),
            },
            Number::Float(x) => self.add_float(x, true),
        }
    }

    fn add_float(&mut self, mut x: f64, is_float: bool) {
        self.saw_float |= is_float;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let high = x + y;
            let low = y - (high - x);
            if low != 0.0 {
                self.partials[kept] = low;
                kept += 1;
            }
            x = high;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    pub fn merge(&mut self, other: &ExactSum) {
        self.saw_float |= other.saw_float;
        for &partial in &other.partials {
            self.add_float(partial, false);
        }
        match self.integer.checked_add(other.integer) {
            Some(sum) => self.integer = sum,
            None => self.add_float(other.integer as f64, true),
        }
    }

    /// The total: an integer when only integers were added, else the correctly rounded float.
    pub fn total(&self) -> Number {
        if !self.saw_float {
            return Number::Integer(self.integer);
        }
        let mut all = self.clone();
        // An i128 splits into exact f64 pieces: each takes the top 53 bits of what is left.
        let mut rest = all.integer;
        all.integer = 0;
        while rest != 0 {
            let piece = rest as f64;
            let exact = piece as i128;
            all.add_float(piece, false);
            rest -= exact;
        }
        Number::Float(round_partials(&all.partials))
    }
}

/// The correctly rounded sum of non-overlapping partials (the last step of `math.fsum`).
fn round_partials(partials: &[f64]) -> f64 {
    let mut n = partials.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut high = partials[n];
    let mut low = 0.0;
    while n > 0 {
        let x = high;
        n -= 1;
        let y = partials[n];
        high = x + y;
        let y_rounded = high - x;
        low = y - y_rounded;
        if low != 0.0 {
            break;
        }
    }
    if n > 0 && ((low < 0.0 && partials[n - 1] < 0.0) || (low > 0.0 && partials[n - 1] > 0.0)) {
        let y = low * 2.0;
        let x = high + y;
        if y == x - high {
            high = x;
        }
    }
    high
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_sums_do_not_depend_on_order() {
        let values = [1e16, 1.0, -1e16, 0.1, 0.2, 0.3, 1e-10];
        let mut forward = ExactSum::default();
        values.iter().for_each(|&x| forward.add(Number::Float(x)));
        let mut backward = ExactSum::default();
        values
            .iter()
            .rev()
            .for_each(|&x| backward.add(Number::Float(x)));
        assert_eq!(forward.total(), backward.total());
        assert_eq!(forward.total(), Number::Float(1.6000000001));
    }

    #[test]
    fn integers_stay_exact_and_mix_with_floats() {
        let mut sum = ExactSum::default();
        sum.add(Number::Integer(i64::MAX as i128));
        sum.add(Number::Integer(i64::MAX as i128));
        assert_eq!(sum.total(), Number::Integer(2 * i64::MAX as i128));
        sum.add(Number::Float(0.5));
        assert_eq!(sum.total(), Number::Float(1.8446744073709552e19));
    }

    #[test]
    fn reads_numbers_and_keys() {
        let raw = |text: &str| serde_json::from_str::<Box<RawValue>>(text).unwrap();
        assert_eq!(number(&raw("12"), "sum").unwrap(), Number::Integer(12));
        assert_eq!(
            number(&raw("-1.5e2"), "sum").unwrap(),
            Number::Float(-150.0)
        );
        assert_eq!(
            number(&raw("\"12\""), "sum").unwrap_err().message(),
            "`sum` needs numbers, but the field is the string `\"12\"`"
        );
        assert_eq!(
            KeyRef::read(&raw(r#""a\"b""#)).to_owned_key(),
            ValueKey::Text("a\"b".into())
        );
        assert_eq!(
            KeyRef::read(&raw(r#"{ "b" : 1 }"#)).to_owned_key(),
            ValueKey::Json(r#"{"b":1}"#.into())
        );
    }
}
