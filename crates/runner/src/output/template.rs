//! Output paths with placeholders, so that scheduled runs do not overwrite each other:
//! `{name}`, `{date}`, `{time}`, `{run_id}`, and `{date:FORMAT}` / `{time:FORMAT}` with a
//! chrono `strftime` format, all in the job's time zone. `{{` and `}}` are literal braces.
//!
//! ```
//! use pagefold::output::template::{PathTemplate, RunStamp};
//!
//! let template = PathTemplate::parse("out/{name}-{date}.json").unwrap();
//! let stamp = RunStamp::new("orders", chrono::Utc::now(), chrono_tz::Tz::UTC);
//! assert!(template.render(&stamp).starts_with("out/orders-"));
//! ```

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A parsed output path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Name,
    RunId,
    /// A chrono format of the run's start time.
    Time(String),
}

/// What is wrong with a template, and where (a byte range in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The placeholder's byte range in the template.
    pub range: std::ops::Range<usize>,
    /// What is wrong.
    pub message: String,
}

/// What a run's output path is made from.
#[derive(Debug, Clone)]
pub struct RunStamp {
    /// The job's name.
    pub name: String,
    /// When the run started, in the job's time zone.
    pub started: DateTime<Tz>,
    /// The run's id: its start in UTC and four random hex digits, e.g. `20261125T142428Z-3f9a`.
    pub run_id: String,
}

impl RunStamp {
    /// A stamp for a run of `name` starting `at`, with a fresh id.
    pub fn new(name: &str, at: DateTime<Utc>, timezone: Tz) -> Self {
        Self {
            name: name.to_owned(),
            started: at.with_timezone(&timezone),
            run_id: format!("{}-{:04x}", at.format("%Y%m%dT%H%M%SZ"), fastrand::u16(..)),
        }
    }
}

impl PathTemplate {
    /// Parses a template.
    ///
    /// # Errors
    ///
    /// An unknown placeholder, an unclosed brace, or a bad chrono format, with its place.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text.char_indices().peekable();
        while let Some((index, character)) = rest.next() {
            match character {
                '{' if rest.peek().map(|&(_, c)| c) == Some('{') => {
                    rest.next();
                    literal.push('{');
                }
                '}' if rest.peek().map(|&(_, c)| c) == Some('}') => {
                    rest.next();
                    literal.push('}');
                }
                '{' => {
                    let Some(close) = text[index..].find('}').map(|at| index + at) else {
                        return Err(TemplateError {
                            range: index..text.len(),
                            message: "`{` is not closed: write `{{` for a literal brace".into(),
                        });
                    };
                    let inner = &text[index + 1..close];
                    let range = index..close + 1;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(placeholder(inner).map_err(|message| TemplateError {
                        range: range.clone(),
                        message,
                    })?);
                    while rest.peek().is_some_and(|&(at, _)| at <= close) {
                        rest.next();
                    }
                }
                '}' => {
                    return Err(TemplateError {
                        range: index..index + 1,
                        message: "`}` without `{`: write `}}` for a literal brace".into(),
                    });
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// Whether the path changes from run to run.
    pub fn varies(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, Part::RunId | Part::Time(_)))
    }

    /// The path for a run.
    pub fn render(&self, stamp: &RunStamp) -> String {
        let mut path = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => path.push_str(text),
                Part::Name => path.push_str(&stamp.name),
                Part::RunId => path.push_str(&stamp.run_id),
                Part::Time(format) => path.push_str(&stamp.started.format(format).to_string()),
            }
        }
        path
    }
}

fn placeholder(inner: &str) -> Result<Part, String> {
    let (key, format) = match inner.split_once(':') {
        Some((key, format)) => (key, Some(format)),
        None => (inner, None),
    };
    match (key, format) {
        ("name", None) => Ok(Part::Name),
        ("run_id", None) => Ok(Part::RunId),
        ("date", None) => Ok(Part::Time("%Y-%m-%d".into())),
        // No `:` in the default: it is not allowed in Windows file names.
        ("time", None) => Ok(Part::Time("%H-%M-%S".into())),
        ("date" | "time", Some(format)) => {
            if format.is_empty()
                || StrftimeItems::new(format).any(|item| matches!(item, Item::Error))
            {
                Err(format!(
                    "`{format}` is not a chrono format: use e.g. `%Y%m%d` or `%H%M`"
                ))
            } else {
                Ok(Part::Time(format.to_owned()))
            }
        }
        _ => Err(format!(
            "unknown placeholder `{{{inner}}}`: use {{name}}, {{date}}, {{time}}, {{run_id}}, or {{date:FORMAT}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn renders_every_placeholder_in_the_time_zone() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 23, 30, 5).unwrap();
        let mut stamp = RunStamp::new("orders", at, chrono_tz::Europe::Berlin);
        stamp.run_id = "ID".into();
        let template =
            PathTemplate::parse("out/{name}/{date}_{time}_{run_id}_{date:%Y%m}{{x}}.json").unwrap();
        assert!(template.varies());
        assert_eq!(
            template.render(&stamp),
            "out/orders/2026-11-26_00-30-05_ID_202611{x}.json"
        );
        assert!(!PathTemplate::parse("out/{name}.json").unwrap().varies());
    }

    #[test]
    fn bad_placeholders_are_placed() {
        let error = PathTemplate::parse("out/{nmae}.json").unwrap_err();
        assert_eq!(error.range, 4..10);
        assert!(error.message.starts_with("unknown placeholder `{nmae}`"));
        assert_eq!(PathTemplate::parse("out/{date").unwrap_err().range, 4..9);
        assert!(PathTemplate::parse("{date:%Q}").is_err());
        assert_eq!(PathTemplate::parse("a}b").unwrap_err().range, 1..2);
    }
}
