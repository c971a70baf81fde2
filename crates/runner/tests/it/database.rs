//! `[output] url`: each run's result as rows of SQLite and PostgreSQL tables, exactly the
//! result document (built-ins and plugins), written once a run has finished, never by a
//! failed or interrupted one, replaced when a run id is written again (`database_runs`), and
//! kept in the state folder while the database is down (`database_kept`).
//!
//! PostgreSQL is a real server made for this test binary ([`crate::postgres_server`]), one
//! database a test; without one, those tests print `SKIPPED:` and pass.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pagefold_demo_api::DemoConfig;
use serde_json::Value;

use crate::plugins::plugin;
use crate::postgres_server::PostgresServer;
use crate::support::{
    ALL_BUILTINS, Run, Workspace, assert_builtins, demo_server, orders, orders_job,
    pagefold_with_env,
};

/// The test binary's PostgreSQL server, started by the first test that asks; `None` (said
/// loudly) where there can be none.
pub(crate) fn postgres(test: &str) -> Option<&'static PostgresServer> {
    static SERVER: OnceLock<Result<PostgresServer, String>> = OnceLock::new();
    match SERVER.get_or_init(PostgresServer::start) {
        Ok(server) => Some(server),
        Err(why) => {
            eprintln!("SKIPPED: {test}: no PostgreSQL server for the tests: {why}");
            None
        }
    }
}

/// A database of the test's own on the shared server, and its URL.
pub(crate) fn postgres_database(server: &PostgresServer, name: &str) -> String {
    server.create_database(name);
    server.url(name)
}

/// A database under test, read back the way a dashboard would.
pub(crate) enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

/// A row of the runs table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunRow {
    pub job: String,
    pub run_id: String,
    pub triggered_by: String,
    pub status: String,
    pub pages: i64,
    pub records: i64,
    pub requests: i64,
    pub retries: i64,
    pub warnings: Value,
    pub result: Value,
}

/// A row of the values table, its value as the CSV output writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cell {
    pub run_id: String,
    pub reducer: String,
    pub key: String,
    pub rank: Option<i64>,
    pub value: String,
}

/// A JSON value as a CSV cell: strings bare, null empty.
fn cell(json: &Value) -> String {
    match json {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Db {
    fn postgres_client(url: &str) -> postgres::Client {
        postgres::Client::connect(url, postgres::NoTls).expect("the test server takes connections")
    }

    pub(crate) fn runs(&self, prefix: &str) -> Vec<RunRow> {
        let query = format!(
            "SELECT job, run_id, triggered_by, status, pages, records, requests, retries, \
             CAST(warnings AS text), CAST(result AS text) FROM {prefix}runs ORDER BY run_id"
        );
        let json = |text: String| serde_json::from_str::<Value>(&text).expect("JSON");
        match self {
            Db::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                let mut statement = connection.prepare(&query).unwrap();
                statement
                    .query_map([], |row| {
                        Ok(RunRow {
                            job: row.get(0)?,
                            run_id: row.get(1)?,
                            triggered_by: row.get(2)?,
                            status: row.get(3)?,
                            pages: row.get(4)?,
                            records: row.get(5)?,
                            requests: row.get(6)?,
                            retries: row.get(7)?,
                            warnings: json(row.get(8)?),
                            result: json(row.get(9)?),
                        })
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Db::Postgres(url) => Self::postgres_client(url)
                .query(&query, &[])
                .unwrap()
                .iter()
                .map(|row| RunRow {
                    job: row.get(0),
                    run_id: row.get(1),
                    triggered_by: row.get(2),
                    status: row.get(3),
                    pages: row.get(4),
                    records: row.get(5),
                    requests: row.get(6),
                    retries: row.get(7),
                    warnings: json(row.get(8)),
                    result: json(row.get(9)),
                })
                .collect(),
        }
    }

    /// Every value row, sorted; in SQLite the `REAL` checked against the exact text.
    pub(crate) fn cells(&self, prefix: &str) -> Vec<Cell> {
        let mut cells: Vec<Cell> = match self {
            Db::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                let mut statement = connection
                    .prepare(&format!(
                        "SELECT run_id, reducer, key, rank, value, value_exact, value_json \
                         FROM {prefix}values"
                    ))
                    .unwrap();
                statement
                    .query_map([], |row| {
                        let real: Option<f64> = row.get(4)?;
                        let exact: Option<String> = row.get(5)?;
                        let json: Option<String> = row.get(6)?;
                        let value = match (exact, json) {
                            (Some(exact), None) => {
                                assert_eq!(real, exact.parse::<f64>().ok(), "REAL beside {exact}");
                                exact
                            }
                            (None, Some(json)) => {
                                assert_eq!(real, None);
                                cell(&serde_json::from_str(&json).unwrap())
                            }
                            other => panic!("a number or JSON, not {other:?}"),
                        };
                        Ok(Cell {
                            run_id: row.get(0)?,
                            reducer: row.get(1)?,
                            key: row.get(2)?,
                            rank: row.get(3)?,
                            value,
                        })
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Db::Postgres(url) => Self::postgres_client(url)
                .query(
                    &format!(
                        "SELECT run_id, reducer, key, rank, CAST(value AS text), \
                         CAST(value_json AS text) FROM {prefix}values"
                    ),
                    &[],
                )
                .unwrap()
                .iter()
                .map(|row| {
                    let number: Option<String> = row.get(4);
                    let json: Option<String> = row.get(5);
                    let value = match (number, json) {
                        (Some(number), None) => number,
                        (None, Some(json)) => cell(&serde_json::from_str(&json).unwrap()),
                        other => panic!("a number or JSON, not {other:?}"),
                    };
                    Cell {
                        run_id: row.get(0),
                        reducer: row.get(1),
                        key: row.get(2),
                        rank: row.get(3),
                        value,
                    }
                })
                .collect(),
        };
        cells.sort();
        cells
    }

    /// The schema versions applied, in order.
    pub(crate) fn versions(&self, prefix: &str) -> Vec<i64> {
        let query = format!("SELECT CAST(version AS bigint) FROM {prefix}schema ORDER BY version");
        match self {
            Db::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                let mut statement = connection.prepare(&query).unwrap();
                statement
                    .query_map([], |row| row.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Db::Postgres(url) => Self::postgres_client(url)
                .query(&query, &[])
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect(),
        }
    }

    /// Runs SQL statements (a fixture of an earlier schema version).
    pub(crate) fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Db::Postgres(url) => Self::postgres_client(url).batch_execute(sql).unwrap(),
        }
    }
}

/// The rows of a CSV result (`reducer,key,rank,value`) as cells of `run_id`.
fn csv_cells(path: &Path, run_id: &str) -> Vec<Cell> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let mut cells: Vec<Cell> = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            Cell {
                run_id: run_id.to_owned(),
                reducer: record[0].to_owned(),
                key: record[1].to_owned(),
                rank: (!record[2].is_empty()).then(|| record[2].parse().unwrap()),
                value: record[3].to_owned(),
            }
        })
        .collect();
    cells.sort();
    cells
}

/// Built-ins and every value shape the plugins give (maps of maps, ranked records, numbers).
fn reducers() -> String {
    format!(
        "{ALL_BUILTINS}
[[reduce]]
name = \"groups\"
plugin = \"{groups}\"
config = {{ key = \"/status\", field = \"/amount_cents\" }}

[[reduce]]
name = \"biggest\"
plugin = \"{top}\"
config = {{ by = \"/amount_cents\", n = 3 }}

[[reduce]]
name = \"quantiles\"
plugin = \"{quantiles}\"
config = {{ field = \"/amount_cents\", q = [0.5, 0.9] }}
",
        groups = plugin("group_stats").display(),
        top = plugin("top_records").display(),
        quantiles = plugin("quantiles").display(),
    )
}

pub(crate) const PAGES: &str =
    "kind = \"page\"\nsize_param = \"per_page\"\nsize = 40\ntotal_records = \"/meta/total\"";

/// `pagefold run JOB --state STATE` with `env`, the database's retries without pauses.
pub(crate) fn run(job: &Path, state: &Path, env: &[(&str, &str)]) -> Run {
    let mut env = env.to_vec();
    env.push(("PAGEFOLD_DATABASE_BACKOFF", "0s"));
    pagefold_with_env(
        &[
            "run",
            "-q",
            job.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        &env,
    )
}

/// The job's history entries, oldest first.
pub(crate) fn history(state: &Path, job: &str) -> Vec<Value> {
    std::fs::read_to_string(state.join("jobs").join(job).join("history.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Two runs of a job with every kind of reducer into `url`: each run's rows are its result
/// document, value for value as its CSV output, and the result column the whole document.
fn rows_are_the_result_documents(db: &Db, url: &str) {
    let config = DemoConfig {
        records: 700,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let state = work.path().join("state");
    let job = work.job(
        "orders.toml",
        &format!(
            "{}\n[output]\npath = \"out/{{run_id}}.csv\"\nurl = \"{url}\"\ntable_prefix = \"bi_\"\n",
            orders_job(&server, PAGES, 4, &reducers())
        ),
    );
    for _ in 0..2 {
        let run = run(&job, &state, &[]);
        assert_eq!(run.code(), 0, "{}", run.stderr());
    }
    let runs = db.runs("bi_");
    let entries = history(&state, "orders");
    assert_eq!(runs.len(), 2);
    let mut expected_cells = Vec::new();
    assert_eq!(entries.len(), 2);
    for row in &runs {
        let entry = entries
            .iter()
            .find(|entry| entry["run_id"] == row.run_id.as_str())
            .expect("each row is a run of the history");
        assert_eq!(
            (
                row.job.as_str(),
                row.triggered_by.as_str(),
                row.status.as_str()
            ),
            ("orders", "manual", "ok")
        );
        for (column, value) in [
            ("pages", row.pages),
            ("records", row.records),
            ("requests", row.requests),
            ("retries", row.retries),
        ] {
            assert_eq!(entry[column].as_i64(), Some(value), "{column}");
        }
        assert_eq!(row.warnings, serde_json::json!([]));
        assert_eq!(row.result["job"], "orders");
        let mut reducers = row.result["reducers"].clone();
        for plugin in ["groups", "biggest", "quantiles"] {
            assert!(reducers[plugin].is_object() || reducers[plugin].is_array());
            reducers.as_object_mut().unwrap().remove(plugin);
        }
        assert_builtins(
            &serde_json::json!({"reducers": reducers, "records": row.records}),
            &orders(&config),
        );
        expected_cells.extend(csv_cells(
            &work.path().join(format!("out/{}.csv", row.run_id)),
            &row.run_id,
        ));
    }
    expected_cells.sort();
    let cells = db.cells("bi_");
    assert!(
        cells
            .iter()
            .any(|cell| cell.reducer == "biggest" && cell.rank == Some(3))
    );
    assert_eq!(cells, expected_cells);
    assert_eq!(db.versions("bi_"), [1, 2]);
}

#[test]
fn sqlite_rows_are_the_result_documents_of_builtins_and_plugins() {
    let work = Workspace::new();
    let path = work.path().join("db/results.db");
    rows_are_the_result_documents(
        &Db::Sqlite(path.clone()),
        &format!("sqlite://{}", path.display()),
    );
    // The file is in WAL mode, for readers beside writers.
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn postgres_rows_are_the_result_documents_of_builtins_and_plugins() {
    let Some(server) = postgres("postgres_rows_are_the_result_documents") else {
        return;
    };
    let url = postgres_database(server, "rows");
    rows_are_the_result_documents(&Db::Postgres(url.clone()), &url);
    readme_queries_run(&url);
}

/// The README's Grafana panel and Metabase question, over the tables as written (the prefix
/// and names of this test's job, Grafana's time macro made plain SQL): each gives rows.
fn readme_queries_run(url: &str) {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let queries: Vec<&str> = readme
        .split("```sql\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert_eq!(queries.len(), 2, "a Grafana panel and a Metabase question");
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    for query in queries {
        let query = query
            .replace("pagefold_", "bi_")
            .replace("'nightly-orders'", "'orders'")
            .replace("'revenue'", "'amount'")
            .replace(
                "$__timeFilter(r.ended)",
                "r.ended > now() - interval '1 day'",
            );
        let rows = client
            .query(&query, &[])
            .unwrap_or_else(|error| panic!("{query}\n{error:?}"));
        assert!(!rows.is_empty(), "{query} gives rows");
    }
}

#[test]
fn a_relative_sqlite_path_is_beside_the_job_file_and_the_result_is_not_printed() {
    let server = demo_server(DemoConfig {
        records: 50,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job(
        "small.toml",
        &format!(
            "{}\n[output]\nurl = \"sqlite://results.db\"\n",
            orders_job(
                &server,
                PAGES,
                2,
                "[[reduce]]\nname = \"n\"\nuse = \"count\"\n"
            )
        ),
    );
    let state = work.path().join("state");
    let run = run(&job, &state, &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.stdout(), "", "the result went to the database");
    let db = Db::Sqlite(work.path().join("results.db"));
    let cells = db.cells("pagefold_");
    assert_eq!(cells.len(), 1);
    assert_eq!(
        (cells[0].reducer.as_str(), cells[0].value.as_str()),
        ("n", "50")
    );
}

/// A run that fails writes nothing: no rows, not even the tables.
fn a_failed_run_writes_nothing(db: &Db, url: &str) {
    let work = Workspace::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let job = work.job(
        "broken.toml",
        &format!(
            "[source]\nurl = \"http://127.0.0.1:{port}/orders\"\nrecords = \"/data\"\n\
             [fetch]\nretries = 0\n[[reduce]]\nname = \"n\"\nuse = \"count\"\n\
             [output]\nurl = \"{url}\"\n"
        ),
    );
    let state = work.path().join("state");
    let run = run(&job, &state, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    match db {
        Db::Sqlite(path) => assert!(!path.exists(), "the file was not even made"),
        Db::Postgres(url) => {
            let tables: i64 = Db::postgres_client(url)
                .query_one(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'pagefold%'",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(tables, 0);
        }
    }
    assert!(
        !state.join("jobs/broken/pending-db").exists(),
        "nothing kept"
    );
}

#[test]
fn a_failed_run_writes_nothing_to_sqlite() {
    let work = Workspace::new();
    let path = work.path().join("results.db");
    a_failed_run_writes_nothing(
        &Db::Sqlite(path.clone()),
        &format!("sqlite://{}", path.display()),
    );
}

#[test]
fn a_failed_run_writes_nothing_to_postgres() {
    let Some(server) = postgres("a_failed_run_writes_nothing_to_postgres") else {
        return;
    };
    let url = postgres_database(server, "failed");
    a_failed_run_writes_nothing(&Db::Postgres(url.clone()), &url);
}
