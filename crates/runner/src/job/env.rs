//! `${env.NAME}` in a job file: the value of an environment variable, so that tokens live in
//! the environment, not in files. Values are put into the text before it is parsed (escaped
//! for a double-quoted TOML string), positions are mapped back to the file for messages, and
//! every value is registered as a secret, never shown.

use std::ops::Range;

use super::Problem;
use crate::secrets;

/// The job text with every `${env.NAME}` replaced, and how to map positions back.
pub(crate) struct Expanded {
    pub text: String,
    /// `(original span, expanded span)` of each replacement, in order.
    replacements: Vec<(Range<usize>, Range<usize>)>,
    /// `(NAME, value)` of each replacement, in the same order.
    vars: Vec<(String, String)>,
}

impl Expanded {
    /// The position in the original text of position `at` of the expanded one.
    pub fn original(&self, at: usize) -> usize {
        let mut shift: isize = 0;
        for (original, expanded) in &self.replacements {
            if at < expanded.start {
                break;
            }
            if at < expanded.end {
                return original.start;
            }
            shift = original.end as isize - expanded.end as isize;
        }
        (at as isize + shift).max(0) as usize
    }

    /// Each replacement: its span in the expanded text, the variable's name and its value.
    pub fn replacements(&self) -> impl Iterator<Item = (Range<usize>, &str, &str)> {
        self.replacements
            .iter()
            .zip(&self.vars)
            .map(|((_, expanded), (name, value))| (expanded.clone(), name.as_str(), value.as_str()))
    }
}

/// Replaces `${env.NAME}` with the variable's value, read through `lookup`.
pub(crate) fn expand(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Expanded, Problem> {
    const OPEN: &str = "${env.";
    let mut out = String::with_capacity(text.len());
    let mut replacements = Vec::new();
    let mut vars = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find(OPEN) {
        let start = rest + found;
        let Some(close) = text[start..].find('}') else {
            return Err(Problem::new(
                start..start + OPEN.len(),
                "`${env.` is not closed with `}`",
            ));
        };
        let end = start + close + 1;
        let name = &text[start + OPEN.len()..end - 1];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(Problem::new(
                start..end,
                format!("`{name}` is not an environment variable name"),
            ));
        }
        let Some(value) = lookup(name) else {
            return Err(Problem::new(
                start..end,
                format!("the environment variable `{name}` is not set"),
            )
            .hint(format!("export {name}=… before running pagefold")));
        };
        secrets::register(&value);
        out.push_str(&text[rest..start]);
        let expanded_start = out.len();
        out.push_str(&escape(&value));
        replacements.push((start..end, expanded_start..out.len()));
        vars.push((name.to_owned(), value));
        rest = end;
    }
    out.push_str(&text[rest..]);
    Ok(Expanded {
        text: out,
        replacements,
        vars,
    })
}

/// Escapes a value for the inside of a double-quoted TOML string.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            c if c.is_control() => escaped.push_str(&format!("\\u{:04X}", c as u32)),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("ab\"c\\d".into()),
            "HOST" => Some("api.example".into()),
            _ => None,
        }
    }

    #[test]
    fn replaces_and_maps_positions_back() {
        let text = r#"url = "https://${env.HOST}/x"
token = "${env.TOKEN}""#;
        let expanded = expand(text, lookup).unwrap();
        assert_eq!(
            expanded.text,
            "url = \"https://api.example/x\"\ntoken = \"ab\\\"c\\\\d\""
        );
        let token_at = expanded.text.find("token").unwrap();
        assert_eq!(expanded.original(token_at), text.find("token").unwrap());
        let inside = expanded.text.find("api.example").unwrap() + 3;
        assert_eq!(expanded.original(inside), text.find("${env.HOST}").unwrap());
    }

    #[test]
    fn an_unset_variable_is_an_error_naming_it() {
        let problem = expand("a = \"${env.NOPE}\"", lookup).err().unwrap();
        assert_eq!(
            problem.message,
            "the environment variable `NOPE` is not set"
        );
        assert_eq!(problem.span, 5..16);
        assert!(expand("a = \"${env.9x}\"", lookup).is_err());
    }
}
