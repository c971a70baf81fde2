//! Values that must never be shown, in every spelling a response may echo them in.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A set of secret values (tokens, passwords, keys) and the ways a server may spell them back:
/// as they are, URL-encoded (form and percent style), and escaped in a JSON string. An error
/// body that echoes a credential is redacted with this *before* it is cut to an excerpt, so
/// not even part of a secret reaches a message.
///
/// Values shorter than [`Secrets::SHORTEST`] are ignored: hiding every `1` or `on` in every
/// message would hide more than it protects.
///
/// ```
/// use pagefold_fetch::Secrets;
///
/// let mut secrets = Secrets::default();
/// secrets.add("s3cr/et+token");
/// assert_eq!(secrets.redact("bad token s3cr/et+token"), "bad token ****");
/// assert_eq!(secrets.redact("?t=s3cr%2Fet%2Btoken"), "?t=****");
/// assert_eq!(secrets.redact(r#"{"t":"s3cr\/et+token"}"#), r#"{"t":"****"}"#);
/// ```
#[derive(Clone, Default)]
pub struct Secrets {
    /// Every spelling of every secret, longest first, so that a secret containing another is
    /// hidden whole.
    spellings: Arc<Vec<String>>,
}

impl Secrets {
    /// Values shorter than this (in bytes) are not treated as secrets.
    pub const SHORTEST: usize = 4;

    /// Adds `value` and its spellings.
    pub fn add(&mut self, value: &str) {
        if value.len() < Self::SHORTEST {
            return;
        }
        let spellings = Arc::make_mut(&mut self.spellings);
        for spelling in spellings_of(value) {
            if spelling.len() >= Self::SHORTEST && !spellings.contains(&spelling) {
                spellings.push(spelling);
            }
        }
        spellings.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.spellings.is_empty()
    }

    /// `text` with every spelling of every secret replaced by `****`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for spelling in self.spellings.iter() {
            if text.contains(spelling.as_str()) {
                text = Cow::Owned(text.replace(spelling.as_str(), "****"));
            }
        }
        text
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the values themselves.
        write!(f, "Secrets({} spellings)", self.spellings.len())
    }
}

/// The ways `value` may come back from a server: raw, in a query string, in a path, in JSON.
fn spellings_of(value: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let upper = percent_encode(value, true);
    let lower = percent_encode(value, false);
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|json| json.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned();
    // Some servers (PHP's json_encode) escape `/` too.
    let json_slashes = json.replace('/', "\\/");
    let mut all = vec![value.to_owned(), form, upper, lower, json, json_slashes];
    all.sort();
    all.dedup();
    all
}

/// Every byte but the unreserved ones of RFC 3986 as `%XX`.
fn percent_encode(value: &str, upper: bool) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else if upper {
            encoded.push_str(&format!("%{byte:02X}"));
        } else {
            encoded.push_str(&format!("%{byte:02x}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_is_hidden_and_short_values_are_not_secrets() {
        let mut secrets = Secrets::default();
        secrets.add("a b/c\"d");
        secrets.add("on");
        assert_eq!(secrets.redact("x a b/c\"d y"), "x **** y");
        assert_eq!(secrets.redact("x=a+b%2Fc%22d"), "x=****");
        assert_eq!(secrets.redact("x=a%20b%2fc%22d"), "x=****");
        assert_eq!(secrets.redact(r#""a b\/c\"d""#), "\"****\"");
        assert_eq!(secrets.redact("on and on"), "on and on");
        assert!(format!("{secrets:?}").starts_with("Secrets("));
    }

    #[test]
    fn a_secret_containing_another_is_hidden_whole() {
        let mut secrets = Secrets::default();
        secrets.add("abcd");
        secrets.add("xxabcdxx");
        assert_eq!(secrets.redact("xxabcdxx abcd"), "**** ****");
    }
}
