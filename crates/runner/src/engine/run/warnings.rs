//! The warnings of a run, each with its place: which partition or child chain it comes from,
//! and the same warning of many chains said once, with their number ("`max_pages` stopped 5
//! child chains") rather than five copies.

use std::collections::BTreeMap;

/// How many places a warning names before "and N more".
const NAMED: usize = 3;

/// The warnings of each chain (`place`: where the chain is in the job, empty for the one chain
/// of a plain job), in chain order, gathered: one line a distinct warning.
pub(super) fn gather<'a>(chains: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Vec<String> {
    // By text, in the order first seen: the same warning of several chains is one line.
    let mut order: Vec<&str> = Vec::new();
    let mut places: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (place, warnings) in chains {
        for warning in warnings {
            let at = places.entry(warning.as_str()).or_insert_with(|| {
                order.push(warning.as_str());
                Vec::new()
            });
            if !at.contains(&place) {
                at.push(place);
            }
        }
    }
    order
        .into_iter()
        .map(|warning| {
            let at: Vec<&str> = places[warning]
                .iter()
                .copied()
                .filter(|place| !place.is_empty())
                .collect();
            match at.as_slice() {
                [] => warning.to_owned(),
                [one] => format!("{one}: {warning}"),
                many => {
                    let named = many[..many.len().min(NAMED)].join("; ");
                    let more = if many.len() > NAMED {
                        format!("; and {} more", many.len() - NAMED)
                    } else {
                        String::new()
                    };
                    format!("{} chains ({named}{more}): {warning}", many.len())
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_warning_with_its_places() {
        let capped = vec!["stopped at `max_pages` = 2".to_owned()];
        let short = vec!["a short page".to_owned()];
        let gathered = gather([
            ("partition a=1", capped.as_slice()),
            ("partition a=2", capped.as_slice()),
            ("partition a=3", short.as_slice()),
            ("partition a=4", capped.as_slice()),
            ("partition a=5", capped.as_slice()),
        ]);
        assert_eq!(
            gathered,
            [
                "4 chains (partition a=1; partition a=2; partition a=4; and 1 more): stopped at `max_pages` = 2",
                "partition a=3: a short page",
            ]
        );
        assert_eq!(gather([("", short.as_slice())]), ["a short page"]);
    }
}
