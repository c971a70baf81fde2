//! The settings of the sketching built-ins, `approx_distinct` (`precision`) and
//! `approx_quantiles` (`q`, `relative_accuracy`): their defaults, their ranges, and the
//! messages that name the key and the rule. The job file and a built-in used as a
//! [`pagefold_reducer::Reducer`] check them with the same functions.

use std::ops::Range;

use toml::Spanned;

use super::{BuiltinKind, Problem};

/// The smallest and largest `precision` of `approx_distinct`: 2⁴ registers are the fewest
/// for which the estimator is defined, 2¹⁸ (256 KiB, 0.2 % error) is past what a count needs.
pub const PRECISIONS: std::ops::RangeInclusive<i64> = 4..=18;

/// The `relative_accuracy` of `approx_quantiles` from 0.01 % to 50 %: finer would need more
/// buckets than the cap keeps for any real range of values, coarser says nothing.
pub const ACCURACIES: std::ops::RangeInclusive<f64> = 0.0001..=0.5;

/// The settings of the sketching built-ins (each ignored by the other built-ins).
#[derive(Debug, Clone, PartialEq)]
pub struct SketchOptions {
    /// `approx_distinct`: 2^`precision` registers.
    pub precision: u8,
    /// `approx_quantiles`: the quantiles reported, each from 0 to 1.
    pub quantiles: Vec<f64>,
    /// `approx_quantiles`: the relative error bound of each quantile.
    pub relative_accuracy: f64,
}

impl Default for SketchOptions {
    /// 2¹⁴ registers (16 KiB, about 0.8 % standard error); p50, p95, p99 within 1 %.
    fn default() -> Self {
        Self {
            precision: 14,
            quantiles: vec![0.5, 0.95, 0.99],
            relative_accuracy: 0.01,
        }
    }
}

impl SketchOptions {
    /// What changes the state of `kind`, for the fingerprint of kept states: empty for the
    /// built-ins that take none of these settings, so their fingerprints stay as they were.
    pub fn describe_for(&self, kind: BuiltinKind) -> String {
        match kind {
            BuiltinKind::ApproxDistinct => format!(" precision {}", self.precision),
            BuiltinKind::ApproxQuantiles => format!(
                " q {:?} relative_accuracy {}",
                self.quantiles, self.relative_accuracy
            ),
            _ => String::new(),
        }
    }
}

impl SketchOptions {
    /// The settings, checked as the job file's are (for a built-in used as a
    /// [`pagefold_reducer::Reducer`], whose `config` is JSON).
    ///
    /// # Errors
    ///
    /// The first setting out of its range, as the job file would report it.
    pub fn checked(precision: i64, quantiles: Vec<f64>, accuracy: f64) -> Result<Self, String> {
        if let Some(problem) = precision_problem(precision)
            .or_else(|| quantiles_problem(&quantiles).map(|(_, message)| message))
            .or_else(|| accuracy_problem(accuracy))
        {
            return Err(problem);
        }
        Ok(Self {
            precision: u8::try_from(precision).expect("a precision in range fits a byte"),
            quantiles,
            relative_accuracy: accuracy,
        })
    }
}

/// The sketch keys of a `[[reduce]]` entry, as written.
pub(crate) struct SketchKeys<'a> {
    pub precision: Option<&'a Spanned<i64>>,
    pub q: Option<&'a Spanned<Vec<Spanned<f64>>>>,
    pub relative_accuracy: Option<&'a Spanned<f64>>,
}

impl SketchKeys<'_> {
    /// Each key only on the built-in it belongs to, and within its range.
    pub fn check(&self, kind: BuiltinKind, problems: &mut Vec<Problem>) {
        let belongs = |key: &str, owner: BuiltinKind, span: Range<usize>| {
            (kind != owner)
                .then(|| Problem::new(span, format!("`{key}` belongs to `{owner}`, not `{kind}`")))
        };
        if let Some(precision) = self.precision {
            let problem = belongs("precision", BuiltinKind::ApproxDistinct, precision.span())
                .or_else(|| {
                    precision_problem(*precision.get_ref())
                        .map(|message| Problem::new(precision.span(), message))
                });
            problems.extend(problem);
        }
        if let Some(q) = self.q {
            let problem = belongs("q", BuiltinKind::ApproxQuantiles, q.span()).or_else(|| {
                let values: Vec<f64> = q.get_ref().iter().map(|q| *q.get_ref()).collect();
                quantiles_problem(&values).map(|(index, message)| {
                    let span = index.map_or(q.span(), |index| q.get_ref()[index].span());
                    Problem::new(span, message)
                })
            });
            problems.extend(problem);
        }
        if let Some(accuracy) = self.relative_accuracy {
            let problem = belongs(
                "relative_accuracy",
                BuiltinKind::ApproxQuantiles,
                accuracy.span(),
            )
            .or_else(|| {
                accuracy_problem(*accuracy.get_ref())
                    .map(|message| Problem::new(accuracy.span(), message))
            });
            problems.extend(problem);
        }
    }

    /// The settings as written, defaults for the rest (checked by [`Self::check`]).
    pub fn options(&self) -> SketchOptions {
        let defaults = SketchOptions::default();
        SketchOptions {
            precision: self
                .precision
                .and_then(|p| u8::try_from(*p.get_ref()).ok())
                .unwrap_or(defaults.precision),
            quantiles: self.q.map_or(defaults.quantiles, |q| {
                q.get_ref().iter().map(|q| *q.get_ref()).collect()
            }),
            relative_accuracy: self
                .relative_accuracy
                .map_or(defaults.relative_accuracy, |a| *a.get_ref()),
        }
    }
}

/// The name of quantile `q` in a result: `p50`, `p99.9`, `p0`, `p100`.
pub fn quantile_label(q: f64) -> String {
    let percent = (q * 1e6).round() / 1e4;
    format!("p{percent}")
}

/// Why `precision` is refused, if it is.
pub fn precision_problem(precision: i64) -> Option<String> {
    (!PRECISIONS.contains(&precision)).then(|| {
        format!(
            "`precision` must be from {} to {} (2^precision registers), not {precision}",
            PRECISIONS.start(),
            PRECISIONS.end()
        )
    })
}

/// Why `relative_accuracy` is refused, if it is.
pub fn accuracy_problem(accuracy: f64) -> Option<String> {
    (!ACCURACIES.contains(&accuracy)).then(|| {
        format!(
            "`relative_accuracy` must be from {} to {} (0.01 is 1 %), not {accuracy}",
            ACCURACIES.start(),
            ACCURACIES.end()
        )
    })
}

/// Why `q` is refused, if it is, with the index of the quantile at fault (`None`: the list).
pub fn quantiles_problem(quantiles: &[f64]) -> Option<(Option<usize>, String)> {
    if quantiles.is_empty() {
        return Some((None, "`q` is empty: name at least one quantile".to_owned()));
    }
    for (index, &q) in quantiles.iter().enumerate() {
        if !(0.0..=1.0).contains(&q) {
            return Some((
                Some(index),
                format!("`q` holds {q}, but quantiles are from 0 to 1 (0.95 is p95)"),
            ));
        }
        let label = quantile_label(q);
        if let Some(earlier) = quantiles[..index]
            .iter()
            .find(|&&other| quantile_label(other) == label)
        {
            return Some((
                Some(index),
                format!("`q` holds {earlier} and {q}, which are both reported as `{label}`"),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_percentiles() {
        let labels: Vec<String> = [0.0, 0.5, 0.95, 0.999, 1.0]
            .into_iter()
            .map(quantile_label)
            .collect();
        assert_eq!(labels, ["p0", "p50", "p95", "p99.9", "p100"]);
    }

    #[test]
    fn kept_states_change_with_the_settings_of_their_own_kind_only() {
        let options = SketchOptions::default();
        assert_eq!(options.describe_for(BuiltinKind::Distinct), "");
        assert_eq!(
            options.describe_for(BuiltinKind::ApproxDistinct),
            " precision 14"
        );
        assert_eq!(
            options.describe_for(BuiltinKind::ApproxQuantiles),
            " q [0.5, 0.95, 0.99] relative_accuracy 0.01"
        );
    }

    #[test]
    fn ranges_are_checked_with_messages_that_name_the_rule() {
        assert_eq!(precision_problem(14), None);
        assert_eq!(
            precision_problem(19).unwrap(),
            "`precision` must be from 4 to 18 (2^precision registers), not 19"
        );
        assert_eq!(accuracy_problem(0.01), None);
        assert_eq!(
            accuracy_problem(0.0).unwrap(),
            "`relative_accuracy` must be from 0.0001 to 0.5 (0.01 is 1 %), not 0"
        );
        assert_eq!(
            accuracy_problem(f64::NAN).unwrap(),
            "`relative_accuracy` must be from 0.0001 to 0.5 (0.01 is 1 %), not NaN"
        );
        assert_eq!(quantiles_problem(&[0.0, 0.5, 1.0]), None);
        assert_eq!(
            quantiles_problem(&[0.5, 95.0]).unwrap(),
            (
                Some(1),
                "`q` holds 95, but quantiles are from 0 to 1 (0.95 is p95)".to_owned()
            )
        );
        assert_eq!(
            quantiles_problem(&[0.5, 0.500_000_01]).unwrap(),
            (
                Some(1),
                "`q` holds 0.5 and 0.50000001, which are both reported as `p50`".to_owned()
            )
        );
        assert_eq!(
            quantiles_problem(&[]).unwrap(),
            (None, "`q` is empty: name at least one quantile".to_owned())
        );
    }
}
