//! `[output] url`: which database, parsed once when the job is loaded, and shown everywhere
//! with its password hidden.
//!
//! * `sqlite://results.db`, `sqlite://out/results.db`: a file relative to the job file's
//!   folder (as `path` is); `sqlite:///var/lib/pagefold/results.db`: an absolute one.
//! * `postgres://user:password@host:port/database?sslmode=…` (or `postgresql://`): what the
//!   URL leaves out comes from the usual `PG*` environment variables, as `psql` takes them
//!   (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`,
//!   `PGCONNECT_TIMEOUT`, `PGAPPNAME`, `PGOPTIONS`), read when the run connects.

use std::path::{Path, PathBuf};

use super::error::UrlError;
use super::postgres_url::PostgresUrl;
use crate::secrets;

/// A database URL, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite {
        /// The file (the job file's folder joined to a relative path).
        path: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres(PostgresUrl),
}

const FORMS: &str = "write `sqlite://results.db` (a file beside the job file) or \
                     `postgres://user@host/database` (a password through `${env.…}`)";

impl DatabaseUrl {
    /// Parses `text`; a relative SQLite path is relative to `base` (the job file's folder).
    /// A password in the URL is registered as a credential: it never shows.
    ///
    /// # Errors
    ///
    /// An unknown scheme, an empty SQLite path, a PostgreSQL URL that does not parse, an
    /// unknown parameter or `sslmode`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, UrlError> {
        let error = |message: String| UrlError {
            message,
            hint: FORMS.into(),
        };
        if let Some(rest) = text.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err(error("`sqlite://` names no file".into()));
            }
            return Ok(Self::Sqlite {
                path: base.join(rest),
            });
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return PostgresUrl::parse(text).map(Self::Postgres);
        }
        let scheme = text.split_once(':').map_or(text, |(scheme, _)| scheme);
        Err(error(format!(
            "`{}` is not a database pagefold writes to",
            secrets::redact(scheme)
        )))
    }

    /// The URL for messages: a PostgreSQL password as `****`, a SQLite file as its path.
    pub fn shown(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => url.shown().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_relative_to_the_job_file() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://out/results.db", Path::new("jobs")).unwrap(),
            DatabaseUrl::Sqlite {
                path: PathBuf::from("jobs/out/results.db")
            }
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/r.db", Path::new("jobs")).unwrap(),
            DatabaseUrl::Sqlite {
                path: PathBuf::from("/var/r.db")
            }
        );
        assert!(DatabaseUrl::parse("sqlite://", Path::new("jobs")).is_err());
        assert!(DatabaseUrl::parse("mysql://x/y", Path::new("jobs")).is_err());
    }
}
