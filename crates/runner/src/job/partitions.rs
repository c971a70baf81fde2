//! `[source.partitions]`: one source becomes many independent request chains, one for each
//! combination of the variables' values, with `{var}` filled into the URL, the query and the
//! headers. Chains run side by side under the job's one concurrency limit: this is where
//! cursor and link pagination, sequential by nature, get their parallelism.

use std::ops::Range;

use chrono::{Days, NaiveDate};
use serde::Deserialize;

use super::Problem;
use super::query::QueryValue;

/// One partition variable.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(
    untagged,
    expecting = "a list of values, { from = 1, to = 9 }, or { since = \"2026-01-01\", until = \"2026-02-01\", step = \"1d\" }"
)]
pub enum PartitionSpec {
    /// `repo = ["a/b", "c/d"]`.
    Values(Vec<QueryValue>),
    /// `shard = { from = 0, to = 9 }` (inclusive), with an optional `step`.
    Range {
        /// The first value.
        from: i64,
        /// The last value (inclusive).
        to: i64,
        /// The distance between values (default 1).
        #[serde(default = "one")]
        step: i64,
    },
    /// `day = { since = "2026-01-01", until = "2026-03-01", step = "1d" }`: windows of `step`
    /// days from `since` up to `until` (exclusive). `{day}` is a window's first day, `{day.end}`
    /// the day after its last, both written with `format` (default `%Y-%m-%d`).
    Dates {
        /// The first day.
        since: String,
        /// The day after the last.
        until: String,
        /// Days a window: `"1d"`, `"7d"`.
        #[serde(default = "one_day")]
        step: String,
        /// chrono's `strftime` format of the dates filled in.
        #[serde(default = "iso_date")]
        format: String,
    },
}

fn one() -> i64 {
    1
}
fn one_day() -> String {
    "1d".into()
}
fn iso_date() -> String {
    "%Y-%m-%d".into()
}

/// More chains than this is a typo, not a plan.
const MAX_PARTITIONS: usize = 100_000;

/// One chain's values: `(name, value)` pairs, `{day.end}` included for date windows.
pub type Assignment = Vec<(String, String)>;

/// Every combination of the variables' values, in order.
pub(crate) fn assignments<'a>(
    partitions: impl IntoIterator<Item = (&'a String, &'a PartitionSpec, Range<usize>)>,
) -> Result<Vec<Assignment>, Problem> {
    let mut all: Vec<Assignment> = vec![Vec::new()];
    for (name, spec, span) in partitions {
        let values = values(name, spec, span.clone())?;
        let mut next = Vec::with_capacity(all.len() * values.len());
        for partial in &all {
            for value in &values {
                let mut combined = partial.clone();
                combined.extend(value.iter().cloned());
                next.push(combined);
            }
        }
        all = next;
        if all.len() > MAX_PARTITIONS {
            return Err(Problem::new(
                span,
                format!("the partitions make more than {MAX_PARTITIONS} chains"),
            ));
        }
    }
    Ok(all)
}

fn values(
    name: &str,
    spec: &PartitionSpec,
    span: Range<usize>,
) -> Result<Vec<Assignment>, Problem> {
    let problem = |message: String| Problem::new(span.clone(), message);
    match spec {
        PartitionSpec::Values(values) => {
            if values.is_empty() {
                return Err(problem(format!("partition `{name}` has no values")));
            }
            Ok(values
                .iter()
                .map(|v| vec![(name.to_owned(), v.to_string())])
                .collect())
        }
        PartitionSpec::Range { from, to, step } => {
            if *step <= 0 || to < from {
                return Err(problem(format!(
                    "partition `{name}` needs `from` ≤ `to` and a positive `step`"
                )));
            }
            let count = ((to - from) / step + 1) as usize;
            if count > MAX_PARTITIONS {
                return Err(problem(format!(
                    "partition `{name}` has more than {MAX_PARTITIONS} values"
                )));
            }
            Ok((0..count as i64)
                .map(|i| vec![(name.to_owned(), (from + i * step).to_string())])
                .collect())
        }
        PartitionSpec::Dates {
            since,
            until,
            step,
            format,
        } => {
            let date = |text: &str| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| problem(format!("`{text}` is not a date like 2026-01-31")))
            };
            let (since, until) = (date(since)?, date(until)?);
            let days: u64 = step
                .strip_suffix('d')
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    problem(format!(
                        "`step` = \"{step}\" is not a number of days like \"1d\" or \"7d\""
                    ))
                })?;
            if until <= since {
                return Err(problem(format!(
                    "partition `{name}` needs `since` before `until`"
                )));
            }
            // A format chrono cannot write would panic when used: try it once here.
            let mut probe = String::new();
            if std::fmt::write(&mut probe, format_args!("{}", since.format(format))).is_err() {
                return Err(problem(format!(
                    "`format` = \"{format}\" is not a date format chrono can write"
                )));
            }
            let mut windows = Vec::new();
            let mut start = since;
            while start < until {
                let end = start
                    .checked_add_days(Days::new(days))
                    .unwrap_or(until)
                    .min(until);
                windows.push(vec![
                    (name.to_owned(), start.format(format).to_string()),
                    (format!("{name}.end"), end.format(format).to_string()),
                ]);
                if windows.len() > MAX_PARTITIONS {
                    return Err(problem(format!(
                        "partition `{name}` has more than {MAX_PARTITIONS} windows"
                    )));
                }
                start = end;
            }
            Ok(windows)
        }
    }
}

/// `template` with each `{name}` (also percent-encoded, as in a parsed URL) replaced.
pub fn fill(template: &str, assignment: &Assignment) -> String {
    let mut text = template.to_owned();
    for (name, value) in assignment {
        text = text
            .replace(&format!("{{{name}}}"), value)
            .replace(&format!("%7B{name}%7D"), value);
    }
    text
}

/// [`fill`] for a URL: values are percent-encoded, but for `/` (so `owner/repo` stays a
/// path), so that a value can never change the URL's structure (`?`, `#`, `&`, `%`).
pub fn fill_url(template: &str, assignment: &Assignment) -> String {
    let encoded: Assignment = assignment
        .iter()
        .map(|(name, value)| {
            let mut text = String::with_capacity(value.len());
            for byte in value.bytes() {
                if byte.is_ascii_alphanumeric() || b"-._~/:@".contains(&byte) {
                    text.push(byte as char);
                } else {
                    text.push_str(&format!("%{byte:02X}"));
                }
            }
            (name.clone(), text)
        })
        .collect();
    fill(template, &encoded)
}

/// The `{name}`s a template uses.
pub(crate) fn placeholders(template: &str) -> Vec<String> {
    fn is_name(text: &str) -> bool {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
    }
    let decoded = template.replace("%7B", "{").replace("%7D", "}");
    let mut names = Vec::new();
    let mut rest = decoded.as_str();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        // Only a name is a placeholder: braces of JSON or a GraphQL query in a body are not.
        if is_name(name) {
            names.push(name.to_owned());
            rest = &rest[open + close + 1..];
        } else {
            rest = &rest[open + 1..];
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Vec<(String, PartitionSpec)> {
        let map: std::collections::BTreeMap<String, PartitionSpec> = toml::from_str(text).unwrap();
        map.into_iter().collect()
    }

    fn assignments(specs: &[(String, PartitionSpec)]) -> Result<Vec<Assignment>, Problem> {
        super::assignments(specs.iter().map(|(name, spec)| (name, spec, 0..0)))
    }

    #[test]
    fn combines_values_ranges_and_date_windows() {
        let all = assignments(&spec(
            "repo = [\"a/b\", \"c/d\"]\nshard = { from = 1, to = 5, step = 2 }",
        ))
        .unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[0],
            [("repo".into(), "a/b".into()), ("shard".into(), "1".into())]
        );
        let days = assignments(&spec(
            "day = { since = \"2026-01-30\", until = \"2026-02-05\", step = \"3d\" }",
        ))
        .unwrap();
        assert_eq!(
            days,
            [
                vec![
                    ("day".into(), "2026-01-30".into()),
                    ("day.end".into(), "2026-02-02".into())
                ],
                vec![
                    ("day".into(), "2026-02-02".into()),
                    ("day.end".into(), "2026-02-05".into())
                ],
            ]
        );
    }

    #[test]
    fn fills_templates_even_inside_parsed_urls() {
        let assignment = vec![("repo".to_owned(), "a/b".to_owned())];
        assert_eq!(
            fill("https://x/repos/%7Brepo%7D/issues", &assignment),
            "https://x/repos/a/b/issues"
        );
        assert_eq!(
            placeholders("https://x/repos/%7Brepo%7D/{day.end}"),
            ["repo", "day.end"]
        );
        let tricky = vec![("q".to_owned(), "a b&c=d#e?f%".to_owned())];
        assert_eq!(
            fill_url("https://x/s?q={q}", &tricky),
            "https://x/s?q=a%20b%26c%3Dd%23e%3Ff%25"
        );
    }

    #[test]
    fn says_what_is_wrong() {
        let bad = |text: &str| assignments(&spec(text)).unwrap_err().message;
        assert_eq!(
            bad("shard = { from = 5, to = 1 }"),
            "partition `shard` needs `from` ≤ `to` and a positive `step`"
        );
        assert_eq!(
            bad("day = { since = \"2026-13-01\", until = \"2027-01-01\" }"),
            "`2026-13-01` is not a date like 2026-01-31"
        );
        assert_eq!(
            bad("day = { since = \"2026-01-01\", until = \"2027-01-01\", step = \"1w\" }"),
            "`step` = \"1w\" is not a number of days like \"1d\" or \"7d\""
        );
    }
}
