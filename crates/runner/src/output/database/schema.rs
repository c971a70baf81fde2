//! The tables, versioned: each version is a step of SQL from the one before, applied in
//! order by pagefold itself the first time it writes to a database (in a transaction, under
//! a lock, so that several processes starting at once apply each step once). The
//! `{prefix}schema` table lists the versions applied.
//!
//! A step is never edited once released: a change is a new step. A database of a newer
//! version than this pagefold knows is refused, not written.
//!
//! * Version 1: `{prefix}runs` (one row a run, keyed by job and run id) and
//!   `{prefix}values` (one row a value, in long form).
//! * Version 2: indexes for the dashboards' queries (a reducer over time) and for replacing
//!   a run's rows by its id.

use super::prefix::TablePrefix;

/// The version this pagefold writes.
pub const CURRENT: u32 = 2;

/// Which SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.
    Sqlite,
    /// PostgreSQL 11 and later.
    Postgres,
}

/// The tables' names, quoted for SQL (the prefix is a plain identifier: see
/// [`TablePrefix`]).
#[derive(Debug, Clone)]
pub struct Tables {
    /// `"{prefix}runs"`.
    pub runs: String,
    /// `"{prefix}values"`.
    pub values: String,
    /// `"{prefix}schema"`.
    pub schema: String,
    prefix: String,
}

impl Tables {
    /// The names for `prefix`.
    pub fn new(prefix: &TablePrefix) -> Self {
        let prefix = prefix.as_str();
        Self {
            runs: format!("\"{prefix}runs\""),
            values: format!("\"{prefix}values\""),
            schema: format!("\"{prefix}schema\""),
            prefix: prefix.to_owned(),
        }
    }

    /// The schema table, created if missing: the first statement of every migration.
    pub fn schema_table(&self, dialect: Dialect) -> String {
        let time = match dialect {
            Dialect::Sqlite => "TEXT",
            Dialect::Postgres => "timestamptz",
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {} (version integer PRIMARY KEY, applied {time} NOT NULL, \
             pagefold text NOT NULL)",
            self.schema
        )
    }

    /// The statements that take the tables from `version - 1` to `version`.
    ///
    /// # Panics
    ///
    /// For a version that is not from 1 to [`CURRENT`].
    pub fn step(&self, dialect: Dialect, version: u32) -> Vec<String> {
        let Self {
            runs,
            values,
            prefix,
            ..
        } = self;
        let sqlite = dialect == Dialect::Sqlite;
        match version {
            1 => {
                let (time, int, json) = if sqlite {
                    ("TEXT", "INTEGER", "TEXT")
                } else {
                    ("timestamptz", "bigint", "jsonb")
                };
                // SQLite keeps a number's exact text beside a REAL; PostgreSQL's NUMERIC is
                // exact itself.
                let value = if sqlite {
                    "value REAL, value_exact TEXT"
                } else {
                    "value numeric"
                };
                vec![
                    format!(
                        "CREATE TABLE IF NOT EXISTS {runs} (job text NOT NULL, run_id text NOT NULL, \
                         triggered_by text NOT NULL, scheduled_for {time}, started {time} NOT NULL, \
                         ended {time} NOT NULL, status text NOT NULL, pages {int} NOT NULL, \
                         records {int} NOT NULL, requests {int} NOT NULL, retries {int} NOT NULL, \
                         warnings {json} NOT NULL, result {json} NOT NULL, PRIMARY KEY (job, run_id))"
                    ),
                    format!(
                        "CREATE TABLE IF NOT EXISTS {values} (job text NOT NULL, run_id text NOT NULL, \
                         reducer text NOT NULL, key text NOT NULL, rank {int}, {value}, \
                         value_json {json})"
                    ),
                ]
            }
            2 => vec![
                format!(
                    "CREATE INDEX IF NOT EXISTS \"{prefix}values_run\" ON {values} (job, run_id)"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS \"{prefix}values_reducer\" ON {values} (job, reducer, key)"
                ),
                format!("CREATE INDEX IF NOT EXISTS \"{prefix}runs_ended\" ON {runs} (job, ended)"),
            ],
            other => panic!("no schema version {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every version applies on the one before, in SQLite (PostgreSQL: the integration tests).
    #[test]
    fn each_step_applies_on_the_one_before() {
        let tables = Tables::new(&TablePrefix::parse("t_").unwrap());
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        connection
            .execute_batch(&tables.schema_table(Dialect::Sqlite))
            .unwrap();
        for version in 1..=CURRENT {
            for statement in tables.step(Dialect::Sqlite, version) {
                connection.execute_batch(&statement).unwrap();
            }
        }
        let indexes: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 't_%'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 3);
    }
}
