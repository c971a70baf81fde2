//! URLs that can be shown to a user without leaking secrets.

use std::fmt;

use url::Url;

/// A URL for errors, logs and progress: a password in it and the values of query parameters
/// that carry secrets are shown as `****`. Every URL pagefold prints goes through this type.
///
/// ```
/// use pagefold_fetch::SafeUrl;
///
/// let url = "https://me:hunter2@api.example/x?page=2&api_key=s3cret".parse().unwrap();
/// let safe = SafeUrl::new(url, &["api_key".to_owned()]);
/// assert_eq!(safe.to_string(), "https://****:****@api.example/x?page=2&api_key=****");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SafeUrl {
    shown: String,
}

impl SafeUrl {
    /// Redacts `url`, hiding the values of the `secret_params` query parameters.
    pub fn new(url: Url, secret_params: &[String]) -> Self {
        let mut shown = url;
        // Tokens travel as user names too (`https://TOKEN@host`, Stripe's `sk_…:`).
        if !shown.username().is_empty() {
            let _ = shown.set_username("****");
        }
        if shown.password().is_some() {
            let _ = shown.set_password(Some("****"));
        }
        if shown.query().is_some() && !secret_params.is_empty() {
            let pairs: Vec<(String, String)> = shown
                .query_pairs()
                .map(|(key, value)| {
                    let value = if secret_params.iter().any(|s| s.eq_ignore_ascii_case(&key)) {
                        "****".into()
                    } else {
                        value
                    };
                    (key.into_owned(), value.into_owned())
                })
                .collect();
            let mut serializer = shown.query_pairs_mut();
            serializer.clear();
            for (key, value) in &pairs {
                serializer.append_pair(key, value);
            }
            drop(serializer);
        }
        let shown = shown.as_str().replace("%2A%2A%2A%2A", "****");
        Self { shown }
    }

    /// The redacted URL as text.
    pub fn as_str(&self) -> &str {
        &self.shown
    }
}

impl fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafeUrl({})", self.shown)
    }
}
