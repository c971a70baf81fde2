//! `[output] url` and `table_prefix`: the database each run's result is written to, checked
//! when the job is loaded (the URL's form, the prefix's characters), so that a typo fails the
//! job file, not the first run's output step hours later.

use std::path::Path;

use toml::Spanned;

use super::Problem;
use crate::output::database::{DatabaseSpec, DatabaseUrl, TablePrefix};

/// The database keys of `[output]`, as written.
pub(crate) struct DatabaseKeys {
    pub url: Option<Spanned<String>>,
    pub table_prefix: Option<Spanned<String>>,
}

/// The database of `[output]`: `Some(None)` when there is none, `None` when a key is wrong
/// (the problem is reported).
pub(crate) fn check_database(
    keys: DatabaseKeys,
    base: &Path,
    problems: &mut Vec<Problem>,
) -> Option<Option<DatabaseSpec>> {
    let prefix = match keys.table_prefix {
        None => Some(TablePrefix::default()),
        Some(prefix) if keys.url.is_none() => {
            problems.push(
                Problem::new(prefix.span(), "`table_prefix` without `url`").hint(
                    "it names the tables of the database `url` writes to: add `url`, or remove it",
                ),
            );
            None
        }
        Some(prefix) => {
            let span = prefix.span();
            match TablePrefix::parse(prefix.get_ref()) {
                Ok(prefix) => Some(prefix),
                Err(message) => {
                    problems.push(Problem::new(span, message).hint(
                        "a prefix is letters, digits and `_`, starting with a letter or `_` \
                         (default: \"pagefold_\")",
                    ));
                    None
                }
            }
        }
    };
    let Some(url) = keys.url else {
        return prefix.map(|_| None);
    };
    let span = url.span();
    let url = match DatabaseUrl::parse(url.get_ref(), base) {
        Ok(url) => url,
        Err(error) => {
            problems.push(Problem::new(span, error.message).hint(error.hint));
            return None;
        }
    };
    Some(Some(DatabaseSpec {
        url,
        prefix: prefix?,
    }))
}
