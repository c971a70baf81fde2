//! A validated JSON Pointer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON Pointer (RFC 6901) such as `/data` or `/meta/total`, parsed once.
///
/// Invariant: `text` is either empty (the whole document) or starts with `/`, and every `~` in
/// it is followed by `0` or `1`; `tokens` are the unescaped reference tokens of `text`.
///
/// ```
/// use pagefold_json::Pointer;
///
/// let pointer: Pointer = "/a~1b/0".parse().unwrap();
/// assert_eq!(pointer.tokens(), ["a/b", "0"]);
/// assert!("amount".parse::<Pointer>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pointer {
    text: String,
    tokens: Vec<String>,
}

/// Why a string is not a JSON Pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// A non-empty pointer must start with `/`.
    #[error(
        "`{0}` is not a JSON Pointer: it must be empty or start with `/` (did you mean `/{0}`?)"
    )]
    MissingSlash(String),
    /// `~` must be followed by `0` (for `~`) or `1` (for `/`).
    #[error("`{0}` is not a JSON Pointer: `~` must be followed by `0` or `1`")]
    BadEscape(String),
}

impl Pointer {
    /// The pointer to the whole document (`""`).
    pub fn root() -> Self {
        Self {
            text: String::new(),
            tokens: Vec::new(),
        }
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The unescaped reference tokens, outermost first; empty for the root.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Whether this is the root pointer `""`.
    pub fn is_root(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Looks the pointer up in a parsed document.
    pub fn lookup<'v>(&self, value: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        value.pointer(&self.text)
    }
}

impl FromStr for Pointer {
    type Err = PointerError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Ok(Self::root());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(PointerError::MissingSlash(text.to_owned()));
        };
        let tokens = rest
            .split('/')
            .map(|token| unescape(token).ok_or_else(|| PointerError::BadEscape(text.to_owned())))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            tokens,
        })
    }
}

fn unescape(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pointer({:?})", self.text)
    }
}

impl<'de> Deserialize<'de> for Pointer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Pointer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_unescapes() {
        let pointer: Pointer = "/m~0n/a~1b".parse().unwrap();
        assert_eq!(pointer.tokens(), ["m~n", "a/b"]);
        assert_eq!(pointer.to_string(), "/m~0n/a~1b");
        assert!("".parse::<Pointer>().unwrap().is_root());
        assert_eq!("/".parse::<Pointer>().unwrap().tokens(), [""]);
    }

    #[test]
    fn rejects_what_is_not_a_pointer() {
        assert_eq!(
            "data".parse::<Pointer>().unwrap_err().to_string(),
            "`data` is not a JSON Pointer: it must be empty or start with `/` (did you mean `/data`?)"
        );
        assert!(matches!(
            "/a~2".parse::<Pointer>(),
            Err(PointerError::BadEscape(_))
        ));
        assert!(matches!(
            "/a~".parse::<Pointer>(),
            Err(PointerError::BadEscape(_))
        ));
    }
}
