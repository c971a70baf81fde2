//! Credentials, and where they may go.

use std::fmt;

use reqwest::RequestBuilder;
use reqwest::header::{HeaderName, HeaderValue};

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
    /// Adds the credentials to a request; the caller has checked that it goes to the job's
    /// origin.
    pub(crate) fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Self::Bearer(token) => request.bearer_auth(token),
            Self::Basic { username, password } => request.basic_auth(username, password.as_ref()),
            Self::Header { name, value } => {
                let mut value = value.clone();
                value.set_sensitive(true);
                request.header(name, value)
            }
            Self::Query { param, value } => request.query(&[(param, value)]),
        }
    }

    /// The query parameter that carries the credential, if it goes in the query.
    pub fn secret_param(&self) -> Option<&str> {
        match self {
            Self::Query { param, .. } => Some(param),
            _ => None,
        }
    }
}
