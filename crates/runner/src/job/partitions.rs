//! `[source.partitions]`: one source becomes many independent request chains, one for each
//! combination of the variables' values, with `{var}` filled into the URL, the query and the
//! headers. Chains run side by side under the job's one concurrency limit: this is where
//! cursor and link pagination, sequential by nature, get their parallelism.

use serde::Deserialize;

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

/// One chain's values: `(name, value)` pairs, `{day.end}` included for date windows.
pub type Assignment = Vec<(String, String)>;

pub(crate) use super::combinations::assignments;

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
    use super::super::Problem;
    use super::*;

    fn spec(text: &str) -> Vec<(String, PartitionSpec)> {
        let map: std::collections::BTreeMap<String, PartitionSpec> = toml::from_str(text).unwrap();
        map.into_iter().collect()
    }

    fn assignments(specs: &[(String, PartitionSpec)]) -> Result<Vec<Assignment>, Problem> {
        super::assignments(specs.iter().map(|(name, spec)| (name, spec, 0..0)))
            .map(Iterator::collect)
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
    fn ranges_are_exact_at_the_ends_of_i64() {
        let all = assignments(&spec(
            "n = { from = -5000000000000000000, to = 5000000000000000000, step = 5000000000000000000 }",
        ))
        .unwrap();
        let values: Vec<&str> = all.iter().map(|a| a[0].1.as_str()).collect();
        assert_eq!(values, ["-5000000000000000000", "0", "5000000000000000000"]);
        let ends = assignments(&spec(&format!(
            "n = {{ from = {}, to = {}, step = {} }}",
            i64::MIN,
            i64::MAX,
            i64::MAX
        )))
        .unwrap();
        assert_eq!(ends.len(), 3);
        assert_eq!(ends[2][0].1, (i64::MAX - 1).to_string());
    }

    #[test]
    fn a_product_past_the_cap_is_refused_before_anything_is_made() {
        // 10^10 chains, and 10^50 (which no `u64` holds): refused by arithmetic alone.
        let specs = spec("a = { from = 0, to = 99999 }\nb = { from = 0, to = 99999 }");
        let problem =
            super::assignments(specs.iter().map(|(name, spec)| (name, spec, 0..0))).unwrap_err();
        assert_eq!(
            problem.message,
            "the partitions make more than 100000 chains"
        );
        let many: String = (0..10)
            .map(|i| format!("v{i} = {{ from = 1, to = 100000 }}\n"))
            .collect();
        let specs = spec(&many);
        assert!(super::assignments(specs.iter().map(|(name, spec)| (name, spec, 0..0))).is_err());
        let specs = spec("a = { from = 0, to = 99 }\nb = { from = 0, to = 999 }");
        let lazy = super::assignments(specs.iter().map(|(name, spec)| (name, spec, 0..0))).unwrap();
        assert_eq!(lazy.size_hint(), (100_000, Some(100_000)));
        assert_eq!(
            lazy.last().unwrap(),
            [("a".into(), "99".into()), ("b".into(), "999".into())]
        );
    }

    #[test]
    fn date_windows_are_counted_without_being_made() {
        let bad = |text: &str| assignments(&spec(text)).unwrap_err().message;
        assert_eq!(
            bad("day = { since = \"0001-01-01\", until = \"9999-01-01\" }"),
            "partition `day` has more than 100000 windows"
        );
        let huge_step = assignments(&spec(
            "day = { since = \"2026-01-01\", until = \"2026-01-03\", step = \"18446744073709551615d\" }",
        ))
        .unwrap();
        assert_eq!(
            huge_step,
            [vec![
                ("day".into(), "2026-01-01".into()),
                ("day.end".into(), "2026-01-03".into())
            ]]
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
