//! The TOML parser's messages in the job file's words: "unknown key `record`" with the closest
//! key there is, "expected a number, found the string "100"" with what to write instead.

/// The message to show for the parser's `message`, and a hint.
pub(crate) fn explain(message: &str) -> (String, Option<String>) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        return unknown_key(rest);
    }
    if let Some(rest) = message.strip_prefix("invalid type: string ")
        && let Some((found, expected)) = rest.split_once(", expected ")
        && is_number_type(expected)
    {
        let bare = found.trim_matches('"');
        let hint = if bare.parse::<f64>().is_ok() {
            format!("write it without quotes: {bare}")
        } else {
            "write a number, without quotes".to_owned()
        };
        return (
            format!("expected a number, found the string {found}"),
            Some(hint),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: integer `")
        && let Some((found, expected)) = rest.split_once("`, expected ")
        && is_number_type(expected)
        && expected.starts_with('u')
    {
        return (
            format!("expected a whole number from 0 up, found {found}"),
            None,
        );
    }
    if message.starts_with("invalid type: ") && message.ends_with("expected a string") {
        return (
            message.to_owned(),
            Some("write it in double quotes: \"…\"".into()),
        );
    }
    let hint = if message.starts_with("missing field") {
        Some("add the key; the README shows a complete job file".into())
    } else if message.ends_with("expected a duration") {
        Some("write durations like \"30s\", \"500ms\" or \"2m\"".into())
    } else {
        None
    };
    (message.to_owned(), hint)
}

/// `record`, expected one of `url`, `records`, …` → "unknown key `record`" and the closest.
fn unknown_key(rest: &str) -> (String, Option<String>) {
    let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
    let keys: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let message = format!("unknown key `{key}`");
    if ["per_page", "page_size", "pagesize", "limit", "page_limit"].contains(&key) {
        return (
            message,
            Some(format!(
                "the page-size parameter is named by `size_param = \"{key}\"`, with `size`"
            )),
        );
    }
    let closest = keys
        .iter()
        .map(|known| (strsim::levenshtein(key, known), *known))
        .filter(|(distance, known)| *distance <= (known.len() / 3).max(2))
        .min();
    let hint = match closest {
        Some((_, known)) => format!("did you mean `{known}`?"),
        None if keys.is_empty() => "check the spelling; the README lists every key".into(),
        None => format!(
            "the keys here are {}",
            keys.iter()
                .map(|known| format!("`{known}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    (message, Some(hint))
}

fn is_number_type(expected: &str) -> bool {
    matches!(
        expected,
        "u8" | "u16"
            | "u32"
            | "u64"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "isize"
            | "f32"
            | "f64"
            | "a number"
    ) || expected.starts_with("a nonzero")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_get_the_closest_one() {
        let (message, hint) =
            explain("unknown field `record`, expected one of `url`, `records`, `query`");
        assert_eq!(message, "unknown key `record`");
        assert_eq!(hint.as_deref(), Some("did you mean `records`?"));
        let (_, hint) = explain("unknown field `zzz`, expected `a` or `b`");
        assert_eq!(hint.as_deref(), Some("the keys here are `a`, `b`"));
    }

    #[test]
    fn numbers_in_quotes_are_named_as_such() {
        let (message, hint) = explain("invalid type: string \"100\", expected u64");
        assert_eq!(message, "expected a number, found the string \"100\"");
        assert_eq!(hint.as_deref(), Some("write it without quotes: 100"));
        let (message, _) = explain("invalid value: integer `-1`, expected u32");
        assert_eq!(message, "expected a whole number from 0 up, found -1");
    }
}
