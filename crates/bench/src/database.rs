//! Scenario 11: `[output] url`, writing 3 000 runs' results into SQLite and PostgreSQL, time
//! per run. The writer is the one a run uses (`pagefold::output::database::Writer`), timed
//! directly rather than through 3 000 processes: each write is one run's transaction (its
//! runs row, its ~20 values rows, the rows of its id replaced), the database's durability
//! settings as shipped (SQLite: WAL, `synchronous = FULL`; PostgreSQL: the test cluster's,
//! `fsync = off`, so its figure is the client's and the server's work, not the disk's).
//!
//! Two figures per database: 3 000 runs on one connection (the cost of the rows), and 500
//! runs each on a connection of its own (the cost a run pays: connect, check the schema,
//! write).

#[path = "../../runner/tests/it/postgres_server.rs"]
mod postgres_server;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use pagefold::output::database::{DatabaseSpec, DatabaseUrl, RunRecord, TablePrefix, Writer};
use serde_json::{Value, json};

/// A run's record as the AGGREGATES reducers give it: a count, a sum, five statuses, a top 10.
fn record(index: usize) -> RunRecord {
    let now = Utc::now();
    let by_status = json!({"cancelled": 1210 + index % 7, "paid": 61234, "pending": 8123,
        "refunded": 812, "shipped": 28621});
    let top: Vec<Value> = (0..10)
        .map(|rank| json!({"value": format!("customer-{rank:04}"), "count": 310 - rank * 7}))
        .collect();
    let reducers = vec![
        ("orders".to_owned(), json!(100_000 + index)),
        ("revenue".to_owned(), json!(5_123_456.78 + index as f64)),
        ("by_status".to_owned(), by_status),
        ("top_customers".to_owned(), Value::Array(top)),
    ];
    let result = json!({
        "job": "bench",
        "pages": 2000,
        "records": 100_000 + index,
        "reducers": reducers.iter().cloned().collect::<serde_json::Map<_, _>>(),
        "stats": {"requests": 2000, "retries": 0, "seconds": 1.9},
    });
    RunRecord {
        job: "bench".into(),
        run_id: format!("{}-{index:06}", now.format("%Y%m%dT%H%M%SZ")),
        trigger: "schedule".into(),
        scheduled_for: Some(now),
        started: now,
        ended: now,
        status: "ok".into(),
        pages: 2000,
        records: 100_000 + index as u64,
        requests: 2000,
        retries: 0,
        warnings: Vec::new(),
        result: result.to_string(),
        reducers,
    }
}

/// Writes `runs` runs, one connection for all or one each; the time per run.
fn time_per_run(
    spec: &DatabaseSpec,
    runs: usize,
    fresh: bool,
    offset: usize,
) -> Result<Duration, String> {
    let records: Vec<RunRecord> = (offset..offset + runs).map(record).collect();
    let started = Instant::now();
    let mut writer = Writer::new(spec);
    for record in &records {
        if fresh {
            writer = Writer::new(spec);
        }
        writer.write(record).map_err(|error| error.to_string())?;
    }
    Ok(started.elapsed() / runs as u32)
}

fn row(id: &str, name: &str, measured: Result<Duration, String>) {
    match measured {
        Ok(per_run) => println!(
            "{id:<4} {name:<58} {:>9.3} ms/run {:>9.0} runs/s",
            per_run.as_secs_f64() * 1e3,
            1.0 / per_run.as_secs_f64()
        ),
        Err(error) => println!("{id:<4} {name:<58} FAILED: {error}"),
    }
}

/// Scenario 11 (`scale` shrinks the run counts, as `--pages-scale` does). 3 000 and 500 runs
/// give steady figures per run and keep the scenario to about 20 s of the benchmark's 5 minutes.
pub(crate) fn run_database(folder: &Path, scale: f64) {
    let runs = ((3_000.0 * scale).round() as usize).max(1);
    let fresh_runs = ((500.0 * scale).round() as usize).max(1);
    println!();
    println!("database output (`[output] url`): {runs} runs' results, each in its transaction");
    let sqlite = DatabaseSpec {
        url: DatabaseUrl::parse(
            &format!("sqlite://{}", folder.join("bench.db").display()),
            Path::new(""),
        )
        .expect("a SQLite URL"),
        prefix: TablePrefix::default(),
    };
    row(
        "11a",
        &format!("SQLite, {runs} runs on one connection"),
        time_per_run(&sqlite, runs, false, 0),
    );
    row(
        "11b",
        &format!("SQLite, {fresh_runs} runs, a connection each (as pagefold runs)"),
        time_per_run(&sqlite, fresh_runs, true, runs),
    );
    let server = match postgres_server::PostgresServer::start() {
        Ok(server) => server,
        Err(why) => {
            println!("11c  PostgreSQL: skipped, no server: {why}");
            return;
        }
    };
    server.create_database("bench");
    let postgres = DatabaseSpec {
        url: DatabaseUrl::parse(&server.url("bench"), Path::new("")).expect("a PostgreSQL URL"),
        prefix: TablePrefix::default(),
    };
    row(
        "11c",
        &format!("PostgreSQL, {runs} runs on one connection"),
        time_per_run(&postgres, runs, false, 0),
    );
    row(
        "11d",
        &format!("PostgreSQL, {fresh_runs} runs, a connection each (as pagefold runs)"),
        time_per_run(&postgres, fresh_runs, true, runs),
    );
    server.stop();
}
