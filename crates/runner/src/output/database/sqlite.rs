//! Writing to a SQLite file: WAL mode and a busy timeout, so that several jobs and processes
//! share one file (readers never wait on a writer; writers take turns), and each run in one
//! `BEGIN IMMEDIATE` transaction.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};

use super::error::Cause;
use super::record::RunRecord;
use super::schema::{CURRENT, Dialect, Tables};

/// How long a writer waits for another process's transaction before it gives up (and the
/// attempt is retried).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// An open SQLite file, its tables at the current version.
pub(super) struct Sqlite {
    connection: Connection,
    tables: Tables,
}

/// Times as SQLite's date functions read them, in UTC to the millisecond.
fn time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Sqlite {
    /// Opens (and creates) the file and brings its tables to the current version.
    pub(super) fn open(path: &Path, tables: Tables) -> Result<Self, Cause> {
        if let Some(folder) = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
        {
            std::fs::create_dir_all(folder).map_err(|source| Cause::Folder {
                path: folder.to_owned(),
                source,
            })?;
        }
        let connection = Connection::open(path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // WAL is a property of the file: set once, it stays for every process.
        let _: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        let mut sqlite = Self { connection, tables };
        sqlite.migrate()?;
        Ok(sqlite)
    }

    fn migrate(&mut self) -> Result<(), Cause> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction.execute_batch(&self.tables.schema_table(Dialect::Sqlite))?;
        let found: u32 = transaction.query_row(
            &format!(
                "SELECT coalesce(max(version), 0) FROM {}",
                self.tables.schema
            ),
            [],
            |row| row.get(0),
        )?;
        if found > CURRENT {
            return Err(Cause::NewerSchema {
                found,
                known: CURRENT,
            });
        }
        for version in found + 1..=CURRENT {
            for statement in self.tables.step(Dialect::Sqlite, version) {
                transaction.execute_batch(&statement)?;
            }
            transaction.execute(
                &format!(
                    "INSERT INTO {} (version, applied, pagefold) VALUES (?1, ?2, ?3)",
                    self.tables.schema
                ),
                params![
                    version,
                    time(&chrono::Utc::now()),
                    env!("CARGO_PKG_VERSION")
                ],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Writes `record` in one transaction, replacing the rows of its run id.
    pub(super) fn write(&mut self, record: &RunRecord) -> Result<(), Cause> {
        let Tables { runs, values, .. } = &self.tables;
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = params![record.job, record.run_id];
        transaction.execute(
            &format!("DELETE FROM {values} WHERE job = ?1 AND run_id = ?2"),
            key,
        )?;
        transaction.execute(
            &format!("DELETE FROM {runs} WHERE job = ?1 AND run_id = ?2"),
            key,
        )?;
        transaction.execute(
            &format!(
                "INSERT INTO {runs} (job, run_id, triggered_by, scheduled_for, started, ended, \
                 status, pages, records, requests, retries, warnings, result) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            params![
                record.job,
                record.run_id,
                record.trigger,
                record.scheduled_for.as_ref().map(time),
                time(&record.started),
                time(&record.ended),
                record.status,
                record.pages as i64,
                record.records as i64,
                record.requests as i64,
                record.retries as i64,
                record.warnings_json(),
                record.result,
            ],
        )?;
        {
            let mut insert = transaction.prepare_cached(&format!(
                "INSERT INTO {values} (job, run_id, reducer, key, rank, value, value_exact, \
                 value_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?;
            for row in record.rows() {
                let real = row
                    .number
                    .as_deref()
                    .and_then(|text| text.parse::<f64>().ok());
                insert.execute(params![
                    record.job,
                    record.run_id,
                    row.reducer,
                    row.key,
                    row.rank,
                    real,
                    row.number,
                    row.json,
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }
}
