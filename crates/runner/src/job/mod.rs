//! The job file: one module per table, each a serde type that rejects unknown keys, then the
//! checks serde cannot express, reported with the file, line and column.
//!
//! Format version 1. Keys may be added; none will change meaning.

mod alerts;
mod auth;
mod body;
mod checkpoint;
mod child;
mod combinations;
mod database;
mod env;
mod fetch;
mod http_url;
mod identity;
mod incremental;
mod json;
mod located;
mod nesting;
mod output;
pub mod overrides;
mod pagination;
pub mod partitions;
mod query;
mod reduce;
mod schedule;
mod schema;
mod sketch;
mod source;
mod wording;

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub use alerts::{AlertKind, AlertsSpec, Delivery, load_alerts_file};
pub use auth::AuthSpec;
pub use body::{BodySpec, MethodSpec};
pub use checkpoint::CheckpointSpec;
pub use fetch::{FetchSettings, FetchSpec};
pub use incremental::IncrementalSpec;
pub use located::Located;
pub(crate) use located::locate;
pub use output::OutputSpec;
pub use pagination::PaginationSpec;
pub use partitions::{Assignment, PartitionSpec};
pub use reduce::{BuiltinKind, PluginPlaces, ReduceSpec, ReducerUse};
pub use schedule::{Missed, Overlap, ScheduleSpec};
pub use schema::job_schema;
pub use sketch::SketchOptions;
pub(crate) use sketch::quantile_label;
pub use source::{Source, SourceSpec, fill_source};

/// A parsed and checked job file.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job's name (the file's stem unless `name` is set).
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// What to fetch.
    pub source: Source,
    /// How hard to push the API, and what a page that fails for good does to the run.
    pub fetch: FetchSettings,
    /// The reducers, in the order the file lists them.
    pub reduce: Vec<ReduceSpec>,
    /// Where the result goes; stdout when `None`.
    pub output: Option<OutputSpec>,
    /// Where and how often to save checkpoints, if at all.
    pub checkpoint: Option<CheckpointSpec>,
    /// `[child]`: for each record of `source`, a request chain whose records are reduced
    /// (those of `source` are not).
    pub child: Option<Source>,
    /// When `pagefold schedule` runs the job, if it is scheduled.
    pub schedule: Option<ScheduleSpec>,
    /// `[alerts]`: the webhooks told how its runs end.
    pub alerts: Option<AlertsSpec>,
    /// `timezone`: the zone of the schedule and of the output path's `{date}` and `{time}`.
    pub timezone: chrono_tz::Tz,
    /// Whether a run with warnings exits with [`crate::exit::WARNINGS`].
    pub deny_warnings: bool,
    /// What the job is, for checkpoints and incremental states: its text and the values of
    /// `${env.…}` that shape its data (credentials left out).
    pub identity: crate::identity::Identity,
}

/// `on_error`: `"fail"` (default: no result unless it is exact) or `"skip"` (go on, list the
/// pages given up on in the result, exit with [`crate::exit::PARTIAL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnErrorSpec {
    /// The run fails.
    #[default]
    Fail,
    /// The page is skipped and listed.
    Skip,
}

/// A pagefold job: where to fetch, how pages chain, how hard to push the API, which
/// reducers to run, where the result goes, and when to run.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pagefold job")]
struct JobFile {
    /// The job's name, in results, the history and the state folder (default: the file's
    /// name without `.toml`).
    name: Option<String>,
    /// What a page that still fails after its retries does: `"fail"` (default) or `"skip"`.
    #[serde(default)]
    on_error: OnErrorSpec,
    /// Whether a run with warnings exits with 4 (as `--deny-warnings` does): for unattended
    /// runs whose warnings must fail them.
    #[serde(default)]
    deny_warnings: bool,
    /// `[source]`: the API and where its records are.
    source: SourceSpec,
    /// `[fetch]`: how hard to push the API: concurrency, rate, retries, timeouts.
    #[schemars(with = "Option<FetchSpec>")]
    fetch: Option<Spanned<FetchSpec>>,
    /// `[[reduce]]`: the reducers, each a built-in (`use`) or a plugin (`plugin`).
    #[serde(default)]
    #[schemars(with = "Vec<reduce::ReduceEntry>")]
    reduce: Vec<Spanned<reduce::ReduceEntry>>,
    /// `[output]`: where the result goes, a file or a database (default: stdout).
    #[schemars(with = "Option<output::OutputEntry>")]
    output: Option<Spanned<output::OutputEntry>>,
    /// `[checkpoint]`: save progress so an interrupted run resumes.
    checkpoint: Option<CheckpointSpec>,
    /// `[child]`: a request per parent record; its records are the ones reduced.
    #[schemars(with = "Option<SourceSpec>")]
    child: Option<Spanned<SourceSpec>>,
    /// A cron expression (`minute hour day month weekday`, seconds optional) for
    /// `pagefold schedule`.
    #[schemars(with = "Option<String>")]
    schedule: Option<Spanned<String>>,
    /// The IANA time zone of the schedule and of dates in output paths (default `"UTC"`).
    #[schemars(with = "Option<String>")]
    timezone: Option<Spanned<String>>,
    /// What a scheduled run due while the previous one still runs does.
    #[schemars(with = "Option<Overlap>")]
    overlap: Option<Spanned<Overlap>>,
    /// What happens to runs missed while the scheduler was down.
    #[schemars(with = "Option<Missed>")]
    missed: Option<Spanned<Missed>>,
    /// `[alerts]`: webhooks on failure, missed runs, warnings or success.
    #[schemars(with = "Option<alerts::AlertsEntry>")]
    alerts: Option<Spanned<alerts::AlertsEntry>>,
}

/// A job file that cannot be used: where, what, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The file could not be read.
    #[error("cannot read job file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid job.
    #[error("{}", .0)]
    Invalid(Box<Located>),
}

/// Semantic problems found after deserializing, each with the span it is about.
#[derive(Debug)]
pub(crate) struct Problem {
    pub span: Range<usize>,
    pub message: String,
    pub hint: Option<String>,
    /// The key of the table at `span` that is wrong, when serde gave no span of its own (a
    /// duration): the caret goes to that key rather than to the table's header.
    pub key: Option<&'static str>,
    /// The bytes of the string value at `span` (as the program reads it, escapes decoded)
    /// the problem is about: the caret goes under them (a jq program's error).
    pub within: Option<Range<usize>>,
}

impl Problem {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
            hint: None,
            key: None,
            within: None,
        }
    }

    /// The problem is about `within` (when known), bytes of the string value at the span.
    pub fn within_string(mut self, within: Option<Range<usize>>) -> Self {
        self.within = within;
        self
    }

    /// The problem is that of `key`, within the table at the span.
    pub fn at_key(mut self, key: &'static str) -> Self {
        self.key = Some(key);
        self
    }

    /// The span, narrowed to `key = …` in `text` when the key is written in the table (on a
    /// line of its own or in an inline table) before the next table's header.
    fn narrowed(&self, text: &str) -> Range<usize> {
        if let Some(within) = &self.within {
            return located::inside_string(text, self.span.clone(), within.clone())
                .unwrap_or_else(|| self.span.clone());
        }
        let Some(key) = self.key else {
            return self.span.clone();
        };
        let start = self.span.start.min(text.len());
        // The table's body: up to the next `[header]` line.
        let body_start = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let body_end = text[body_start..]
            .match_indices('\n')
            .map(|(i, _)| body_start + i + 1)
            .find(|&line| text[line..].trim_start().starts_with('['))
            .unwrap_or(text.len());
        let body = &text[body_start..body_end];
        let is_key_at = |at: usize| {
            let before = body[..at].chars().next_back();
            let after = body[at + key.len()..].trim_start();
            before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
                && after.starts_with('=')
        };
        body.match_indices(key)
            .map(|(at, _)| at)
            .find(|&at| is_key_at(at))
            .map_or_else(
                || self.span.clone(),
                |at| {
                    let line_end = body[at..].find('\n').map_or(body.len(), |i| at + i);
                    body_start + at..body_start + line_end
                },
            )
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl Job {
    /// Reads, parses and checks the job file at `path`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a valid job; the error names the line and column.
    pub fn load(path: &Path) -> Result<Self, JobError> {
        let text = located::read_job_text(path).map_err(|source| JobError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks job text as if it were read from `path`.
    ///
    /// # Errors
    ///
    /// When the text is not a valid job; the error names the line and column.
    pub fn parse(path: &Path, text: &str) -> Result<Self, JobError> {
        Self::parse_with_env(path, text, |name| std::env::var(name).ok())
    }

    /// [`Job::parse`] with `${env.NAME}` read through `lookup`.
    ///
    /// # Errors
    ///
    /// As [`Job::parse`].
    pub fn parse_with_env(
        path: &Path,
        text: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, JobError> {
        let original = text;
        let invalid = |span: Range<usize>, message: String, hint: Option<String>| {
            JobError::Invalid(Box::new(locate(
                path,
                original,
                span,
                crate::secrets::redact(&message),
                hint,
            )))
        };
        let expanded = env::expand(text, lookup)
            .map_err(|problem| invalid(problem.span, problem.message, problem.hint))?;
        let text = expanded.text.as_str();
        // Positions in the expanded text, mapped back to the file the user wrote.
        let locate = |span: Range<usize>, message: String, hint: Option<String>| {
            invalid(
                expanded.original(span.start)..expanded.original(span.end),
                message,
                hint,
            )
        };
        nesting::check(text).map_err(|span| {
            locate(
                span,
                format!(
                    "arrays and tables nest more than {} levels deep here",
                    nesting::MAX_NESTING
                ),
                Some("a job file nests a few levels; is a bracket repeated by mistake?".into()),
            )
        })?;
        let file: JobFile = nesting::parse_on_large_stack(text).map_err(|error| {
            let span = error.span().unwrap_or(0..0);
            let (message, hint) = wording::explain(error.message().trim());
            locate(span, message, hint)
        })?;
        let mut problems = Vec::new();
        file.source.check(&mut problems);
        child::check(&file.source, file.child.as_ref(), &mut problems);
        let fetch = file
            .fetch
            .unwrap_or_else(|| Spanned::new(0..0, FetchSpec::default()));
        fetch.get_ref().check(fetch.span(), &mut problems);
        reduce::check_all(&file.reduce, &mut problems);
        let (schedule, timezone) = schedule::ScheduleKeys {
            schedule: file.schedule,
            timezone: file.timezone,
            overlap: file.overlap,
            missed: file.missed,
        }
        .check(&mut problems);
        let alerts = file.alerts.and_then(|alerts| {
            let span = alerts.span();
            alerts.into_inner().check(span, &mut problems)
        });
        let base = path.parent().unwrap_or(Path::new("")).to_owned();
        let output = file.output.and_then(|output| {
            let span = output.span();
            output.into_inner().check(span, &base, &mut problems)
        });
        let places: Vec<[Option<Range<usize>>; 2]> = file
            .reduce
            .iter()
            .map(|entry| entry.get_ref().plugin_spans())
            .collect();
        let place = |span: Option<Range<usize>>| {
            span.map(|span| {
                let span = expanded.original(span.start)..expanded.original(span.end);
                Box::new(self::locate(path, original, span, String::new(), None))
            })
        };
        let reduce: Option<Vec<ReduceSpec>> = file
            .reduce
            .into_iter()
            .zip(places)
            .map(|(spec, [plugin, config])| {
                let mut spec = spec.into_inner().resolved(&base)?;
                if matches!(spec.reducer, ReducerUse::Plugin { .. }) {
                    spec.places = reduce::PluginPlaces {
                        plugin: place(plugin),
                        config: place(config),
                    };
                }
                Some(spec)
            })
            .collect();
        let source = file.source.validated();
        let child = file.child.map(|child| child.into_inner().validated());

        if let Some(problem) = problems.into_iter().next() {
            return Err(locate(
                problem.narrowed(text),
                problem.message,
                problem.hint,
            ));
        }
        // Each `validated` is `None` only when its check reported a problem.
        let (Some(source), Some(child), Some(reduce)) = (
            source,
            child.map_or(Some(None), |child| child.map(Some)),
            reduce,
        ) else {
            return Err(locate(0..0, "the job cannot be used".into(), None));
        };
        let name = match file.name {
            Some(name) => name,
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "job".into()),
        };

        Ok(Self {
            name,
            path: path.to_owned(),
            source,
            fetch: fetch.get_ref().validated(file.on_error),
            reduce,
            output,
            checkpoint: file.checkpoint.map(|checkpoint| checkpoint.resolved(&base)),
            child,
            schedule,
            alerts,
            deny_warnings: file.deny_warnings,
            timezone,
            // Of the text as written and the real values of `${env.…}` that shape the data (a
            // checkpoint of another URL or query is another job's), credentials left out (a
            // rotated token is the same job).
            identity: identity::identity_of(original, &expanded),
        })
    }
}

#[cfg(test)]
mod tests;
