//! `pagefold init URL`: a working job file from one look at an API. The first page (and a
//! second where it helps) tells where the records are, how pages follow each other and where
//! the total is; the job file says what was guessed, and validates and runs as it is.
//!
//! Credentials never enter the file: a bearer token is named by its environment variable, and
//! a credential header given on the command line is written as `${env.NAME}`.

mod guess;
mod records;
mod write;

use std::path::Path;

use pagefold_fetch::{Auth, FetchError, FetchOptions, Fetcher, Pagination, Source};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use guess::Style;

/// What `init` is asked.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The API's URL: its first page.
    pub url: Url,
    /// The environment variable holding a bearer token, if the API needs one.
    pub bearer_env: Option<String>,
    /// Extra headers, `Name: value`; those that carry credentials go into the file as
    /// `${env.NAME}`.
    pub headers: Vec<String>,
}

/// A job file and what the user should know about it.
#[derive(Debug, Clone)]
pub struct Init {
    /// The job file's text.
    pub text: String,
    /// What was guessed, what is unsure, and the environment to set.
    pub notes: Vec<String>,
}

/// Why no job file was written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// An argument cannot be used.
    #[error("{0}")]
    Argument(String),
    /// The first page could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The answer is not JSON.
    #[error("`{url}` did not answer JSON: {reason}")]
    NotJson {
        /// The URL, redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// No array of records in the answer.
    #[error("`{url}` answered JSON without an array of records")]
    NoRecords {
        /// The URL, redacted.
        url: String,
    },
    /// The file written would not be a valid job (a bug: the message says where).
    #[error("the job file written is not valid: {0}")]
    Invalid(String),
}

/// A header from the command line: its name, its value, and the environment variable that
/// holds it in the file (when it is a credential).
struct GivenHeader {
    name: HeaderName,
    value: String,
    env: Option<String>,
}

/// Looks at the API and writes the job file.
///
/// # Errors
///
/// See [`InitError`].
pub fn init(options: &InitOptions) -> Result<Init, InitError> {
    let headers = given_headers(&options.headers)?;
    let token = match &options.bearer_env {
        None => None,
        Some(name) => Some(std::env::var(name).map_err(|_| {
            InitError::Argument(format!(
                "the environment variable `{name}` (--bearer-env) is not set"
            ))
        })?),
    };
    if let Some(token) = &token {
        crate::secrets::register_credential(token);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(InitError::Runtime)?;
    let fetcher = Fetcher::new(FetchOptions {
        retries: 1,
        ..FetchOptions::default()
    })?;
    let look = |url: &Url| {
        let source = source(url, &headers, token.as_deref());
        runtime.block_on(fetcher.first_response(&source))
    };
    let (first_headers, body) = look(&options.url)?;
    let shown = pagefold_fetch::SafeUrl::new(options.url.clone(), &[]).to_string();
    let body: Value = serde_json::from_slice(&body).map_err(|error| InitError::NotJson {
        url: shown.clone(),
        reason: error.to_string(),
    })?;
    let (found, others) =
        records::find(&body).ok_or_else(|| InitError::NoRecords { url: shown.clone() })?;
    let mut notes = Vec::new();
    if !others.is_empty() {
        let others: Vec<String> = others
            .iter()
            .map(|other| format!("`{}` ({})", other.pointer, other.len))
            .collect();
        notes.push(format!(
            "records at `{}` ({} on the first page), the largest array of objects; also seen: {}",
            found.pointer,
            found.len,
            others.join(", ")
        ));
    }
    let mut guessed = guess::guess(&options.url, &first_headers, &body, &found.pointer);
    notes.append(&mut guessed.notes);
    if guessed.style == Style::Single && found.len > 0 {
        guessed.style = second_look(&options.url, &body, &found.pointer, &look, &mut notes);
    }
    if guessed.size.is_none()
        && matches!(
            guessed.style,
            Style::Page { .. } | Style::Offset(_) | Style::Cursor { .. }
        )
    {
        notes.push(
            "no page-size parameter in the URL: the API's default page size is used (add \
             `size_param` and `size` to ask for more a page)"
                .into(),
        );
    }
    let first = records::at(&body, &found.pointer).first().cloned();
    let written = write::JobText {
        url: &options.url,
        records: &found.pointer,
        guess: &guessed,
        first_record: first.as_ref(),
        bearer_env: options.bearer_env.as_deref(),
        headers: headers
            .iter()
            .map(|header| {
                (
                    header.name.as_str(),
                    header.value.as_str(),
                    header.env.as_deref(),
                )
            })
            .collect(),
        notes: &notes,
    }
    .render();
    check(&written, options, &headers)?;
    for header in &headers {
        if let Some(env) = &header.env {
            notes.push(format!(
                "the `{}` header is a credential: the job reads it from `${{env.{env}}}`; export {env}=… before running it",
                header.name
            ));
        }
    }
    Ok(Init {
        text: written,
        notes,
    })
}

/// No pagination was named: ask for a second page by number, then by offset, to see whether
/// the API takes either.
fn second_look(
    url: &Url,
    first: &Value,
    records: &str,
    look: &impl Fn(&Url) -> Result<(HeaderMap, bytes::Bytes), FetchError>,
    notes: &mut Vec<String>,
) -> Style {
    let first_records = records::at(first, records);
    let differs = |next: &Url| {
        look(next)
            .ok()
            .and_then(|(_, body)| serde_json::from_slice::<Value>(&body).ok())
            .is_some_and(|body| {
                let records = records::at(&body, records);
                !records.is_empty() && records != first_records
            })
    };
    let with = |param: &str, value: u64| {
        let mut next = url.clone();
        next.query_pairs_mut()
            .append_pair(param, &value.to_string());
        next
    };
    if differs(&with("page", 2)) {
        notes.push("no pagination in the first page; the API answered `page=2` with other records: page numbers".into());
        return Style::Page {
            param: "page".into(),
            start: 1,
        };
    }
    if differs(&with("offset", first_records.len() as u64)) {
        notes.push("no pagination in the first page; the API answered `offset` with other records: offsets".into());
        return Style::Offset("offset".into());
    }
    notes.push(
        "one page only: the first response names no next page, no cursor and no total, and the API \
         ignored `page=2` and `offset`; if there is more, add [source.pagination] by hand"
            .into(),
    );
    Style::Single
}

fn given_headers(given: &[String]) -> Result<Vec<GivenHeader>, InitError> {
    given
        .iter()
        .map(|header| {
            let (name, value) = header.split_once(':').ok_or_else(|| {
                InitError::Argument(format!("`--header {header}`: write it as `Name: value`"))
            })?;
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                InitError::Argument(format!("`{}` is not a valid HTTP header name", name.trim()))
            })?;
            let value = value.trim().to_owned();
            let env = crate::secrets::is_credential_header(name.as_str()).then(|| {
                crate::secrets::register_credential(&value);
                name.as_str().to_ascii_uppercase().replace('-', "_")
            });
            Ok(GivenHeader { name, value, env })
        })
        .collect()
}

/// A one-request source for looking at `url`.
fn source(url: &Url, headers: &[GivenHeader], token: Option<&str>) -> Source {
    let mut source = Source::new(
        url.clone(),
        pagefold_json::Pointer::root(),
        Pagination::None,
    );
    source.headers = headers
        .iter()
        .filter_map(|header| {
            Some((
                header.name.clone(),
                HeaderValue::from_str(&header.value).ok()?,
            ))
        })
        .collect();
    source.auth = token.map(|token| Auth::Bearer(token.to_owned()));
    source.secrets = crate::secrets::snapshot();
    source
}

/// The written file is a valid job (with the credentials' variables standing in).
fn check(text: &str, options: &InitOptions, headers: &[GivenHeader]) -> Result<(), InitError> {
    let stand_in = |name: &str| {
        let known = options.bearer_env.as_deref() == Some(name)
            || headers
                .iter()
                .any(|header| header.env.as_deref() == Some(name));
        known.then(|| "stand-in-credential".to_owned())
    };
    crate::job::Job::parse_with_env(Path::new("job.toml"), text, stand_in)
        .map(|_| ())
        .map_err(|error| InitError::Invalid(error.to_string()))
}
