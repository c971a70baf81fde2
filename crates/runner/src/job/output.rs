//! `[output]`: where the result goes, and in which format.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::Problem;
use crate::output::{OutputFormat, PathTemplate, RunStamp};

/// `[output]` as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputEntry {
    /// The result file, relative to the job file's folder: `{name}`, `{date}`, `{time}`, `{run_id}` and `{date:%Y%m}` (chrono formats) are filled in.
    #[schemars(with = "String")]
    path: Spanned<String>,
    /// `"json"` (the result document), `"ndjson"` or `"csv"`; default from the extension.
    format: Option<OutputFormat>,
}

/// `[output]`, checked.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    /// The result file, with placeholders (see [`crate::output::template`]); relative to
    /// `base`.
    pub path: PathTemplate,
    /// The job file's folder: a relative path is relative to it, so a scheduled job writes to
    /// the same place whatever directory it is started from.
    pub base: PathBuf,
    /// The format (from `format`, else the path's extension).
    pub format: OutputFormat,
}

impl OutputEntry {
    pub(crate) fn check(self, base: &Path, problems: &mut Vec<Problem>) -> Option<OutputSpec> {
        let span = self.path.span();
        let text = self.path.into_inner();
        match PathTemplate::parse(&text) {
            Ok(path) => Some(OutputSpec {
                path,
                base: base.to_owned(),
                format: self
                    .format
                    .unwrap_or_else(|| OutputFormat::from_extension(&text)),
            }),
            Err(error) => {
                // +1 for the opening quote.
                let start = span.start + 1 + error.range.start;
                problems.push(Problem::new(
                    start..span.start + 1 + error.range.end,
                    error.message,
                ));
                None
            }
        }
    }
}

impl OutputSpec {
    /// The file a run writes.
    pub fn path_for(&self, stamp: &RunStamp) -> PathBuf {
        self.base.join(self.path.render(stamp))
    }
}
