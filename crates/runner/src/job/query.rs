//! A query parameter's value, as `query` and partition lists write it.

use std::fmt;

use serde::Deserialize;

/// A query parameter's value: TOML strings, integers, floats and booleans are all accepted.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(untagged, expecting = "a string, number or boolean")]
pub enum QueryValue {
    /// `"open"`.
    Text(String),
    /// `50`.
    Integer(i64),
    /// `0.5`.
    Float(f64),
    /// `true`.
    Bool(bool),
}

impl fmt::Display for QueryValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Integer(n) => write!(f, "{n}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}
