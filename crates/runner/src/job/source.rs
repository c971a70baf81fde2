//! `[source]`: the endpoint, its extra parameters and headers, and where the records are.

use std::collections::BTreeMap;

use pagefold_json::Pointer;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

pub use super::http_url::HttpUrl;
use super::partitions::{self, Assignment, PartitionSpec};
pub use super::query::QueryValue;
use super::{AuthSpec, PaginationSpec, Problem};

/// `[source]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The URL of the first page.
    pub url: HttpUrl,
    /// JSON Pointer to the records array; `""` when the page is the array.
    #[serde(default = "Pointer::root")]
    #[schemars(with = "String")]
    pub records: Pointer,
    /// Extra query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, QueryValue>,
    /// Extra headers.
    #[serde(default = "no_headers")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: Spanned<BTreeMap<String, String>>,
    /// `[source.pagination]`; no pagination when absent.
    #[schemars(with = "Option<PaginationSpec>")]
    pub pagination: Option<Spanned<PaginationSpec>>,
    /// A jq program that turns each record into what reducers see (or drops it).
    #[schemars(with = "Option<String>")]
    pub map: Option<Spanned<String>>,
    /// `[source.auth]`; no credentials when absent.
    #[schemars(with = "Option<AuthSpec>")]
    pub auth: Option<Spanned<AuthSpec>>,
    /// `[source.partitions]`: `{var}` values that make one chain each.
    #[schemars(with = "Option<BTreeMap<String, PartitionSpec>>")]
    pub partitions: Option<Spanned<BTreeMap<String, Spanned<PartitionSpec>>>>,
    /// `[child]` only: `{name}`s filled from each parent record, by JSON Pointer.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub vars: BTreeMap<String, Pointer>,
    /// `[child]` only: `vars` copied into each child record, under `"_parent"`.
    #[serde(default)]
    pub carry: Vec<String>,
    /// More query parameters whose values are secrets, hidden wherever a URL is shown (on
    /// top of [`SECRET_PARAMS`]).
    #[serde(default)]
    pub secret_params: Vec<String>,
    /// `[source.incremental]`: only what is new since the last successful run.
    #[schemars(with = "Option<super::IncrementalSpec>")]
    pub incremental: Option<Spanned<super::IncrementalSpec>>,
    /// The HTTP method: `"GET"` (default) or `"POST"`.
    #[serde(default)]
    pub method: super::MethodSpec,
    /// A body sent with every request (with method = "POST"): a table (JSON) or text.
    #[schemars(with = "Option<super::BodySpec>")]
    pub body: Option<Spanned<super::BodySpec>>,
    /// Whether a POST may be retried (only if the API does nothing twice when asked twice).
    #[serde(default)]
    pub retry_post: bool,
}

/// Query parameters that hold credentials in the APIs people use; their values never appear
/// in errors, logs, progress or results.
pub const SECRET_PARAMS: [&str; 12] = [
    "token",
    "access_token",
    "auth",
    "api_key",
    "apikey",
    "key",
    "secret",
    "client_secret",
    "signature",
    "sig",
    "password",
    "private_token",
];

fn no_headers() -> Spanned<BTreeMap<String, String>> {
    Spanned::new(0..0, BTreeMap::new())
}

impl SourceSpec {
    pub(crate) fn check(&self, problems: &mut Vec<Problem>) {
        self.check_partitions(problems);
        if let Some(map) = &self.map
            && let Err(error) = crate::engine::reduce::map::MapProgram::compile(map.get_ref())
        {
            problems.push(
                Problem::new(map.span(), error.to_string())
                    .hint("`map` is a jq program, e.g. map = 'select(.status == \"paid\")'")
                    .within_string(error.at),
            );
        }
        for (name, value) in self.headers.get_ref() {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                problems.push(Problem::new(
                    self.headers.span(),
                    format!("`{name}` is not a valid HTTP header name"),
                ));
            } else if reqwest::header::HeaderValue::from_str(value).is_err() {
                problems.push(Problem::new(
                    self.headers.span(),
                    format!("the value of header `{name}` is not a valid HTTP header value (control characters or non-ASCII)"),
                ));
            }
        }
        if let Some(auth) = &self.auth {
            auth.get_ref().check(auth.span(), problems);
        }
        if let Some(pagination) = &self.pagination {
            pagination.get_ref().check(pagination.span(), problems);
        }
        let param_in_body = self.pagination.as_ref().is_some_and(|pagination| {
            pagination.get_ref().param_in == super::pagination::ParamInSpec::Body
        });
        let span = self
            .body
            .as_ref()
            .map_or_else(|| self.headers.span(), Spanned::span);
        super::body::check(
            self.method,
            self.body.as_ref().map(Spanned::get_ref),
            self.retry_post,
            param_in_body,
            span,
            problems,
        );
        self.register_literal_secrets();
    }

    /// Secrets written into the file rather than taken from `${env.…}` (which are secrets
    /// anyway): values of secret query parameters, in the URL or `query`, and of credential
    /// headers. They are hidden wherever pagefold prints, like any other secret.
    fn register_literal_secrets(&self) {
        let secret_params = self.secret_param_names();
        let is_secret = |key: &str| secret_params.iter().any(|p| p.eq_ignore_ascii_case(key));
        for (key, value) in self.url.0.query_pairs() {
            if is_secret(&key) {
                crate::secrets::register_credential(&value);
            }
        }
        for (key, value) in &self.query {
            if is_secret(key) {
                crate::secrets::register_credential(&value.to_string());
            }
        }
        for (name, value) in self.headers.get_ref() {
            if crate::secrets::is_credential_header(name) {
                crate::secrets::register_credential(value);
                // `Bearer TOKEN`, `token TOKEN`: the token alone is the secret too.
                if let Some((_, token)) = value.split_once(' ') {
                    crate::secrets::register_credential(token.trim());
                }
            }
        }
    }

    /// The query parameters whose values are secrets: the usual ones, the job's
    /// `secret_params`, and the one `[source.auth]` uses.
    fn secret_param_names(&self) -> Vec<String> {
        let auth_param = self.auth.as_ref().and_then(|auth| match auth.get_ref() {
            AuthSpec::Query { param, .. } => Some(param.clone()),
            _ => None,
        });
        SECRET_PARAMS
            .iter()
            .map(|p| (*p).to_owned())
            .chain(self.secret_params.iter().cloned())
            .chain(auth_param)
            .collect()
    }

    /// The headers, validated by [`SourceSpec::check`].
    pub fn header_map(&self) -> reqwest::header::HeaderMap {
        self.headers
            .get_ref()
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    reqwest::header::HeaderName::from_bytes(name.as_bytes()).ok()?,
                    reqwest::header::HeaderValue::from_str(value).ok()?,
                ))
            })
            .collect()
    }
}

impl SourceSpec {
    fn check_partitions(&self, problems: &mut Vec<Problem>) {
        let (mut names, span) = match &self.partitions {
            None => (Vec::new(), self.headers.span()),
            Some(partitions) => {
                let specs = partitions
                    .get_ref()
                    .iter()
                    .map(|(name, spec)| (name, spec.get_ref(), spec.span()));
                if let Err(problem) = partitions::assignments(specs) {
                    problems.push(problem);
                    return;
                }
                let names = partitions
                    .get_ref()
                    .iter()
                    .flat_map(|(name, spec)| match spec.get_ref() {
                        PartitionSpec::Dates { .. } => vec![name.clone(), format!("{name}.end")],
                        _ => vec![name.clone()],
                    })
                    .collect();
                (names, partitions.span())
            }
        };
        names.extend(self.vars.keys().cloned());
        let templates: Vec<String> = std::iter::once(self.url.0.as_str().to_owned())
            .chain(self.query.values().map(|v| v.to_string()))
            .chain(self.headers.get_ref().values().cloned())
            .chain(self.body.iter().flat_map(|body| body.get_ref().strings()))
            .collect();
        let used: Vec<String> = templates
            .iter()
            .flat_map(|t| partitions::placeholders(t))
            .collect();
        if let Some(unknown) = used.iter().find(|name| !names.contains(name)) {
            problems.push(
                Problem::new(
                    span.clone(),
                    format!(
                        "`{{{unknown}}}` is used but no partition (or `vars` of [child]) defines `{unknown}`"
                    ),
                )
                .hint(format!(
                    "add it under [source.partitions], e.g. {unknown} = [\"a\", \"b\"]"
                )),
            );
        }
        if let Some(unused) = self
            .partitions
            .iter()
            .flat_map(|p| p.get_ref().keys())
            .find(|name| !used.contains(name))
        {
            problems.push(Problem::new(
                span,
                format!("partition `{unused}` is used nowhere: put `{{{unused}}}` in the URL, a query value or a header"),
            ));
        }
    }
}

/// `[source]` or `[child]` as a run uses it: checked, its pagination, credentials and headers
/// made into the fetcher's [`pagefold_fetch::Source`] once, no positions left.
#[derive(Debug, Clone)]
pub struct Source {
    /// The URL of the first page, as written (partitions fill it).
    pub url: Url,
    /// A jq program that turns each record into what reducers see (or drops it).
    pub map: Option<String>,
    /// `[source.incremental]`: only what is new since the last successful run.
    pub incremental: Option<super::IncrementalSpec>,
    /// `[child]` only: `{name}`s filled from each parent record, by JSON Pointer.
    pub vars: BTreeMap<String, Pointer>,
    /// `[child]` only: `vars` copied into each child record, under `"_parent"`.
    pub carry: Vec<String>,
    /// `[source.auth]`, checked (the fetcher's credentials are in the template already; this
    /// tells how many keys there are).
    pub auth: Option<AuthSpec>,
    /// `[source.partitions]`, in order.
    partitions: Option<BTreeMap<String, PartitionSpec>>,
    /// What the fetcher runs, before partition values are filled in.
    template: pagefold_fetch::Source,
}

impl SourceSpec {
    /// The checked source; `None` only when [`SourceSpec::check`] has reported a problem.
    pub(crate) fn validated(self) -> Option<Source> {
        let template = self.to_fetch()?;
        Some(Source {
            auth: self.auth.as_ref().map(|auth| auth.get_ref().clone()),
            url: self.url.0,
            map: self.map.map(Spanned::into_inner),
            incremental: self.incremental.map(Spanned::into_inner),
            vars: self.vars,
            carry: self.carry,
            partitions: self.partitions.map(|partitions| {
                partitions
                    .into_inner()
                    .into_iter()
                    .map(|(name, spec)| (name, spec.into_inner()))
                    .collect()
            }),
            template,
        })
    }

    /// The source the fetcher runs, before partition values are filled in; `None` when the
    /// pagination was refused.
    fn to_fetch(&self) -> Option<pagefold_fetch::Source> {
        let pagination = match &self.pagination {
            Some(pagination) => pagination.get_ref().to_fetch()?,
            None => pagefold_fetch::Pagination::None,
        };
        let mut source =
            pagefold_fetch::Source::new(self.url.0.clone(), self.records.clone(), pagination);
        source.query = self
            .query
            .iter()
            .map(|(key, value)| (key.clone(), value.to_string()))
            .collect();
        source.headers = self.header_map();
        source.auth = self
            .auth
            .as_ref()
            .and_then(|auth| auth.get_ref().to_fetch());
        source.secret_params = self.secret_param_names();
        source.follow_other_origins = self
            .pagination
            .as_ref()
            .is_some_and(|pagination| pagination.get_ref().follow_other_origins);
        source.secrets = crate::secrets::snapshot();
        source.method = match self.method {
            super::MethodSpec::Get => reqwest::Method::GET,
            super::MethodSpec::Post => reqwest::Method::POST,
        };
        if let Some(body) = &self.body {
            source.body = Some(body.get_ref().to_fetch().ok()?);
            source.graphql_errors = body.get_ref().is_graphql();
        }
        source.retry_post = self.retry_post;
        source.param_in = match self.pagination.as_ref().map(|p| p.get_ref().param_in) {
            Some(super::pagination::ParamInSpec::Body) => pagefold_fetch::ParamIn::Body,
            _ => pagefold_fetch::ParamIn::Query,
        };
        Some(source)
    }
}

impl Source {
    /// Whether the source has partitions.
    pub fn has_partitions(&self) -> bool {
        self.partitions.is_some()
    }

    /// The source the fetcher runs, before partition values are filled in.
    pub fn to_fetch(&self) -> pagefold_fetch::Source {
        self.template.clone()
    }

    /// One chain per combination of partition values (one chain when there are none), each
    /// with its values.
    pub fn chains(&self) -> Vec<(Assignment, pagefold_fetch::Source)> {
        let assignments: Vec<Assignment> = match &self.partitions {
            None => vec![Vec::new()],
            // Checked when the job was loaded: the same values make the same chains.
            Some(partitions) => {
                partitions::assignments(partitions.iter().map(|(name, spec)| (name, spec, 0..0)))
                    .map(Iterator::collect)
                    .unwrap_or_default()
            }
        };
        let many = assignments.len() > 1;
        assignments
            .into_iter()
            .map(|assignment| {
                let mut source = fill_source(&self.template, &assignment);
                if many {
                    source.speculation = 1;
                }
                (assignment, source)
            })
            .collect()
    }
}

/// Fills `{name}`s in every string of a JSON body.
fn fill_json(json: &mut serde_json::Value, assignment: &Assignment) {
    match json {
        serde_json::Value::String(text) => *text = partitions::fill(text, assignment),
        serde_json::Value::Array(items) => items
            .iter_mut()
            .for_each(|item| fill_json(item, assignment)),
        serde_json::Value::Object(map) => map
            .values_mut()
            .for_each(|item| fill_json(item, assignment)),
        _ => {}
    }
}

/// `template` with `{name}`s filled in its URL, query values and header values.
pub fn fill_source(
    template: &pagefold_fetch::Source,
    assignment: &Assignment,
) -> pagefold_fetch::Source {
    let mut source = template.clone();
    if assignment.is_empty() {
        return source;
    }
    source.url = partitions::fill_url(template.url.as_str(), assignment)
        .parse()
        .unwrap_or(template.url.clone());
    // Partition values are the job's own: a `{region}` in the host names the job's origin.
    // A child's values come from the API; its caller puts the template's origin back.
    source.origin = source.url.clone();
    for (_, value) in &mut source.query {
        *value = partitions::fill(value, assignment);
    }
    for value in source.headers.values_mut() {
        let filled = partitions::fill(value.to_str().unwrap_or(""), assignment);
        if let Ok(filled) = reqwest::header::HeaderValue::from_str(&filled) {
            *value = filled;
        }
    }
    match &mut source.body {
        Some(pagefold_fetch::RequestBody::Text(text)) => *text = partitions::fill(text, assignment),
        Some(pagefold_fetch::RequestBody::Json(json)) => fill_json(json, assignment),
        None => {}
    }
    source
}
