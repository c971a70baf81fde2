//! `schedule`, `timezone`, `overlap` and `missed`: when `pagefold schedule` runs the job.
//!
//! ```toml
//! schedule = "0 */6 * * *"      # cron; a sixth, leading field for seconds is optional
//! timezone = "Europe/Berlin"    # IANA; default UTC
//! overlap = "skip"              # or "queue": one run waits for the one still running
//! missed = "run_once"           # or "skip": what to do about runs missed while down
//! ```

use std::ops::Range;
use std::str::FromStr;

use chrono::Utc;
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;
use toml::Spanned;

use super::Problem;

/// `overlap`: what happens when a run is due while the previous one still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// The due run is skipped (and recorded as skipped in the history).
    #[default]
    Skip,
    /// The due run starts as soon as the running one ends (several due runs make one).
    Queue,
}

/// `missed`: what happens to runs that were due while the scheduler was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Missed {
    /// They are recorded as missed; the job runs at its next time.
    #[default]
    Skip,
    /// One run starts at once, however many were missed.
    RunOnce,
}

impl Overlap {
    /// As the job file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Queue => "queue",
        }
    }
}

impl Missed {
    /// As the job file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::RunOnce => "run_once",
        }
    }
}

/// A checked schedule: the cron expression evaluated in the job's time zone.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    /// The expression as written.
    pub expression: String,
    /// The time zone its fields are read in.
    pub timezone: Tz,
    /// What happens when a run is due while the previous one still runs.
    pub overlap: Overlap,
    /// What happens to runs missed while the scheduler was down.
    pub missed: Missed,
    pub(crate) cron: Cron,
}

impl ScheduleSpec {
    /// A schedule from an expression already checked once (as the state folder records it),
    /// with the default `overlap` and `missed`; `None` when it no longer parses.
    pub fn from_recorded(expression: &str, timezone: Tz) -> Option<Self> {
        Some(Self {
            expression: expression.to_owned(),
            timezone,
            overlap: Overlap::default(),
            missed: Missed::default(),
            cron: parse_cron(expression).ok()?,
        })
    }
}

/// The keys of the job file's top level that make its schedule.
#[derive(Debug, Default)]
pub(crate) struct ScheduleKeys {
    pub schedule: Option<Spanned<String>>,
    pub timezone: Option<Spanned<String>>,
    pub overlap: Option<Spanned<Overlap>>,
    pub missed: Option<Spanned<Missed>>,
}

impl ScheduleKeys {
    /// The schedule (`None` when the job has no `schedule`) and the job's time zone, or the
    /// problems with them.
    pub fn check(self, problems: &mut Vec<Problem>) -> (Option<ScheduleSpec>, Tz) {
        let timezone = self.timezone_checked(problems);
        (
            self.schedule_checked(timezone, problems),
            timezone.unwrap_or(Tz::UTC),
        )
    }

    fn timezone_checked(&self, problems: &mut Vec<Problem>) -> Option<Tz> {
        match &self.timezone {
            None => Some(Tz::UTC),
            Some(name) => match Tz::from_str(name.get_ref()) {
                Ok(timezone) => Some(timezone),
                Err(_) => {
                    problems.push(
                        Problem::new(
                            name.span(),
                            format!("unknown time zone `{}`", name.get_ref()),
                        )
                        .hint("use an IANA name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\""),
                    );
                    None
                }
            },
        }
    }

    fn schedule_checked(
        self,
        timezone: Option<Tz>,
        problems: &mut Vec<Problem>,
    ) -> Option<ScheduleSpec> {
        let Some(expression) = self.schedule else {
            for (key, span) in [
                ("overlap", self.overlap.as_ref().map(Spanned::span)),
                ("missed", self.missed.as_ref().map(Spanned::span)),
            ] {
                if let Some(span) = span {
                    problems.push(
                        Problem::new(span, format!("`{key}` needs a `schedule`")).hint(
                            "add e.g. schedule = \"0 */6 * * *\" (minute hour day month weekday)",
                        ),
                    );
                }
            }
            return None;
        };
        let cron = match parse_cron(expression.get_ref()) {
            Ok(cron) => cron,
            Err(error) => {
                problems.push(error.at(expression.span()));
                return None;
            }
        };
        Some(ScheduleSpec {
            expression: expression.into_inner(),
            timezone: timezone?,
            overlap: self.overlap.map(Spanned::into_inner).unwrap_or_default(),
            missed: self.missed.map(Spanned::into_inner).unwrap_or_default(),
            cron,
        })
    }
}

/// What is wrong with a cron expression, and which of its fields (by byte range in it).
#[derive(Debug)]
struct CronProblem {
    field: Option<Range<usize>>,
    message: String,
}

impl CronProblem {
    /// The problem placed in the job file: the string's span, narrowed to the field when the
    /// string is written without escapes (so that offsets in the value are offsets in the file).
    fn at(self, string: Range<usize>) -> Problem {
        let span = match self.field {
            // +1 for the opening quote.
            Some(field) => string.start + 1 + field.start..string.start + 1 + field.end,
            None => string,
        };
        Problem::new(span, self.message).hint(
            "five fields, minute hour day-of-month month day-of-week, with an optional leading \
             seconds field; e.g. \"0 */6 * * *\" or \"*/30 * * * * *\"",
        )
    }
}

const FIELD_NAMES_5: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];
const FIELD_NAMES_6: [&str; 6] = [
    "second",
    "minute",
    "hour",
    "day of month",
    "month",
    "day of week",
];

fn parse_cron(expression: &str) -> Result<Cron, CronProblem> {
    let fields: Vec<Range<usize>> = field_ranges(expression);
    if !expression.trim_start().starts_with('@') && !(5..=6).contains(&fields.len()) {
        return Err(CronProblem {
            field: None,
            message: format!(
                "a cron expression has 5 or 6 fields, `{expression}` has {}",
                fields.len()
            ),
        });
    }
    let cron = Cron::from_str(expression).map_err(|error| {
        // croner says what is wrong but not where: the culprit is the first field whose
        // replacement by `*` makes the expression valid.
        let culprit = (0..fields.len()).find(|&index| {
            let mut replaced = expression.to_owned();
            replaced.replace_range(fields[index].clone(), "*");
            Cron::from_str(&replaced).is_ok()
        });
        match culprit {
            Some(index) => {
                let names: &[&str] = if fields.len() == 6 {
                    &FIELD_NAMES_6
                } else {
                    &FIELD_NAMES_5
                };
                CronProblem {
                    field: Some(fields[index].clone()),
                    message: format!(
                        "invalid {} field `{}` in the cron expression: {}",
                        names[index],
                        &expression[fields[index].clone()],
                        plain(&error)
                    ),
                }
            }
            None => CronProblem {
                field: None,
                message: format!("invalid cron expression `{expression}`: {}", plain(&error)),
            },
        }
    })?;
    // An expression that matches no date at all (e.g. 30 February) is valid syntax.
    if cron
        .find_next_occurrence(&Utc::now().with_timezone(&Tz::UTC), false)
        .is_err()
    {
        return Err(CronProblem {
            field: None,
            message: format!("the cron expression `{expression}` never matches a date"),
        });
    }
    Ok(cron)
}

/// croner's message without its "Component error: " style prefix.
fn plain(error: &croner::errors::CronError) -> String {
    let text = error.to_string();
    match text.split_once(": ") {
        Some((_, rest)) => rest.to_owned(),
        None => text,
    }
}

fn field_ranges(expression: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = None;
    for (index, character) in expression.char_indices() {
        match (character.is_whitespace(), start) {
            (false, None) => start = Some(index),
            (true, Some(begin)) => {
                ranges.push(begin..index);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        ranges.push(begin..expression.len());
    }
    ranges
}

impl ScheduleSpec {
    /// Parses an expression and time zone outside a job file (tests, the command line).
    ///
    /// # Errors
    ///
    /// What is wrong with either, as a message.
    pub fn new(expression: &str, timezone: &str) -> Result<Self, String> {
        let mut problems = Vec::new();
        let keys = ScheduleKeys {
            schedule: Some(Spanned::new(0..expression.len() + 2, expression.to_owned())),
            timezone: Some(Spanned::new(0..0, timezone.to_owned())),
            ..ScheduleKeys::default()
        };
        match keys.check(&mut problems).0 {
            Some(spec) if problems.is_empty() => Ok(spec),
            _ => Err(problems
                .into_iter()
                .map(|problem| problem.message)
                .collect::<Vec<_>>()
                .join("; ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_field_is_named_and_placed() {
        let problem = parse_cron("0 25 * * *").unwrap_err();
        assert_eq!(problem.field, Some(2..4));
        assert!(
            problem.message.starts_with("invalid hour field `25`"),
            "{}",
            problem.message
        );
        let problem = parse_cron("0 * * *").unwrap_err();
        assert_eq!(problem.field, None);
        assert_eq!(
            problem.message,
            "a cron expression has 5 or 6 fields, `0 * * *` has 4"
        );
        assert!(ScheduleSpec::new("0 0 * * *", "Mars/Olympus").is_err());
    }
}
