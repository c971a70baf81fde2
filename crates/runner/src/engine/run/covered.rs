//! What the records held, in the result: per reducer that reads a field, how many records
//! had it, had `null`, or lacked it; and the warnings a typo or an empty `map` deserve.

use pagefold_json::Pointer;

use crate::engine::reduce::coverage::{Counts, closest};
use crate::job::{Job, ReducerUse};
use crate::output::FieldCoverage;
use crate::terminal::progress::thousands;

/// A field missing from more than this share of the records is a warning, even when some
/// have it: a field most records lack is more often a typo or a wrong `records` than data.
pub const MISSING_WARNS_ABOVE: f64 = 0.9;

/// The `coverage` part of the result, in job order, and the warnings it makes.
pub(crate) fn coverage(
    job: &Job,
    counts: &[(String, Counts)],
    fetched_records: u64,
) -> (Vec<(String, FieldCoverage)>, Vec<String>) {
    let count_of = |field: &Pointer| {
        counts
            .iter()
            .find(|(name, _)| *name == field.to_string())
            .map(|(_, counts)| counts)
    };
    let reached = counts
        .iter()
        .find(|(name, _)| name.is_empty())
        .map(|(_, counts)| counts);
    let mut section = Vec::new();
    let mut warnings = Vec::new();
    if let (Some(_), Some(reached)) = (&job.source.map, reached)
        && fetched_records > 0
        && reached.records == 0
    {
        warnings.push(format!(
            "`map` dropped every record ({} fetched): the reducers saw none",
            thousands(fetched_records)
        ));
    }
    // Each field once, naming every reducer that reads it.
    let mut warned: Vec<String> = Vec::new();
    for spec in &job.reduce {
        let ReducerUse::Builtin {
            field: Some(field), ..
        } = &spec.reducer
        else {
            continue;
        };
        let Some(counts) = count_of(field) else {
            continue;
        };
        section.push((
            spec.name.clone(),
            FieldCoverage {
                field: field.to_string(),
                present: counts.present,
                null: counts.null,
                missing: counts.missing(),
            },
        ));
        let field = field.to_string();
        if counts.records == 0 || warned.contains(&field) {
            continue;
        }
        let readers: Vec<String> = job
            .reduce
            .iter()
            .filter(|other| matches!(&other.reducer, ReducerUse::Builtin { field: Some(f), .. } if f.to_string() == field))
            .map(|other| format!("`{}`", other.name))
            .collect();
        let readers = readers.join(", ");
        let warning = if counts.present == 0 && counts.null == 0 {
            let hint = match closest(&field, &counts.fields) {
                Some(near) => format!("did you mean `{near}`?"),
                None if counts.fields.is_empty() => String::new(),
                None => format!(
                    "the records have {}",
                    counts
                        .fields
                        .iter()
                        .filter(|f| f.matches('/').count() == 1)
                        .take(8)
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Some(format!(
                "no record has `{field}` (read by {readers}; 0 of {} records){}{hint}",
                thousands(counts.records),
                if hint.is_empty() { "" } else { ": " }
            ))
        } else if counts.present == 0 {
            Some(format!(
                "`{field}` is null in every record that has it (read by {readers}; {} null, {} missing)",
                thousands(counts.null),
                thousands(counts.missing())
            ))
        } else if counts.missing() as f64 > MISSING_WARNS_ABOVE * counts.records as f64 {
            Some(format!(
                "`{field}` is missing from {} of {} records (read by {readers})",
                thousands(counts.missing()),
                thousands(counts.records)
            ))
        } else {
            None
        };
        if let Some(warning) = warning {
            warned.push(field);
            warnings.push(warning);
        }
    }
    (section, warnings)
}
