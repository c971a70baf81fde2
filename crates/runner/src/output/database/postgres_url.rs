//! A PostgreSQL URL: its parts, what `PG*` fills in at connect time, `sslmode`, and the
//! password hidden wherever the URL is shown.

use std::time::Duration;

use super::error::UrlError;
use crate::secrets;

/// A PostgreSQL URL's parts; what it leaves out is read from `PG*` at connect time.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    password: Option<String>,
    database: Option<String>,
    sslmode: Option<SslMode>,
    connect_timeout: Option<Duration>,
    application_name: Option<String>,
    options: Option<String>,
    /// The URL as written, its password replaced by `****`.
    shown: String,
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password, not even in a debug print.
        f.debug_tuple("PostgresUrl").field(&self.shown).finish()
    }
}

/// `sslmode`, as far as this client goes: TLS through rustls, whose certificate check is
/// always on (against the bundled web PKI roots, with the host name), so `require` checks
/// as much as libpq's `verify-full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise (`allow` and `prefer`; the default).
    Prefer,
    /// TLS or no connection (`require`, `verify-ca`, `verify-full`).
    Require,
}

/// The query parameters a PostgreSQL URL may have.
const PARAMETERS: &[&str] = &[
    "sslmode",
    "connect_timeout",
    "application_name",
    "options",
    "host",
    "port",
    "user",
    "password",
    "dbname",
];

impl PostgresUrl {
    pub(super) fn parse(text: &str) -> Result<Self, UrlError> {
        let url = url::Url::parse(text).map_err(|error| UrlError {
            message: format!("not a PostgreSQL URL: {error}"),
            hint: "write `postgres://user@host:5432/database`; percent-encode `@`, `:` and `/` \
                   in a password (`%40`, `%3A`, `%2F`)"
                .into(),
        })?;
        let decode = |part: &str| {
            percent_decode(part).ok_or_else(|| UrlError {
                message: format!(
                    "`{}` is not valid percent-encoded UTF-8",
                    secrets::redact(part)
                ),
                hint: "percent-encode each byte of a special character, e.g. `%40` for `@`".into(),
            })
        };
        let mut parsed = Self {
            host: url
                .host_str()
                .filter(|host| !host.is_empty())
                .map(decode)
                .transpose()?,
            port: url.port(),
            user: Some(url.username())
                .filter(|user| !user.is_empty())
                .map(decode)
                .transpose()?,
            password: url.password().map(decode).transpose()?,
            database: Some(url.path().trim_start_matches('/'))
                .filter(|path| !path.is_empty())
                .map(decode)
                .transpose()?,
            sslmode: None,
            connect_timeout: None,
            application_name: None,
            options: None,
            shown: String::new(),
        };
        for (name, value) in url.query_pairs() {
            let value = value.into_owned();
            match name.as_ref() {
                "sslmode" => parsed.sslmode = Some(SslMode::parse(&value)?),
                "connect_timeout" => parsed.connect_timeout = Some(seconds(&value)?),
                "application_name" => parsed.application_name = Some(value),
                "options" => parsed.options = Some(value),
                "host" => parsed.host = Some(value),
                "port" => {
                    parsed.port = Some(value.parse().map_err(|_| UrlError {
                        message: format!("`port={value}` is not a port number"),
                        hint: "a port is a whole number from 1 to 65535".into(),
                    })?);
                }
                "user" => parsed.user = Some(value),
                "password" => parsed.password = Some(value),
                "dbname" => parsed.database = Some(value),
                other => {
                    return Err(UrlError {
                        message: format!("unknown PostgreSQL URL parameter `{other}`"),
                        hint: format!(
                            "the parameters understood are {}",
                            PARAMETERS
                                .iter()
                                .map(|name| format!("`{name}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        if let Some(password) = &parsed.password {
            secrets::register_credential(password);
        }
        let mut shown = url.clone();
        if url.password().is_some() {
            let _ = shown.set_password(Some("****"));
        }
        parsed.shown = mask_password_parameter(shown.as_str());
        Ok(parsed)
    }

    /// The URL as written, its password as `****`.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The client's configuration: the URL's values, then `PG*` from `env`, then the
    /// defaults (`localhost`, 5432, the user `$USER`, the database named as the user,
    /// `sslmode=prefer`, a 10 s connect timeout). A password from `PGPASSWORD` is
    /// registered as a credential.
    pub fn config(&self, env: impl Fn(&str) -> Option<String>) -> (postgres::Config, SslMode) {
        let from_env = |name: &str| env(name).filter(|value| !value.is_empty());
        let mut config = postgres::Config::new();
        let host = self
            .host
            .clone()
            .or_else(|| from_env("PGHOST"))
            .unwrap_or_else(|| "localhost".into());
        config.host(&host);
        let port = self
            .port
            .or_else(|| from_env("PGPORT").and_then(|port| port.parse().ok()))
            .unwrap_or(5432);
        config.port(port);
        let user = self
            .user
            .clone()
            .or_else(|| from_env("PGUSER"))
            .or_else(|| from_env("USER"))
            .unwrap_or_else(|| "postgres".into());
        config.user(&user);
        if let Some(password) = self.password.clone().or_else(|| from_env("PGPASSWORD")) {
            secrets::register_credential(&password);
            config.password(password);
        }
        let database = self
            .database
            .clone()
            .or_else(|| from_env("PGDATABASE"))
            .unwrap_or(user);
        config.dbname(&database);
        let sslmode = self
            .sslmode
            .or_else(|| from_env("PGSSLMODE").and_then(|mode| SslMode::parse(&mode).ok()))
            .unwrap_or(SslMode::Prefer);
        config.ssl_mode(match sslmode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require => postgres::config::SslMode::Require,
        });
        let timeout = self
            .connect_timeout
            .or_else(|| from_env("PGCONNECT_TIMEOUT").and_then(|value| seconds(&value).ok()))
            .unwrap_or(Duration::from_secs(10));
        config.connect_timeout(timeout);
        config.application_name(
            self.application_name
                .clone()
                .or_else(|| from_env("PGAPPNAME"))
                .as_deref()
                .unwrap_or("pagefold"),
        );
        if let Some(options) = self.options.clone().or_else(|| from_env("PGOPTIONS")) {
            config.options(&options);
        }
        (config, sslmode)
    }
}

impl SslMode {
    fn parse(text: &str) -> Result<Self, UrlError> {
        match text {
            "disable" => Ok(Self::Disable),
            "allow" | "prefer" => Ok(Self::Prefer),
            "require" | "verify-ca" | "verify-full" => Ok(Self::Require),
            other => Err(UrlError {
                message: format!("unknown `sslmode={other}`"),
                hint: "use `disable`, `prefer` (the default) or `require`; TLS always checks \
                       the server's certificate"
                    .into(),
            }),
        }
    }
}

fn seconds(text: &str) -> Result<Duration, UrlError> {
    text.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| UrlError {
            message: format!("`connect_timeout={text}` is not a number of seconds"),
            hint: "write whole seconds, e.g. `connect_timeout=10`".into(),
        })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn mask_password_parameter(url: &str) -> String {
    let Some((before, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => "password=****".to_owned(),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{before}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::output::database::DatabaseUrl;

    fn postgres(text: &str) -> PostgresUrl {
        match DatabaseUrl::parse(text, Path::new("jobs")).unwrap() {
            DatabaseUrl::Postgres(url) => url,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn postgres_urls_hide_their_password_and_fill_gaps_from_pg_variables() {
        let url =
            postgres("postgres://ann:p%40ss-w0rd-xyz@db.example:6543/metrics?sslmode=require");
        assert_eq!(
            url.shown,
            "postgres://ann:****@db.example:6543/metrics?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("p@ss"));
        let (config, sslmode) = url.config(|_| None);
        assert_eq!(sslmode, SslMode::Require);
        assert_eq!(config.get_user(), Some("ann"));
        assert_eq!(config.get_password(), Some(&b"p@ss-w0rd-xyz"[..]));
        assert_eq!(config.get_dbname(), Some("metrics"));
        assert_eq!(config.get_ports(), [6543]);

        let url = postgres("postgresql:///?connect_timeout=3");
        let env = |name: &str| match name {
            "PGHOST" => Some("10.0.0.9".to_owned()),
            "PGPORT" => Some("5999".to_owned()),
            "PGUSER" => Some("bob".to_owned()),
            "PGSSLMODE" => Some("disable".to_owned()),
            _ => None,
        };
        let (config, sslmode) = url.config(env);
        assert_eq!(sslmode, SslMode::Disable);
        assert_eq!(config.get_ports(), [5999]);
        assert_eq!(config.get_user(), Some("bob"));
        assert_eq!(config.get_dbname(), Some("bob"), "the user's database");
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(3)));

        let url = postgres("postgres://h/d?password=hunter2-secret&sslmode=disable");
        assert_eq!(url.shown, "postgres://h/d?password=****&sslmode=disable");
    }

    #[test]
    fn bad_parameters_and_modes_are_named() {
        let error = DatabaseUrl::parse("postgres://h/d?sslmod=require", Path::new("")).unwrap_err();
        assert_eq!(error.message, "unknown PostgreSQL URL parameter `sslmod`");
        let error = DatabaseUrl::parse("postgres://h/d?sslmode=on", Path::new("")).unwrap_err();
        assert_eq!(error.message, "unknown `sslmode=on`");
    }
}
