//! The job's URL: an absolute `http` or `https` URL with a host, checked as it is read.

use serde::{Deserialize, Deserializer};
use url::Url;

/// An absolute `http` or `https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub Url);

impl schemars::JsonSchema for HttpUrl {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HttpUrl".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // `${env.…}` may stand for the scheme and host: only checked when the job is loaded.
        schemars::json_schema!({
            "type": "string",
            "description": "An absolute http or https URL (`${env.NAME}` is filled in first)."
        })
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let url = Url::parse(&text)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(serde::de::Error::custom(format!(
                "`{text}` is not an http or https URL (the scheme is `{}`)",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(serde::de::Error::custom(format!("`{text}` has no host")));
        }
        Ok(Self(url))
    }
}
