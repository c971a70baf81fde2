//! A JSON number as reducers read it: exact when it is an integer.

/// A JSON number, exact when it is an integer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer, exact.
    Integer(i128),
    /// Anything else.
    Float(f64),
}

impl Number {
    /// The number as a float (rounded when an integer is beyond 2⁵³).
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Integer(n) => n as f64,
            Self::Float(x) => x,
        }
    }

    /// The number as a JSON value, integers exact at any size (`null` for an infinity or
    /// NaN, which JSON cannot write).
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Self::Integer(n) => json_number(&n.to_string()),
            Self::Float(x) => x.into(),
        }
    }
}

impl Number {
    /// Reads a JSON number from its text (`12`, `-1.5e3`): an integer when it has no fraction
    /// or exponent and fits an `i128`, else a float. `None` if the text is not a number.
    ///
    /// ```
    /// use pagefold_reducer::Number;
    ///
    /// assert_eq!(Number::parse("42"), Some(Number::Integer(42)));
    /// assert_eq!(Number::parse("0.5"), Some(Number::Float(0.5)));
    /// assert_eq!(Number::parse("\"7\""), None);
    /// ```
    pub fn parse(text: &str) -> Option<Number> {
        if !text
            .as_bytes()
            .first()
            .is_some_and(|b| *b == b'-' || b.is_ascii_digit())
        {
            return None;
        }
        if !text.contains(['.', 'e', 'E'])
            && let Ok(n) = text.parse::<i128>()
        {
            return Some(Number::Integer(n));
        }
        text.parse::<f64>().ok().map(Number::Float)
    }
}

/// A JSON number from its text, every digit kept (serde_json's `arbitrary_precision`).
pub(crate) fn json_number(text: &str) -> serde_json::Value {
    text.parse::<serde_json::Number>()
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}
