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

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;
use toml::Spanned;

use super::Problem;

/// `overlap`: what happens when a run is due while the previous one still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// The due run is skipped (and recorded as skipped in the history).
    #[default]
    Skip,
    /// The due run starts as soon as the running one ends (several due runs make one).
    Queue,
}

/// `missed`: what happens to runs that were due while the scheduler was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
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
    cron: Cron,
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

/// `at` without its fraction of a second: croner keeps the fraction of the time it starts
/// from, and run times are whole seconds.
fn whole_second(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    at.with_nanosecond(0).unwrap_or(at)
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

    /// The first run time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // croner searches by local time. From inside the hour a fall-back repeats, its answer
        // can be the first of an ambiguous pair (before `after`): its iterator goes on past
        // it. And from the first pass of that hour, local times of the second pass look like
        // the past: they are searched for from the moment the clock falls back.
        let iterate = |iterator: &mut dyn Iterator<Item = DateTime<Tz>>| {
            iterator
                .take(4)
                .map(|time| time.with_timezone(&Utc))
                .find(|time| *time > after)
        };
        let first = iterate(
            &mut self
                .cron
                .iter_after(whole_second(after).with_timezone(&self.timezone)),
        )?;
        let second = self.fall_back_between(after, first).and_then(|transition| {
            iterate(&mut self.cron.iter_from(
                transition.with_timezone(&self.timezone),
                croner::Direction::Forward,
            ))
        });
        Some(second.map_or(first, |second| second.min(first)))
    }

    /// The moment the clock falls back between `from` and `to`, if it does.
    fn fall_back_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
        use chrono::Offset;
        let offset = |at: DateTime<Utc>| {
            at.with_timezone(&self.timezone)
                .offset()
                .fix()
                .local_minus_utc()
        };
        let before = offset(from);
        if offset(to) >= before {
            return None;
        }
        // In whole seconds: offsets change on the second.
        let (mut low, mut high) = (from.timestamp(), to.timestamp());
        let at = |seconds: i64| DateTime::from_timestamp(seconds, 0).unwrap_or(to);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if offset(at(middle)) == before {
                low = middle;
            } else {
                high = middle;
            }
        }
        Some(at(high))
    }

    /// The last run time at or before `at`.
    pub fn last_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = whole_second(at);
        let second = chrono::Duration::seconds(1);
        let previous = |at: DateTime<Utc>| {
            self.cron
                .find_previous_occurrence(&at.with_timezone(&self.timezone), true)
                .ok()
                .map(|time| time.with_timezone(&Utc))
        };
        // croner's backward search can land on a time that is no run time next to a
        // daylight saving change (it gives 01:59:59 for a 02:30 that does not exist): step
        // back to a real run time, then forward to the last one, which forward search finds
        // exactly.
        let mut guess = previous(at)?;
        for _ in 0..8 {
            if self.next_after(guess - second) == Some(guess) {
                break;
            }
            guess = previous(guess - second)?;
        }
        while let Some(next) = self.next_after(guess).filter(|next| *next <= at) {
            guess = next;
        }
        Some(guess)
    }

    /// The next `count` run times after `after`, in the job's time zone.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut times = Vec::with_capacity(count);
        let mut cursor = after;
        while times.len() < count {
            let Some(next) = self.next_after(cursor) else {
                break;
            };
            times.push(next.with_timezone(&self.timezone));
            cursor = next;
        }
        times
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn runs_in_the_job_time_zone_across_daylight_saving_changes() {
        // 02:30 every day in Berlin: on 2026-03-29 clocks jump from 02:00 to 03:00, so that
        // day's run is at 03:00 local (01:00 UTC) — it is neither lost nor run twice.
        let spec = ScheduleSpec::new("30 2 * * *", "Europe/Berlin").unwrap();
        let times: Vec<String> = spec
            .upcoming(utc("2026-03-27T12:00:00Z"), 4)
            .iter()
            .map(|t| t.with_timezone(&Utc).to_rfc3339())
            .collect();
        assert_eq!(
            times,
            [
                "2026-03-28T01:30:00+00:00",
                "2026-03-29T01:00:00+00:00",
                "2026-03-30T00:30:00+00:00",
                "2026-03-31T00:30:00+00:00",
            ]
        );
        assert_eq!(
            spec.last_at_or_before(utc("2026-03-29T01:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            spec.last_at_or_before(utc("2026-03-29T00:59:59Z")),
            Some(utc("2026-03-28T01:30:00Z"))
        );
        // Started inside the repeated hour, after the 02:30 that came first: next day.
        assert_eq!(
            spec.next_after(utc("2026-10-25T01:10:00Z")),
            Some(utc("2026-10-26T01:30:00Z"))
        );
        // An interval job runs in both passes of the repeated hour.
        let every_half_hour = ScheduleSpec::new("*/30 * * * *", "Europe/Berlin").unwrap();
        let times: Vec<_> = every_half_hour
            .upcoming(utc("2026-10-24T23:50:00Z"), 5)
            .iter()
            .map(|t| t.with_timezone(&Utc))
            .collect();
        assert_eq!(
            times,
            [
                utc("2026-10-25T00:00:00Z"),
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-25T01:00:00Z"),
                utc("2026-10-25T01:30:00Z"),
                utc("2026-10-25T02:00:00Z"),
            ]
        );
        assert_eq!(
            every_half_hour.next_after(utc("2026-10-25T00:45:00Z")),
            Some(utc("2026-10-25T01:00:00Z"))
        );
        // On 2026-10-25 02:30 happens twice in Berlin; the job runs once.
        let autumn: Vec<_> = spec.upcoming(utc("2026-10-24T12:00:00Z"), 2);
        assert_eq!(autumn[0].with_timezone(&Utc), utc("2026-10-25T00:30:00Z"));
        assert_eq!(autumn[1].with_timezone(&Utc), utc("2026-10-26T01:30:00Z"));
    }

    #[test]
    fn run_times_are_whole_seconds() {
        let spec = ScheduleSpec::new("* * * * * *", "UTC").unwrap();
        let at = utc("2026-01-01T00:00:05.250Z");
        assert_eq!(
            spec.last_at_or_before(at),
            Some(utc("2026-01-01T00:00:05Z"))
        );
        assert_eq!(spec.next_after(at), Some(utc("2026-01-01T00:00:06Z")));
    }

    #[test]
    fn seconds_are_optional() {
        let spec = ScheduleSpec::new("*/20 * * * * *", "UTC").unwrap();
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 5).unwrap();
        assert_eq!(
            spec.next_after(start),
            Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 20).unwrap())
        );
        assert_eq!(
            spec.last_at_or_before(start),
            Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
        );
    }

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
