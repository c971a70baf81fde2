//! Values that must never be shown: tokens and passwords from the job (auth) and every value
//! that came from the environment. Everything pagefold prints passes through [`redact`].

use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Values shorter than this are not treated as secrets: hiding every `1` or `on` in every
/// message would hide more than it protects.
const SHORTEST: usize = 4;

/// Remembers `value` as a secret for the rest of the process, with the spelling it takes in
/// a URL.
pub fn register(value: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    if encoded != value {
        remember(&encoded);
    }
    remember(value);
}

fn remember(value: &str) {
    if value.len() >= SHORTEST {
        let mut secrets = SECRETS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !secrets.iter().any(|known| known == value) {
            secrets.push(value.to_owned());
            // Longest first, so that a secret containing another is hidden whole.
            secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
        }
    }
}

/// `text` with every registered secret replaced by `****`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut text = text.to_owned();
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "****");
        }
    }
    text
}

/// stderr, with secrets hidden: where the log lines go, so that not even `-vv` shows one.
pub struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The log formatter writes one whole line at a time.
        let text = redact(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_registered_values_but_not_tiny_ones() {
        register("s3cr3t-token");
        register("on");
        register("a+b/c=");
        assert_eq!(redact("Bearer s3cr3t-token, on"), "Bearer ****, on");
        assert_eq!(redact("?key=a%2Bb%2Fc%3D&x=1"), "?key=****&x=1");
    }
}
