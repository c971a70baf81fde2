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
        let hides_credentials = !url.username().is_empty() || url.password().is_some();
        let is_secret = |key: &str| secret_params.iter().any(|s| s.eq_ignore_ascii_case(key));
        // Keys decoded before they are compared: `api%5Fkey` is `api_key` too.
        let hides_params =
            !secret_params.is_empty() && url.query_pairs().any(|(key, _)| is_secret(&key));
        if !hides_credentials && !hides_params {
            // Nothing to hide: the URL as it is (every page's URL comes this way, so the
            // common case does no more than take the text).
            return Self { shown: url.into() };
        }
        let mut shown = url;
        // Tokens travel as user names too (`https://TOKEN@host`, Stripe's `sk_…:`).
        if !shown.username().is_empty() {
            let _ = shown.set_username("****");
        }
        if shown.password().is_some() {
            let _ = shown.set_password(Some("****"));
        }
        if hides_params {
            let pairs: Vec<(String, String)> = shown
                .query_pairs()
                .map(|(key, value)| {
                    let value = if is_secret(&key) {
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

#[cfg(test)]
mod tests {
    use super::SafeUrl;

    fn shown(url: &str, secret_params: &[&str]) -> String {
        let secrets: Vec<String> = secret_params.iter().map(|s| (*s).to_owned()).collect();
        SafeUrl::new(url.parse().unwrap(), &secrets).to_string()
    }

    #[test]
    fn a_url_with_nothing_to_hide_is_shown_as_it_is() {
        let url = "https://api.example/orders?page=2&per_page=50&q=a%20b";
        assert_eq!(shown(url, &["api_key", "token"]), url);
        assert_eq!(shown(url, &[]), url);
    }

    #[test]
    fn secret_params_are_hidden_however_their_keys_are_written() {
        assert_eq!(
            shown("https://api.example/x?page=2&API_KEY=s3cret", &["api_key"]),
            "https://api.example/x?page=2&API_KEY=****"
        );
        // A percent-encoded key is the same key.
        let encoded = shown(
            "https://api.example/x?api%5Fkey=s3cret&page=2",
            &["api_key"],
        );
        assert!(!encoded.contains("s3cret"), "{encoded}");
        assert!(encoded.contains("page=2"), "{encoded}");
    }
}
