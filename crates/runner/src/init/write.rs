//! The job file `init` writes: commented, so that a user can read, keep and edit it.

use std::fmt::Write as _;

use serde_json::Value;
use url::Url;

use super::guess::{CursorAt, Guess, Style, TotalAt};

/// What goes into the file.
pub(super) struct JobText<'a> {
    pub(super) url: &'a Url,
    pub(super) records: &'a str,
    pub(super) guess: &'a Guess,
    pub(super) first_record: Option<&'a Value>,
    pub(super) bearer_env: Option<&'a str>,
    /// `(name, value, environment variable)`: a credential's value is never written.
    pub(super) headers: Vec<(&'a str, &'a str, Option<&'a str>)>,
    pub(super) notes: &'a [String],
}

impl JobText<'_> {
    pub(super) fn render(&self) -> String {
        let mut text = String::new();
        let shown = pagefold_fetch::SafeUrl::new(self.url.clone(), &[]);
        let _ = writeln!(text, "# Written by `pagefold init` from {shown}.");
        if !self.notes.is_empty() {
            let _ = writeln!(text, "# What it guessed or is unsure of:");
            for note in self.notes {
                let _ = writeln!(text, "#   - {note}");
            }
        }
        let _ = writeln!(text, "name = {}", quoted(&self.name()));
        text.push('\n');
        self.source(&mut text);
        self.pagination(&mut text);
        self.reducers(&mut text);
        text
    }

    /// The last path segment, as a name.
    fn name(&self) -> String {
        let segment = self
            .url
            .path_segments()
            .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
            .unwrap_or("job");
        let name: String = segment
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        if name.is_empty() { "job".into() } else { name }
    }

    /// The URL without the parameters the pagination sets.
    fn url(&self) -> Url {
        let paging: Vec<&str> = match &self.guess.style {
            Style::Page { param, .. } | Style::Offset(param) => vec![param.as_str()],
            Style::Cursor { param, .. } => vec![param.as_str()],
            _ => return self.url.clone(),
        };
        let size = self.guess.size.as_ref().map(|(param, _)| param.as_str());
        let kept: Vec<(String, String)> = self
            .url
            .query_pairs()
            .filter(|(key, _)| !paging.contains(&key.as_ref()) && Some(key.as_ref()) != size)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let mut url = self.url.clone();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
        url
    }

    fn source(&self, text: &mut String) {
        let _ = writeln!(text, "[source]");
        let _ = writeln!(text, "url = {}", quoted(self.url().as_str()));
        let where_ = if self.records.is_empty() {
            "the page is the array of records"
        } else {
            "the array of records in each page"
        };
        let _ = writeln!(text, "records = {:<24} # {where_}", quoted(self.records));
        if !self.headers.is_empty() {
            let pairs: Vec<String> = self
                .headers
                .iter()
                .map(|(name, value, env)| {
                    let value =
                        env.map_or_else(|| (*value).to_owned(), |env| format!("${{env.{env}}}"));
                    format!("{} = {}", key(name), quoted(&value))
                })
                .collect();
            let _ = writeln!(text, "headers = {{ {} }}", pairs.join(", "));
        }
        if let Some(env) = self.bearer_env {
            let _ = writeln!(text, "\n[source.auth]");
            let _ = writeln!(text, "kind = \"bearer\"");
            let _ = writeln!(
                text,
                "token = \"${{env.{env}}}\"       # read when the job runs"
            );
        }
        text.push('\n');
    }

    fn pagination(&self, text: &mut String) {
        let guess = self.guess;
        let size = |text: &mut String| {
            if let Some((param, size)) = &guess.size {
                let _ = writeln!(text, "size_param = {}", quoted(param));
                let _ = writeln!(text, "size = {size}");
            }
        };
        let totals = |text: &mut String| {
            for (key, total) in [
                ("total_records", &guess.total_records),
                ("total_pages", &guess.total_pages),
            ] {
                match total {
                    Some(TotalAt::Field(pointer)) => {
                        let _ = writeln!(
                            text,
                            "{key} = {}   # read from the first page: every other page is requested at once",
                            quoted(pointer)
                        );
                    }
                    Some(TotalAt::Header(header)) => {
                        let _ = writeln!(
                            text,
                            "{key}_header = {}   # read from the first response: every other page is requested at once",
                            quoted(header)
                        );
                    }
                    None => {}
                }
            }
            if guess.total_records.is_none() && guess.total_pages.is_none() {
                let _ = writeln!(
                    text,
                    "# no total seen: pages are requested a window ahead, up to the first empty page (or a 404 past the last: `end_on`)"
                );
            }
        };
        match &guess.style {
            Style::Single => {
                let _ = writeln!(text, "# one request: no pagination was recognised");
            }
            Style::LinkHeader => {
                let _ = writeln!(
                    text,
                    "[source.pagination]\nkind = \"link_header\"       # `Link: <…>; rel=\"next\"`"
                );
            }
            Style::NextUrl(pointer) => {
                let _ = writeln!(
                    text,
                    "[source.pagination]\nkind = \"next_url\"\nnext = {}   # the next page's URL",
                    quoted(pointer)
                );
            }
            Style::NextHeader(header) => {
                let _ = writeln!(
                    text,
                    "[source.pagination]\nkind = \"next_url\"\nnext_header = {}   # the next page's URL",
                    quoted(header)
                );
            }
            Style::Cursor {
                param,
                at,
                has_more,
            } => {
                let _ = writeln!(
                    text,
                    "[source.pagination]\nkind = \"cursor\"\nparam = {}",
                    quoted(param)
                );
                match at {
                    CursorAt::Field(pointer) => {
                        let _ = writeln!(text, "next = {}", quoted(pointer));
                    }
                    CursorAt::LastRecord(pointer) => {
                        let _ = writeln!(text, "next_from_last_record = {}", quoted(pointer));
                    }
                    CursorAt::Header(header) => {
                        let _ = writeln!(text, "cursor_header = {}", quoted(header));
                    }
                }
                if let Some(more) = has_more {
                    let _ = writeln!(text, "has_more = {}", quoted(more));
                }
                size(text);
            }
            Style::Page { param, start } => {
                let _ = writeln!(
                    text,
                    "[source.pagination]\nkind = \"page\"\nparam = {}",
                    quoted(param)
                );
                if *start != 1 {
                    let _ = writeln!(text, "start = {start}");
                }
                size(text);
                totals(text);
            }
            Style::Offset(param) => {
                let _ = writeln!(
                    text,
                    "[source.pagination]\nkind = \"offset\"\nparam = {}",
                    quoted(param)
                );
                size(text);
                totals(text);
            }
        }
        text.push('\n');
    }

    fn reducers(&self, text: &mut String) {
        let _ = writeln!(text, "[[reduce]]\nname = \"records\"\nuse = \"count\"");
        let Some(Value::Object(record)) = self.first_record else {
            return;
        };
        let mut suggestions = String::new();
        for (field, value) in record {
            let pointer = format!("/{}", field.replace('~', "~0").replace('/', "~1"));
            let id_like = field == "id" || field.ends_with("_id") || field.ends_with("Id");
            let (kind, what) = match value {
                _ if id_like => ("distinct", "distinct values"),
                Value::Number(_) => ("sum", "a number"),
                Value::String(text) if text.chars().count() <= 24 => ("count_by", "a short string"),
                _ => continue,
            };
            let name = format!(
                "{}_{kind}",
                field.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            );
            let _ = writeln!(
                suggestions,
                "\n# [[reduce]]                        # `{field}` is {what}\n# name = {}\n# use = \"{kind}\"\n# field = {}",
                quoted(&name),
                quoted(&pointer)
            );
        }
        if !suggestions.is_empty() {
            let _ = writeln!(
                text,
                "\n# Reducers for the fields of the first record; uncomment what you need."
            );
            text.push_str(&suggestions);
        }
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A TOML key, quoted when it must be.
fn key(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_owned()
    } else {
        quoted(name)
    }
}
