//! What of a page's body shows in an error: a short excerpt, always redacted before it is
//! cut, and GraphQL's error messages.

use crate::{PageFailure, Secrets};

/// A GraphQL `errors` array that is not empty, as a failure naming its messages; rate limits
/// (GitHub's `RATE_LIMITED`, "rate limit" in a message) may pass and are retried.
pub(crate) fn graphql_errors(errors: &str, secrets: &Secrets) -> Result<(), PageFailure> {
    let Ok(errors) = serde_json::from_str::<Vec<serde_json::Value>>(errors) else {
        return Ok(());
    };
    if errors.is_empty() {
        return Ok(());
    }
    let mut rate_limited = false;
    let messages: Vec<String> = errors
        .iter()
        .map(|error| {
            let message = error
                .get("message")
                .and_then(serde_json::Value::as_str)
                .map_or_else(|| error.to_string(), str::to_owned);
            let kind = error.get("type").and_then(serde_json::Value::as_str);
            rate_limited |=
                kind == Some("RATE_LIMITED") || message.to_ascii_lowercase().contains("rate limit");
            message
        })
        .collect();
    let shown = secrets.redact(&messages.join("; ")).into_owned();
    Err(PageFailure::GraphQl {
        messages: shown.chars().take(300).collect(),
        rate_limited,
    })
}

/// What a JSON value (one found where records were expected) is, and its start.
pub(crate) fn describe(raw: &str, secrets: &Secrets) -> String {
    let text = secrets
        .redact(&raw[..raw.len().min(EXCERPT_READ)])
        .into_owned();
    let kind = match text.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    };
    let shown: String = text.chars().take(40).collect();
    let more = if shown.len() < text.len() { "…" } else { "" };
    format!("{kind} `{shown}{more}`")
}

/// The first bytes of a body, for error messages.
pub(crate) fn body_start(body: &[u8], secrets: &Secrets) -> String {
    // Redacted before it is cut: a cut first could leave most of a secret in the excerpt.
    let read = &body[..body.len().min(EXCERPT_READ)];
    let text = String::from_utf8_lossy(read);
    let text = secrets.redact(&text);
    let mut shown: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(EXCERPT_CHARS)
        .collect();
    if text
        .chars()
        .filter(|c| !c.is_control())
        .nth(EXCERPT_CHARS)
        .is_some()
        || body.len() > EXCERPT_READ
    {
        shown.push('…');
    }
    shown
}

/// Characters of a body shown in an error.
const EXCERPT_CHARS: usize = 60;
/// Bytes of a body read for an excerpt: far more than it shows, so that a secret near its end
/// is redacted whole.
const EXCERPT_READ: usize = 4096;

/// Where the records might be when they are not where the job says: the arrays of objects in
/// the page (the body itself when it is one), largest first, as ` (the page's array of 20
/// objects is at `/items`: records = "/items"?)`; empty when there is none to suggest.
pub(crate) fn records_suggestion(body: &str) -> String {
    fn walk(value: &serde_json::Value, at: String, depth: usize, into: &mut Vec<(usize, String)>) {
        // Records sit near the top; a deep walk would only find nested details.
        if depth > 6 {
            return;
        }
        match value {
            serde_json::Value::Array(items) if items.first().is_some_and(|v| v.is_object()) => {
                into.push((items.len(), at));
            }
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let token = key.replace('~', "~0").replace('/', "~1");
                    walk(value, format!("{at}/{token}"), depth + 1, into);
                }
            }
            _ => {}
        }
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    let mut arrays = Vec::new();
    walk(&value, String::new(), 0, &mut arrays);
    arrays.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    match arrays.as_slice() {
        [] => String::new(),
        [(len, at), rest @ ..] => format!(
            "; the page's {}array of {len} object{} is at `{at}`: records = \"{at}\"?",
            if rest.is_empty() { "" } else { "largest " },
            if *len == 1 { "" } else { "s" }
        ),
    }
}
