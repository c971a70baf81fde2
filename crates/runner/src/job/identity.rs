//! Which `${env.NAME}` values shape a job's data, for its [`Identity`]: every one used under
//! `[source]`, `[child]` or `[[reduce]]`, except where it is only a credential (`auth`, a
//! credential header, a secret query parameter).

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::env::Expanded;
use super::source::SECRET_PARAMS;
use crate::identity::Identity;
use crate::secrets::is_credential_header;

/// The identity of a job whose file reads `original` and, expanded, `expanded`.
pub(crate) fn identity_of(original: &str, expanded: &Expanded) -> Identity {
    let mut leaves = Vec::new();
    if let Ok(document) = DeTable::parse(&expanded.text) {
        walk_table(document.get_ref(), &mut Vec::new(), &mut leaves);
    }
    let secret_params = secret_params(&leaves);
    let mut shaping = Vec::new();
    for (span, name, value) in expanded.replacements() {
        let place = leaves
            .iter()
            .find(|leaf| leaf.span.start <= span.start && span.end <= leaf.span.end);
        let shapes = place.is_some_and(|leaf| {
            shapes_data(&leaf.path)
                && !is_credential(leaf, span.start, &expanded.text, &secret_params)
        });
        if shapes {
            shaping.push((name.to_owned(), value.to_owned()));
        }
    }
    Identity::new(original, shaping)
}

/// A string in the document: where it is and what it is under.
struct Leaf {
    path: Vec<String>,
    span: Range<usize>,
    text: String,
}

fn walk_table(table: &DeTable<'_>, path: &mut Vec<String>, leaves: &mut Vec<Leaf>) {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        walk_value(value, path, leaves);
        path.pop();
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, path: &mut Vec<String>, leaves: &mut Vec<Leaf>) {
    match value.get_ref() {
        DeValue::String(text) => leaves.push(Leaf {
            path: path.clone(),
            span: value.span(),
            text: text.to_string(),
        }),
        DeValue::Table(table) => walk_table(table, path, leaves),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(index.to_string());
                walk_value(item, path, leaves);
                path.pop();
            }
        }
        // `${env.…}` lands in strings; a number or a date written with it is a string then.
        _ => leaves.push(Leaf {
            path: path.clone(),
            span: value.span(),
            text: String::new(),
        }),
    }
}

/// The job's secret query parameter names: the usual ones and those of `secret_params` and
/// of query auth.
fn secret_params(leaves: &[Leaf]) -> Vec<String> {
    let mut names: Vec<String> = SECRET_PARAMS.iter().map(|p| (*p).to_owned()).collect();
    for leaf in leaves {
        let path: Vec<&str> = leaf.path.iter().map(String::as_str).collect();
        if matches!(
            path.as_slice(),
            [_, "secret_params", _] | [_, "auth", "param"]
        ) {
            names.push(leaf.text.clone());
        }
    }
    names
}

/// Whether a value at `path` decides what is fetched or how it is folded.
fn shapes_data(path: &[String]) -> bool {
    matches!(
        path.first().map(String::as_str),
        Some("source" | "child" | "reduce")
    )
}

/// Whether the value at `at` (in the expanded text) inside `leaf` is only a credential.
fn is_credential(leaf: &Leaf, at: usize, text: &str, secret_params: &[String]) -> bool {
    let path: Vec<&str> = leaf.path.iter().map(String::as_str).collect();
    let is_secret_param = |key: &str| secret_params.iter().any(|p| p.eq_ignore_ascii_case(key));
    match path.as_slice() {
        [_, "auth", ..] => true,
        [_, "headers", name] => is_credential_header(name),
        [_, "query", key] => is_secret_param(key),
        [_, "url"] => {
            // `?api_key=${env.KEY}` in the URL itself: the parameter before the value.
            let before = text.get(leaf.span.start..at).unwrap_or("");
            before
                .rfind(['?', '&'])
                .and_then(|start| before[start + 1..].split_once('='))
                .is_some_and(|(key, value)| value.is_empty() && is_secret_param(key))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKey;

    fn shaping(text: &str) -> Vec<String> {
        let lookup = |name: &str| Some(format!("value-of-{name}"));
        let expanded = super::super::env::expand(text, lookup).unwrap();
        identity_of(text, &expanded)
            .shaping_names()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn values_that_shape_the_data_count_and_credentials_do_not() {
        let text = r#"
name = "${env.NAME}"
[source]
url = "https://${env.HOST}/x?status=${env.STATUS}&api_key=${env.KEY}"
query = { region = "${env.REGION}", token = "${env.QTOKEN}" }
headers = { Authorization = "Bearer ${env.BEARER}", X-Tenant = "${env.TENANT}" }
[source.auth]
kind = "bearer"
token = "${env.TOKEN}"
[output]
path = "${env.OUT}/x.json"
[[reduce]]
use = "sum"
field = "/${env.FIELD}"
"#;
        assert_eq!(
            shaping(text),
            ["FIELD", "HOST", "REGION", "STATUS", "TENANT"]
        );
    }

    #[test]
    fn a_variable_used_as_a_credential_and_as_data_counts() {
        let text = "[source]\nurl = \"https://h/${env.T}\"\n[source.auth]\nkind = \"bearer\"\ntoken = \"${env.T}\"\n";
        assert_eq!(shaping(text), ["T"]);
        let dir = tempfile::tempdir().unwrap();
        let key = IdentityKey::in_folder(dir.path()).unwrap();
        let lookup = |_: &str| Some("x".to_owned());
        let expanded = super::super::env::expand(text, lookup).unwrap();
        assert_eq!(identity_of(text, &expanded).fingerprint(&key).env.len(), 1);
    }
}
