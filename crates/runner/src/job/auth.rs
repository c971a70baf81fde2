//! `[source.auth]`: credentials, best given as `${env.NAME}`. Their values are registered as
//! secrets: never printed, logged, or written into a result.

use std::ops::Range;

use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::Problem;
use crate::secrets;

/// `[source.auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSpec {
    /// `Authorization: Bearer TOKEN`.
    Bearer {
        /// The token.
        token: String,
    },
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Option<String>,
    },
    /// A header of the API's choosing.
    Header {
        /// The header's name, e.g. `X-API-Key`.
        name: String,
        /// Its value.
        value: String,
    },
    /// A query parameter.
    Query {
        /// The parameter's name, e.g. `api_key`.
        param: String,
        /// Its value.
        value: String,
    },
}

impl AuthSpec {
    pub(crate) fn check(&self, span: Range<usize>, problems: &mut Vec<Problem>) {
        let secret = match self {
            Self::Bearer { token } => Some(token),
            Self::Basic { password, .. } => password.as_ref(),
            Self::Header { value, .. } | Self::Query { value, .. } => Some(value),
        };
        if let Self::Basic { username, password } = self {
            // Some APIs (Stripe) take the key as the user name.
            secrets::register_credential(username);
            // An API that echoes the request's headers shows the pair as Basic sends it.
            use base64::Engine as _;
            let pair = format!("{username}:{}", password.as_deref().unwrap_or(""));
            secrets::register_credential(&base64::engine::general_purpose::STANDARD.encode(pair));
        }
        if let Some(secret) = secret {
            secrets::register_credential(secret);
            if secret.is_empty() {
                problems.push(
                    Problem::new(span.clone(), "the credential in `[source.auth]` is empty").hint(
                        "if it comes from `${env.NAME}`, check that the variable holds the token",
                    ),
                );
            }
        }
        if let Self::Header { name, value } = self {
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                problems.push(Problem::new(
                    span.clone(),
                    format!("`{name}` is not a valid HTTP header name"),
                ));
            }
            if HeaderValue::from_str(value).is_err() {
                problems.push(Problem::new(
                    span,
                    "the auth header's value is not a valid HTTP header value",
                ));
            }
        } else if let Self::Bearer { token } = self
            && HeaderValue::from_str(&format!("Bearer {token}")).is_err()
        {
            problems.push(Problem::new(
                span,
                "the bearer token has characters a header cannot carry",
            ));
        }
    }

    /// The credentials the fetcher sends (checked by [`AuthSpec::check`]).
    pub fn to_fetch(&self) -> Option<pagefold_fetch::Auth> {
        Some(match self {
            Self::Bearer { token } => pagefold_fetch::Auth::Bearer(token.clone()),
            Self::Basic { username, password } => pagefold_fetch::Auth::Basic {
                username: username.clone(),
                password: password.clone(),
            },
            Self::Header { name, value } => pagefold_fetch::Auth::Header {
                name: HeaderName::from_bytes(name.as_bytes()).ok()?,
                value: HeaderValue::from_str(value).ok()?,
            },
            Self::Query { param, value } => pagefold_fetch::Auth::Query {
                param: param.clone(),
                value: value.clone(),
            },
        })
    }
}
