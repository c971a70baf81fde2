//! Writing to PostgreSQL: each run in one transaction, its values sent as arrays in one
//! statement (one round trip however many values), numbers bound as text and cast to
//! `numeric` by the server so that none is rounded on the way.

use std::sync::Arc;

use postgres::{Client, NoTls};

use super::error::Cause;
use super::postgres_url::{PostgresUrl, SslMode};
use super::record::RunRecord;
use super::schema::{CURRENT, Dialect, Tables};

/// A connection, its tables at the current version.
pub(super) struct Postgres {
    client: Client,
    tables: Tables,
    /// `host:port`, for messages.
    at: String,
}

/// TLS through rustls (with ring, as the fetcher has it), the server's certificate checked
/// against the bundled web PKI roots.
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

impl Postgres {
    /// Connects (the URL's values, then `PG*`) and brings the tables to the current version.
    pub(super) fn connect(url: &PostgresUrl, tables: Tables) -> Result<Self, Cause> {
        let (config, sslmode) = url.config(|name| std::env::var(name).ok());
        let at = match (config.get_hosts().first(), config.get_ports().first()) {
            (Some(postgres::config::Host::Tcp(host)), Some(port)) => format!("{host}:{port}"),
            (Some(postgres::config::Host::Unix(folder)), Some(port)) => {
                format!("{}/.s.PGSQL.{port}", folder.display())
            }
            _ => "?".into(),
        };
        let connected = match sslmode {
            SslMode::Disable => config.connect(NoTls),
            SslMode::Prefer | SslMode::Require => config.connect(tls()),
        };
        let client = connected.map_err(|error| Cause::Postgres {
            at: at.clone(),
            error,
        })?;
        let mut postgres = Self { client, tables, at };
        match postgres.migrate() {
            Ok(None) => Ok(postgres),
            Ok(Some(found)) => Err(Cause::NewerSchema {
                found,
                known: CURRENT,
            }),
            Err(error) => Err(postgres.cause(error)),
        }
    }

    fn cause(&self, error: postgres::Error) -> Cause {
        Cause::Postgres {
            at: self.at.clone(),
            error,
        }
    }

    /// Writes `record` in one transaction, replacing the rows of its run id.
    pub(super) fn write(&mut self, record: &RunRecord) -> Result<(), Cause> {
        self.write_rows(record).map_err(|error| self.cause(error))
    }

    /// Brings the tables to the current version; `Some(version)` when they are newer.
    fn migrate(&mut self) -> Result<Option<u32>, postgres::Error> {
        let mut transaction = self.client.transaction()?;
        // One migrating process at a time, per set of tables: `CREATE TABLE IF NOT EXISTS`
        // alone races with itself.
        transaction.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&self.tables.schema],
        )?;
        transaction.batch_execute(&self.tables.schema_table(Dialect::Postgres))?;
        let found: i32 = transaction
            .query_one(
                &format!(
                    "SELECT coalesce(max(version), 0) FROM {}",
                    self.tables.schema
                ),
                &[],
            )?
            .get(0);
        let found = found.max(0) as u32;
        if found > CURRENT {
            return Ok(Some(found));
        }
        for version in found + 1..=CURRENT {
            for statement in self.tables.step(Dialect::Postgres, version) {
                transaction.batch_execute(&statement)?;
            }
            transaction.execute(
                &format!(
                    "INSERT INTO {} (version, applied, pagefold) VALUES ($1, now(), $2)",
                    self.tables.schema
                ),
                &[&(version as i32), &env!("CARGO_PKG_VERSION")],
            )?;
        }
        transaction.commit()?;
        Ok(None)
    }

    fn write_rows(&mut self, record: &RunRecord) -> Result<(), postgres::Error> {
        let Tables { runs, values, .. } = &self.tables;
        let rows = record.rows();
        let reducers: Vec<&str> = rows.iter().map(|row| row.reducer.as_str()).collect();
        let keys: Vec<&str> = rows.iter().map(|row| row.key.as_str()).collect();
        let ranks: Vec<Option<i64>> = rows.iter().map(|row| row.rank).collect();
        let numbers: Vec<Option<&str>> = rows.iter().map(|row| row.number.as_deref()).collect();
        let jsons: Vec<Option<&str>> = rows.iter().map(|row| row.json.as_deref()).collect();
        let mut transaction = self.client.transaction()?;
        transaction.execute(
            &format!("DELETE FROM {values} WHERE job = $1 AND run_id = $2"),
            &[&record.job, &record.run_id],
        )?;
        transaction.execute(
            &format!("DELETE FROM {runs} WHERE job = $1 AND run_id = $2"),
            &[&record.job, &record.run_id],
        )?;
        transaction.execute(
            &format!(
                "INSERT INTO {runs} (job, run_id, triggered_by, scheduled_for, started, ended, \
                 status, pages, records, requests, retries, warnings, result) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb, \
                 $13::text::jsonb)"
            ),
            &[
                &record.job,
                &record.run_id,
                &record.trigger,
                &record.scheduled_for,
                &record.started,
                &record.ended,
                &record.status,
                &(record.pages as i64),
                &(record.records as i64),
                &(record.requests as i64),
                &(record.retries as i64),
                &record.warnings_json(),
                &record.result,
            ],
        )?;
        transaction.execute(
            &format!(
                "INSERT INTO {values} (job, run_id, reducer, key, rank, value, value_json) \
                 SELECT $1, $2, reducer, key, rank, value::numeric, value_json::jsonb \
                 FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[]) \
                 AS t(reducer, key, rank, value, value_json)"
            ),
            &[
                &record.job,
                &record.run_id,
                &reducers,
                &keys,
                &ranks,
                &numbers,
                &jsons,
            ],
        )?;
        transaction.commit()?;
        Ok(())
    }
}
