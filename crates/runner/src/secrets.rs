//! Values that must never be shown: tokens and passwords from the job (auth), secret query
//! parameters and credential headers written in it, and every value that came from the
//! environment. Everything pagefold prints passes through [`redact`], and the fetcher redacts
//! error bodies with the same values ([`snapshot`]) before it cuts them to an excerpt.
//!
//! Credentials are hidden even in the result's values ([`redact_credentials`]), in case an
//! API echoes one into the records; other values from the environment (a `status` of `paid`)
//! are hidden in messages only, since hiding them in the data would change the result.

use std::sync::Mutex;

use pagefold_fetch::Secrets;

#[derive(Default)]
struct Registry {
    /// Every secret: credentials and values from the environment.
    all: Secrets,
    /// Credentials only.
    credentials: Secrets,
}

static SECRETS: Mutex<Option<Registry>> = Mutex::new(None);

fn with_registry<T>(action: impl FnOnce(&mut Registry) -> T) -> T {
    let mut registry = SECRETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    action(registry.get_or_insert_with(Registry::default))
}

/// Remembers `value` as a secret for the rest of the process, in every spelling a server or a
/// URL may give it (see [`Secrets`]): it never shows in a message.
pub fn register(value: &str) {
    with_registry(|registry| registry.all.add(value));
}

/// Remembers `value` as a credential: it never shows anywhere, not even in a result.
pub fn register_credential(value: &str) {
    with_registry(|registry| {
        registry.all.add(value);
        registry.credentials.add(value);
    });
}

/// The secrets known now, for the fetcher.
pub fn snapshot() -> Secrets {
    with_registry(|registry| registry.all.clone())
}

/// `text` with every registered secret replaced by `****`.
pub fn redact(text: &str) -> String {
    with_registry(|registry| registry.all.redact(text).into_owned())
}

/// `text` with every registered credential replaced by `****`.
pub fn redact_credentials(text: &str) -> String {
    with_registry(|registry| registry.credentials.redact(text).into_owned())
}

/// Whether a header of this name carries a credential (its value is then a secret, and not
/// part of the job's identity): `Authorization`, cookies, and names that speak of tokens,
/// keys, secrets, passwords or sessions.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "token",
        "key",
        "secret",
        "password",
        "cookie",
        "session",
        "signature",
    ]
    .iter()
    .any(|word| name.contains(word))
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
        assert!(snapshot().redact("x s3cr3t-token").contains("****"));
    }

    #[test]
    fn credential_headers_are_told_by_name() {
        for name in [
            "Authorization",
            "X-API-Key",
            "X-Auth-Token",
            "Cookie",
            "x-session-id",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in ["Accept", "X-Tenant", "User-Agent"] {
            assert!(!is_credential_header(name), "{name}");
        }
    }
}
