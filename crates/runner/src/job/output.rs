//! `[output]`: where the result goes, and in which format: a file (`path`), a database
//! (`url`, see [`super::database`]), or both.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::Problem;
use super::database::{DatabaseKeys, check_database};
use crate::output::database::DatabaseSpec;
use crate::output::{OutputFormat, PathTemplate, RunStamp};

/// `[output]` as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputEntry {
    /// The result file, relative to the job file's folder: `{name}`, `{date}`, `{time}`, `{run_id}` and `{date:%Y%m}` (chrono formats) are filled in.
    #[schemars(with = "Option<String>")]
    path: Option<Spanned<String>>,
    /// `"json"` (the result document), `"ndjson"` or `"csv"`; default from the extension.
    format: Option<OutputFormat>,
    /// A database for the result's rows: `sqlite://path/results.db` (relative to the job
    /// file's folder) or `postgres://user@host/db` (credentials through `${env.…}`).
    #[schemars(with = "Option<String>")]
    url: Option<Spanned<String>>,
    /// The prefix of the database tables' names (default `pagefold_`).
    #[schemars(with = "Option<String>")]
    table_prefix: Option<Spanned<String>>,
}

/// `[output]`, checked.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    /// The result file, with placeholders (see [`crate::output::template`]); relative to
    /// `base`. `None`: the result goes to the database only.
    pub path: Option<PathTemplate>,
    /// The job file's folder: a relative path is relative to it, so a scheduled job writes to
    /// the same place whatever directory it is started from.
    pub base: PathBuf,
    /// The format (from `format`, else the path's extension).
    pub format: OutputFormat,
    /// The database each run's result is written to (`url`, `table_prefix`).
    pub database: Option<DatabaseSpec>,
}

impl OutputEntry {
    pub(crate) fn check(
        self,
        span: std::ops::Range<usize>,
        base: &Path,
        problems: &mut Vec<Problem>,
    ) -> Option<OutputSpec> {
        if self.path.is_none() && self.url.is_none() {
            problems.push(
                Problem::new(span, "[output] needs `path`, `url`, or both").hint(
                    "`path = \"out/{name}-{date}.json\"` writes a file, \
                     `url = \"sqlite://results.db\"` rows of database tables; without [output] the \
                     result goes to stdout",
                ),
            );
            return None;
        }
        let database = check_database(
            DatabaseKeys {
                url: self.url,
                table_prefix: self.table_prefix,
            },
            base,
            problems,
        );
        let (path, format) = match self.path {
            None => (None, self.format.unwrap_or_default()),
            Some(path) => {
                let span = path.span();
                let text = path.into_inner();
                match PathTemplate::parse(&text) {
                    Ok(template) => (
                        Some(template),
                        self.format
                            .unwrap_or_else(|| OutputFormat::from_extension(&text)),
                    ),
                    Err(error) => {
                        // +1 for the opening quote.
                        let start = span.start + 1 + error.range.start;
                        problems.push(Problem::new(
                            start..span.start + 1 + error.range.end,
                            error.message,
                        ));
                        return None;
                    }
                }
            }
        };
        Some(OutputSpec {
            path,
            base: base.to_owned(),
            format,
            database: database?,
        })
    }
}

impl OutputSpec {
    /// The file a run writes, if the job writes one.
    pub fn path_for(&self, stamp: &RunStamp) -> Option<PathBuf> {
        self.path
            .as_ref()
            .map(|path| self.base.join(path.render(stamp)))
    }
}
