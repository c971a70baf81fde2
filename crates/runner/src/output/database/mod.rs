//! `[output] url`: each run's result as rows of SQL tables, where dashboards (Grafana,
//! Metabase, Superset) read it: a row of `{prefix}runs` a run, a row of `{prefix}values` a
//! value, in SQLite or PostgreSQL.
//!
//! A run's rows are written after it has finished, in one transaction, so that a failed or
//! interrupted run writes nothing and a reader never sees half a run; writing a run id again
//! replaces its rows. Transient errors are retried; a database that stays down leaves the
//! run's [`RunRecord`] in the job's state folder ([`pending`]), written first by its next run.
//!
//! [`Writer`] is the one way in: the tracked run calls [`pending::deliver`] with its record,
//! and so will a `merge` of shards (one record for the merged result, written once).
//!
//! ```no_run
//! use pagefold::output::database::{DatabaseSpec, DatabaseUrl, RunRecord, TablePrefix, Writer};
//!
//! /// Writes a finished run's rows beside the job file, in `jobs/results.db`.
//! fn keep(record: &RunRecord) {
//!     let spec = DatabaseSpec {
//!         url: DatabaseUrl::parse("sqlite://results.db", std::path::Path::new("jobs")).unwrap(),
//!         prefix: TablePrefix::default(),
//!     };
//!     let mut writer = Writer::new(&spec);
//!     writer.write(record).expect("written");
//! }
//! ```

mod error;
pub mod pending;
mod postgres;
mod postgres_url;
mod prefix;
mod record;
pub mod schema;
mod sqlite;
mod url;

use std::time::{Duration, Instant};

pub use error::UrlError;
pub use error::{Cause, DatabaseError};
pub use postgres_url::{PostgresUrl, SslMode};
pub use prefix::TablePrefix;
pub use record::{RunRecord, ValueRow};
pub use url::DatabaseUrl;

use schema::Tables;

/// The environment variable that sets the first pause between attempts (a duration such as
/// `500ms`, the default; each pause doubles), e.g. `0s` in tests.
pub const BACKOFF_ENV: &str = "PAGEFOLD_DATABASE_BACKOFF";

/// Attempts at one write before it fails: the first and three retries (pauses of 0.5 s, 1 s
/// and 2 s by default).
pub const ATTEMPTS: u32 = 4;

/// `[output] url` and `table_prefix`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSpec {
    /// The database.
    pub url: DatabaseUrl,
    /// What the tables' names start with.
    pub prefix: TablePrefix,
}

enum Connection {
    Sqlite(sqlite::Sqlite),
    // Boxed: a client is larger than a SQLite connection, and there is one a writer.
    Postgres(Box<postgres::Postgres>),
}

/// Writes runs to one database, connecting when first needed and again after an error;
/// each [`Writer::write`] retries what may pass on a second try.
pub struct Writer<'a> {
    spec: &'a DatabaseSpec,
    connection: Option<Connection>,
    backoff: Duration,
}

impl<'a> Writer<'a> {
    /// A writer to `spec`'s database; nothing is opened yet.
    pub fn new(spec: &'a DatabaseSpec) -> Self {
        let backoff = std::env::var(BACKOFF_ENV)
            .ok()
            .and_then(|text| humantime::parse_duration(&text).ok())
            .unwrap_or(Duration::from_millis(500));
        Self {
            spec,
            connection: None,
            backoff,
        }
    }

    /// Writes `record`'s rows in one transaction, replacing those of its run id, with up to
    /// [`ATTEMPTS`] attempts while the errors are transient.
    ///
    /// # Errors
    ///
    /// The last attempt's error, with the attempts and the time they took.
    pub fn write(&mut self, record: &RunRecord) -> Result<(), DatabaseError> {
        let started = Instant::now();
        let mut pause = self.backoff;
        let mut attempt = 1;
        loop {
            match self.attempt(record) {
                Ok(()) => return Ok(()),
                Err(cause) => {
                    // A connection that failed once is not trusted again.
                    self.connection = None;
                    if !cause.transient() || attempt == ATTEMPTS {
                        return Err(DatabaseError {
                            url: self.spec.url.shown(),
                            run_id: record.run_id.clone(),
                            attempts: attempt,
                            elapsed: started.elapsed(),
                            cause: Box::new(cause),
                        });
                    }
                    tracing::info!(
                        attempt,
                        "writing run {} to the database failed, trying again in {pause:?}: {cause}",
                        record.run_id
                    );
                    std::thread::sleep(pause);
                    pause *= 2;
                    attempt += 1;
                }
            }
        }
    }

    fn attempt(&mut self, record: &RunRecord) -> Result<(), Cause> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(self.open()?),
        };
        match connection {
            Connection::Sqlite(sqlite) => sqlite.write(record),
            Connection::Postgres(postgres) => postgres.write(record),
        }
    }

    fn open(&self) -> Result<Connection, Cause> {
        let tables = Tables::new(&self.spec.prefix);
        Ok(match &self.spec.url {
            DatabaseUrl::Sqlite { path } => Connection::Sqlite(sqlite::Sqlite::open(path, tables)?),
            DatabaseUrl::Postgres(url) => {
                Connection::Postgres(Box::new(postgres::Postgres::connect(url, tables)?))
            }
        })
    }
}
