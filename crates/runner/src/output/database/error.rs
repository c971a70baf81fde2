//! Why a run's rows could not be written, and whether trying again may help; and what is
//! wrong with a database URL.

use std::time::Duration;

/// What is wrong with a URL, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

/// A write that failed for good: after its retries, or at once when retrying cannot help.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write run `{run_id}` to `{url}` (tried {attempts} time{} in {:.1}s)",
    if *attempts == 1 { "" } else { "s" },
    elapsed.as_secs_f64()
)]
pub struct DatabaseError {
    /// The database, its password hidden.
    pub url: String,
    /// The run whose rows were being written.
    pub run_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// Time from the first attempt to the last failure.
    pub elapsed: Duration,
    /// The last attempt's error.
    #[source]
    pub cause: Box<Cause>,
}

/// What went wrong on one attempt.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// SQLite refused. (The error's own causes are in its message: not a source.)
    #[error("SQLite: {0}")]
    Sqlite(rusqlite::Error),
    /// PostgreSQL refused, or could not be reached.
    #[error("PostgreSQL at {at}: {}", postgres_message(error))]
    Postgres {
        /// The host and port connected to (the URL's, or `PG*`'s).
        at: String,
        /// What went wrong.
        error: postgres::Error,
    },
    /// The SQLite file's folder could not be made.
    #[error("cannot create the folder `{}`", path.display())]
    Folder {
        /// The folder.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The tables were made by a newer pagefold.
    #[error(
        "its tables are at schema version {found}, newer than this pagefold's ({known}); it \
         writes nothing rather than rows an upgraded reader would misread"
    )]
    NewerSchema {
        /// The database's version.
        found: u32,
        /// This pagefold's.
        known: u32,
    },
}

/// A PostgreSQL error with the server's own words (`db error` alone says nothing), or the
/// connection's.
fn postgres_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

impl From<rusqlite::Error> for Cause {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

impl Cause {
    /// Whether another attempt may succeed: the server unreachable or restarting, a lock or
    /// serialization conflict, a busy SQLite file. Not: a refused password, a missing
    /// database, a newer schema, a full disk.
    pub fn transient(&self) -> bool {
        match self {
            Self::Sqlite(rusqlite::Error::SqliteFailure(error, _)) => matches!(
                error.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            Self::Sqlite(_) | Self::Folder { .. } | Self::NewerSchema { .. } => false,
            Self::Postgres { error, .. } => match error.code() {
                Some(code) => {
                    let code = code.code();
                    // 08: connection exceptions; 40001/40P01: serialization failure and
                    // deadlock; 53300: too many connections; 57P01-57P03: shutting down or
                    // starting up.
                    code.starts_with("08")
                        || ["40001", "40P01", "53300", "57P01", "57P02", "57P03"].contains(&code)
                }
                // No SQLSTATE: the connection itself failed (refused, reset, timed out).
                None => true,
            },
        }
    }
}

impl DatabaseError {
    /// What to do.
    pub fn hint(&self) -> String {
        match self.cause.as_ref() {
            Cause::NewerSchema { .. } => {
                "upgrade pagefold, or set another `table_prefix` for this version's tables".into()
            }
            _ => "fix the database (or the `url`); the job's next run writes the kept results \
                  first, then its own"
                .into(),
        }
    }
}
