//! Credentials, and where they may go.

use std::fmt;

use base64::Engine as _;
use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

/// How requests authenticate. Credentials are sent only to the origin (scheme, host, port) of
/// the job's URL ([`crate::Source::origin`]): a redirect or a next page on another origin is
/// never sent them.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `Authorization: Basic …`.
    Basic {
        /// The user name.
        username: String,
        /// The password, if any.
        password: Option<String>,
    },
    /// A header of the API's choosing, e.g. `X-API-Key`.
    Header {
        /// The header's name.
        name: HeaderName,
        /// Its value.
        value: HeaderValue,
    },
    /// A query parameter, e.g. `?api_key=…`.
    Query {
        /// The parameter's name.
        param: String,
        /// Its value.
        value: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the credentials themselves.
        let kind = match self {
            Self::Bearer(_) => "Bearer",
            Self::Basic { .. } => "Basic",
            Self::Header { .. } => "Header",
            Self::Query { .. } => "Query",
        };
        write!(f, "Auth::{kind}(****)")
    }
}

impl Auth {
    /// Adds the credentials to a request's headers; the caller has checked that it goes to
    /// the job's origin. A credential that goes in the query is returned instead, as the
    /// parameter and value to append.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) -> Option<(&str, &str)> {
        let (name, mut value) = match self {
            Self::Bearer(token) => (AUTHORIZATION, header_value(&format!("Bearer {token}"))?),
            Self::Basic { username, password } => {
                let pair = format!("{username}:{}", password.as_deref().unwrap_or(""));
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                (AUTHORIZATION, header_value(&format!("Basic {encoded}"))?)
            }
            Self::Header { name, value } => (name.clone(), value.clone()),
            Self::Query { param, value } => return Some((param, value)),
        };
        // Kept out of hyper's HPACK tables and any debug print of the headers.
        value.set_sensitive(true);
        headers.insert(name, value);
        None
    }

    /// The query parameter that carries the credential, if it goes in the query.
    pub fn secret_param(&self) -> Option<&str> {
        match self {
            Self::Query { param, .. } => Some(param),
            _ => None,
        }
    }
}

/// A credential as a header value. The job's check refuses tokens that cannot be one (a line
/// break, say), so `None` is never reached from a job file.
fn header_value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}
