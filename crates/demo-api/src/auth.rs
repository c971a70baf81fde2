//! Credentials the demo API can require, to test that clients send them (and only where
//! they should).

use std::collections::HashMap;

use axum::http::HeaderMap;

/// What a request must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoAuth {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// HTTP Basic with this user and password.
    Basic(String, String),
    /// This header with this value.
    Header(String, String),
    /// This query parameter with this value.
    Query(String, String),
    /// `Authorization: Bearer TOKEN` with any of these tokens, each metered on its own (see
    /// [`crate::DemoConfig::token_budget`]).
    Tokens(Vec<String>),
}

impl DemoAuth {
    pub(crate) fn allows(&self, headers: &HeaderMap, query: &HashMap<String, String>) -> bool {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match self {
            Self::Bearer(token) => header("authorization") == Some(format!("Bearer {token}")),
            Self::Basic(user, password) => {
                header("authorization")
                    == Some(format!("Basic {}", base64(&format!("{user}:{password}"))))
            }
            Self::Header(name, value) => header(name).as_ref() == Some(value),
            Self::Query(param, value) => query.get(param) == Some(value),
            Self::Tokens(tokens) => bearer(headers).is_some_and(|token| tokens.contains(&token)),
        }
    }
}

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned)
}

impl DemoAuth {
    /// Whether a request carries the right credential, for routes that only count them.
    #[doc(hidden)]
    pub fn is_tokens(&self) -> bool {
        matches!(self, Self::Tokens(_))
    }
}

/// Standard base64, enough for a Basic credential.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_basic_credentials() {
        assert_eq!(base64("user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64("a"), "YQ==");
        assert_eq!(base64("ab"), "YWI=");
    }
}
