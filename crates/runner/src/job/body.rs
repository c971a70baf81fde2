//! `method` and `body` of `[source]`: requests with a body, for APIs that page in it (GraphQL,
//! search APIs). `{var}` templates in the body's strings are filled like the URL's.

use serde::Deserialize;

use super::Problem;

/// `method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
pub enum MethodSpec {
    /// `"GET"` (the default).
    #[default]
    #[serde(rename = "GET")]
    Get,
    /// `"POST"`.
    #[serde(rename = "POST")]
    Post,
}

/// `body`: a TOML table sent as JSON, or text sent as it is.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(
    untagged,
    expecting = "a table (sent as JSON) or a string (sent as it is)"
)]
pub enum BodySpec {
    /// `body = "…"`.
    Text(String),
    /// `[source.body]`.
    Json(#[schemars(with = "serde_json::Map<String, serde_json::Value>")] toml::Table),
}

impl BodySpec {
    /// The body the fetcher sends; `Err` with the problem when a value cannot be JSON.
    pub(crate) fn to_fetch(&self) -> Result<pagefold_fetch::RequestBody, String> {
        Ok(match self {
            Self::Text(text) => pagefold_fetch::RequestBody::Text(text.clone()),
            Self::Json(table) => pagefold_fetch::RequestBody::Json(super::json::toml_to_json(
                &toml::Value::Table(table.clone()),
                "body",
                "the API",
            )?),
        })
    }

    /// Whether it is a GraphQL request: a JSON object with a string `query`. Its answers
    /// report errors in an `errors` array, with status 200.
    pub(crate) fn is_graphql(&self) -> bool {
        matches!(self, Self::Json(table) if table.get("query").is_some_and(toml::Value::is_str))
    }

    /// Every string in the body, for the `{var}` check.
    pub(crate) fn strings(&self) -> Vec<String> {
        fn walk(value: &toml::Value, into: &mut Vec<String>) {
            match value {
                toml::Value::String(text) => into.push(text.clone()),
                toml::Value::Array(items) => items.iter().for_each(|item| walk(item, into)),
                toml::Value::Table(table) => table.values().for_each(|item| walk(item, into)),
                _ => {}
            }
        }
        let mut strings = Vec::new();
        match self {
            Self::Text(text) => strings.push(text.clone()),
            Self::Json(table) => table.values().for_each(|value| walk(value, &mut strings)),
        }
        strings
    }
}

/// Checks `method`, `body`, `retry_post` and where the pagination puts its parameters.
pub(crate) fn check(
    method: MethodSpec,
    body: Option<&BodySpec>,
    retry_post: bool,
    param_in_body: bool,
    span: std::ops::Range<usize>,
    problems: &mut Vec<Problem>,
) {
    if let Some(body) = body {
        if method == MethodSpec::Get {
            problems.push(
                Problem::new(span.clone(), "a `body` is sent with method = \"POST\" only")
                    .hint("add method = \"POST\" to [source]"),
            );
        }
        if let Err(message) = body.to_fetch() {
            problems.push(Problem::new(span.clone(), message));
        }
    }
    if param_in_body && !matches!(body, Some(BodySpec::Json(_))) {
        problems.push(
            Problem::new(
                span.clone(),
                "param_in = \"body\" puts the page number or cursor into a JSON body: [source.body] is missing",
            )
            .hint("add a [source.body] table (and method = \"POST\")"),
        );
    }
    if retry_post && method != MethodSpec::Post {
        problems.push(Problem::new(
            span,
            "`retry_post` has no meaning without method = \"POST\"",
        ));
    }
}
