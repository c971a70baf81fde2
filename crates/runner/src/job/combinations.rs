//! The chains of a partitioned source: every combination of the partition variables'
//! values, counted with checked arithmetic before one is made, then made one at a time.

use std::ops::Range;

use chrono::{Days, NaiveDate};

use super::Problem;
use super::partitions::{Assignment, PartitionSpec};
use super::query::QueryValue;

/// More chains than this is a typo, not a plan.
const MAX_PARTITIONS: u64 = 100_000;

/// Every combination of the variables' values, in order, made one at a time: how many there
/// are is known (with checked arithmetic) before a single one is made, so that a product of
/// ranges past the cap is refused at the cost of a few multiplications, not a vector of its
/// size.
#[derive(Debug, Clone)]
pub(crate) struct Assignments<'a> {
    variables: Vec<Variable<'a>>,
    /// The index of the next combination, and how many there are.
    next: u64,
    count: u64,
}

/// One variable and how many values it takes.
#[derive(Debug, Clone)]
struct Variable<'a> {
    name: &'a str,
    values: Values<'a>,
    count: u64,
}

#[derive(Debug, Clone)]
enum Values<'a> {
    List(&'a [QueryValue]),
    /// `from + i × step`, computed in `i128` so that neither end of `i64` wraps.
    Range {
        from: i64,
        step: i64,
    },
    Dates {
        since: NaiveDate,
        until: NaiveDate,
        days: u64,
        format: &'a str,
    },
}

impl Iterator for Assignments<'_> {
    type Item = Assignment;

    fn next(&mut self) -> Option<Assignment> {
        if self.next >= self.count {
            return None;
        }
        // The index in mixed radix, the last variable turning fastest (as nested loops would).
        let mut rest = self.next;
        let mut digits = vec![0u64; self.variables.len()];
        for (digit, variable) in digits.iter_mut().zip(&self.variables).rev() {
            *digit = rest % variable.count;
            rest /= variable.count;
        }
        self.next += 1;
        let mut assignment = Vec::with_capacity(self.variables.len());
        for (variable, index) in self.variables.iter().zip(digits) {
            variable.push(index, &mut assignment);
        }
        Some(assignment)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // At most `MAX_PARTITIONS`, which fits every `usize`.
        let left = (self.count - self.next) as usize;
        (left, Some(left))
    }
}

impl Variable<'_> {
    /// Appends the `index`th value (`index` < `count`).
    fn push(&self, index: u64, assignment: &mut Assignment) {
        let name = self.name.to_owned();
        match &self.values {
            Values::List(values) => assignment.push((name, values[index as usize].to_string())),
            Values::Range { from, step } => {
                let value = i128::from(*from) + i128::from(index) * i128::from(*step);
                assignment.push((name, value.to_string()));
            }
            Values::Dates {
                since,
                until,
                days,
                format,
            } => {
                // Below `until` for every index below the count; checked all the same.
                let start = index
                    .checked_mul(*days)
                    .and_then(|offset| since.checked_add_days(Days::new(offset)))
                    .unwrap_or(*until);
                let end = start
                    .checked_add_days(Days::new(*days))
                    .unwrap_or(*until)
                    .min(*until);
                assignment.push((name, start.format(format).to_string()));
                assignment.push((format!("{}.end", self.name), end.format(format).to_string()));
            }
        }
    }
}

/// Every combination of the variables' values, in order, checked and counted but not made.
pub(crate) fn assignments<'a>(
    partitions: impl IntoIterator<Item = (&'a String, &'a PartitionSpec, Range<usize>)>,
) -> Result<Assignments<'a>, Problem> {
    let mut variables = Vec::new();
    let mut count: u64 = 1;
    for (name, spec, span) in partitions {
        let variable = variable(name, spec, span.clone())?;
        count = count
            .checked_mul(variable.count)
            .filter(|count| *count <= MAX_PARTITIONS)
            .ok_or_else(|| {
                Problem::new(
                    span,
                    format!("the partitions make more than {MAX_PARTITIONS} chains"),
                )
                .hint("split the job, or widen a range's `step` or a date window's `step`")
            })?;
        variables.push(variable);
    }
    Ok(Assignments {
        variables,
        next: 0,
        count,
    })
}

fn variable<'a>(
    name: &'a str,
    spec: &'a PartitionSpec,
    span: Range<usize>,
) -> Result<Variable<'a>, Problem> {
    let problem = |message: String| Problem::new(span.clone(), message);
    let too_many = |what: &str| {
        problem(format!(
            "partition `{name}` has more than {MAX_PARTITIONS} {what}"
        ))
    };
    let (values, count) = match spec {
        PartitionSpec::Values(values) => {
            if values.is_empty() {
                return Err(problem(format!("partition `{name}` has no values")));
            }
            let count = values.len() as u64;
            if count > MAX_PARTITIONS {
                return Err(too_many("values"));
            }
            (Values::List(values), count)
        }
        PartitionSpec::Range { from, to, step } => {
            if *step <= 0 || to < from {
                return Err(problem(format!(
                    "partition `{name}` needs `from` ≤ `to` and a positive `step`"
                )));
            }
            // In `i128`: `to - from` of the two ends of `i64` does not fit an `i64`.
            let count = (i128::from(*to) - i128::from(*from)) / i128::from(*step) + 1;
            if count > i128::from(MAX_PARTITIONS) {
                return Err(too_many("values"));
            }
            let count = count as u64;
            (
                Values::Range {
                    from: *from,
                    step: *step,
                },
                count,
            )
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
            // Positive: `until` is after `since`.
            let span_days = (until - since).num_days().unsigned_abs();
            let count = span_days.div_ceil(days);
            if count > MAX_PARTITIONS {
                return Err(too_many("windows"));
            }
            (
                Values::Dates {
                    since,
                    until,
                    days,
                    format,
                },
                count,
            )
        }
    };
    Ok(Variable {
        name,
        values,
        count,
    })
}
