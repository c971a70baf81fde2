//! `[source.auth]`: credentials, best given as `${env.NAME}`. Their values are registered as
//! secrets: never printed, logged, or written into a result.
//!
//! One credential (`token`, `value`, `username` + `password`), or several (`tokens`, `values`,
//! `credentials`): then each has a budget of its own (see [`pagefold_fetch::KeyRing`]), named
//! by `labels` or by position, never by value.

use std::ops::Range;

use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::Problem;
use crate::secrets;

/// `[source.auth]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSpec {
    /// `Authorization: Bearer TOKEN`.
    Bearer {
        /// The token.
        token: Option<String>,
        /// Several tokens, a budget each.
        #[serde(default)]
        tokens: Vec<String>,
        /// Names of the tokens for messages and stats.
        #[serde(default)]
        labels: Vec<String>,
        /// What a token the API refuses does.
        #[serde(default)]
        on_key_error: OnKeyErrorSpec,
    },
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: Option<String>,
        /// The password.
        password: Option<String>,
        /// Several pairs, a budget each.
        #[serde(default)]
        credentials: Vec<BasicPair>,
        /// Names of the pairs for messages and stats.
        #[serde(default)]
        labels: Vec<String>,
        /// What a pair the API refuses does.
        #[serde(default)]
        on_key_error: OnKeyErrorSpec,
    },
    /// A header of the API's choosing.
    Header {
        /// The header's name, e.g. `X-API-Key`.
        name: String,
        /// Its value.
        value: Option<String>,
        /// Several values, a budget each.
        #[serde(default)]
        values: Vec<String>,
        /// Names of the values for messages and stats.
        #[serde(default)]
        labels: Vec<String>,
        /// What a value the API refuses does.
        #[serde(default)]
        on_key_error: OnKeyErrorSpec,
    },
    /// A query parameter.
    Query {
        /// The parameter's name, e.g. `api_key`.
        param: String,
        /// Its value.
        value: Option<String>,
        /// Several values, a budget each.
        #[serde(default)]
        values: Vec<String>,
        /// Names of the values for messages and stats.
        #[serde(default)]
        labels: Vec<String>,
        /// What a value the API refuses does.
        #[serde(default)]
        on_key_error: OnKeyErrorSpec,
    },
}

/// One Basic pair of `credentials`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicPair {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: Option<String>,
}

/// `on_key_error`: `"fail"` (default: the run fails, naming the key's position) or `"drop"`
/// (the key is dropped and the others go on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnKeyErrorSpec {
    /// The run fails.
    #[default]
    Fail,
    /// The key is dropped.
    Drop,
}

impl AuthSpec {
    /// `(label, value)` of every credential as the job gives it: Basic's as `user:password`.
    fn given(&self) -> (Vec<String>, &[String], Option<String>) {
        let (single, list, labels): (Option<String>, Vec<String>, &[String]) = match self {
            Self::Bearer {
                token,
                tokens,
                labels,
                ..
            } => (token.clone(), tokens.clone(), labels),
            Self::Header {
                value,
                values,
                labels,
                ..
            }
            | Self::Query {
                value,
                values,
                labels,
                ..
            } => (value.clone(), values.clone(), labels),
            Self::Basic {
                username,
                password,
                credentials,
                labels,
                ..
            } => (
                username
                    .as_ref()
                    .map(|user| format!("{user}:{}", password.as_deref().unwrap_or(""))),
                credentials
                    .iter()
                    .map(|pair| {
                        format!(
                            "{}:{}",
                            pair.username,
                            pair.password.as_deref().unwrap_or("")
                        )
                    })
                    .collect(),
                labels,
            ),
        };
        let (one, many) = match self {
            Self::Bearer { .. } => ("token", "tokens"),
            Self::Header { .. } | Self::Query { .. } => ("value", "values"),
            Self::Basic { .. } => ("username", "credentials"),
        };
        let problem = match (&single, list.is_empty()) {
            (Some(_), false) => Some(format!("set `{one}` or `{many}`, not both")),
            (None, true) => Some(format!(
                "`[source.auth]` needs `{one}` (or `{many}`: several, a budget each)"
            )),
            _ => None,
        };
        let values: Vec<String> = single.into_iter().chain(list).collect();
        (values, labels, problem)
    }

    pub(crate) fn check(&self, span: Range<usize>, problems: &mut Vec<Problem>) {
        let (values, labels, problem) = self.given();
        if let Some(problem) = problem {
            problems.push(Problem::new(span.clone(), problem));
            return;
        }
        if !labels.is_empty() && labels.len() != values.len() {
            problems.push(Problem::new(
                span.clone(),
                format!(
                    "`labels` names {} keys but there are {}",
                    labels.len(),
                    values.len()
                ),
            ));
        }
        for value in &values {
            self.register(value);
            let secret = match self {
                Self::Basic { .. } => value.split_once(':').map_or("", |(_, password)| password),
                _ => value.as_str(),
            };
            if secret.is_empty() && !matches!(self, Self::Basic { .. }) {
                problems.push(
                    Problem::new(span.clone(), "the credential in `[source.auth]` is empty").hint(
                        "if it comes from `${env.NAME}`, check that the variable holds the token",
                    ),
                );
            }
            match self {
                Self::Header { name, .. } => {
                    if HeaderName::from_bytes(name.as_bytes()).is_err() {
                        problems.push(Problem::new(
                            span.clone(),
                            format!("`{name}` is not a valid HTTP header name"),
                        ));
                    }
                    if HeaderValue::from_str(value).is_err() {
                        problems.push(Problem::new(
                            span.clone(),
                            "the auth header's value is not a valid HTTP header value",
                        ));
                    }
                }
                Self::Bearer { .. }
                    if HeaderValue::from_str(&format!("Bearer {value}")).is_err() =>
                {
                    problems.push(Problem::new(
                        span.clone(),
                        "the bearer token has characters a header cannot carry",
                    ));
                }
                _ => {}
            }
        }
    }

    /// Registers a credential (and, for Basic, its parts and the spelling Basic sends).
    fn register(&self, value: &str) {
        if let Self::Basic { .. } = self {
            let (username, password) = value.split_once(':').unwrap_or((value, ""));
            // Some APIs (Stripe) take the key as the user name.
            secrets::register_credential(username);
            secrets::register_credential(password);
            // An API that echoes the request's headers shows the pair as Basic sends it.
            use base64::Engine as _;
            secrets::register_credential(&base64::engine::general_purpose::STANDARD.encode(value));
        } else {
            secrets::register_credential(value);
        }
    }

    /// The credentials the fetcher sends, with their labels (checked by [`AuthSpec::check`]).
    pub fn keys(&self) -> Vec<(String, pagefold_fetch::Auth)> {
        let (values, labels, _) = self.given();
        values
            .iter()
            .enumerate()
            .filter_map(|(at, value)| {
                let label = labels
                    .get(at)
                    .cloned()
                    .unwrap_or_else(|| format!("key {}", at + 1));
                Some((label, self.auth(value)?))
            })
            .collect()
    }

    fn auth(&self, value: &str) -> Option<pagefold_fetch::Auth> {
        Some(match self {
            Self::Bearer { .. } => pagefold_fetch::Auth::Bearer(value.to_owned()),
            Self::Basic { .. } => {
                let (username, password) = value.split_once(':').unwrap_or((value, ""));
                pagefold_fetch::Auth::Basic {
                    username: username.to_owned(),
                    password: (!password.is_empty()).then(|| password.to_owned()),
                }
            }
            Self::Header { name, .. } => pagefold_fetch::Auth::Header {
                name: HeaderName::from_bytes(name.as_bytes()).ok()?,
                value: HeaderValue::from_str(value).ok()?,
            },
            Self::Query { param, .. } => pagefold_fetch::Auth::Query {
                param: param.clone(),
                value: value.to_owned(),
            },
        })
    }

    /// The one credential the fetcher sends when there is one (the first of several).
    pub fn to_fetch(&self) -> Option<pagefold_fetch::Auth> {
        self.keys().into_iter().next().map(|(_, auth)| auth)
    }

    /// What a refused key does.
    pub fn on_key_error(&self) -> pagefold_fetch::OnKeyError {
        let spec = match self {
            Self::Bearer { on_key_error, .. }
            | Self::Basic { on_key_error, .. }
            | Self::Header { on_key_error, .. }
            | Self::Query { on_key_error, .. } => *on_key_error,
        };
        match spec {
            OnKeyErrorSpec::Fail => pagefold_fetch::OnKeyError::Fail,
            OnKeyErrorSpec::Drop => pagefold_fetch::OnKeyError::Drop,
        }
    }
}
