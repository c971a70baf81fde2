//! The database tables over time: a run id written again replaces its rows, an interrupted
//! run writes nothing and its resumption writes once under its id, and the schema migrates
//! forward from each earlier version (fixtures of those versions, frozen here as released).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use pagefold::output::database::{DatabaseSpec, DatabaseUrl, RunRecord, TablePrefix, Writer};
use pagefold_demo_api::DemoConfig;
use serde_json::{Value, json};

use crate::database::{Cell, Db, postgres, postgres_database};
use crate::support::{ALL_BUILTINS, Workspace, demo_server, orders_job};

fn record(run_id: &str, reducers: Vec<(&str, Value)>) -> RunRecord {
    let now = Utc::now();
    RunRecord {
        job: "j".into(),
        run_id: run_id.into(),
        trigger: "schedule".into(),
        scheduled_for: Some(now),
        started: now,
        ended: now,
        status: "ok".into(),
        pages: 1,
        records: 2,
        requests: 3,
        retries: 0,
        warnings: vec!["a warning".into()],
        result: json!({"job": "j", "reducers": {}}).to_string(),
        reducers: reducers
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    }
}

fn cells(db: &Db) -> Vec<(String, String, String)> {
    db.cells("pagefold_")
        .into_iter()
        .map(
            |Cell {
                 run_id,
                 reducer,
                 value,
                 ..
             }| (run_id, reducer, value),
        )
        .collect()
}

/// Writing a run id again replaces that run's rows; numbers stay exact (u64::MAX, which a
/// double cannot hold).
fn a_rerun_replaces(db: &Db, url: &str) {
    let spec = DatabaseSpec {
        url: DatabaseUrl::parse(url, Path::new("")).unwrap(),
        prefix: TablePrefix::default(),
    };
    let mut writer = Writer::new(&spec);
    writer
        .write(&record(
            "R1",
            vec![
                ("big", json!(18446744073709551615u64)),
                ("by", json!({"a": 1, "b": "x"})),
            ],
        ))
        .unwrap();
    writer
        .write(&record("R2", vec![("big", json!(7))]))
        .unwrap();
    let own = |run: &str| -> Vec<(String, String, String)> {
        cells(db).into_iter().filter(|(id, ..)| id == run).collect()
    };
    assert_eq!(
        own("R1"),
        [
            ("R1".into(), "big".into(), "18446744073709551615".into()),
            ("R1".into(), "by".into(), "1".into()),
            ("R1".into(), "by".into(), "x".into()),
        ]
    );
    // Again, with other values, from a new connection (as a next run would).
    Writer::new(&spec)
        .write(&record("R1", vec![("big", json!(0.1))]))
        .unwrap();
    assert_eq!(own("R1"), [("R1".into(), "big".into(), "0.1".into())]);
    assert_eq!(own("R2").len(), 1, "another run id untouched");
    let runs = db.runs("pagefold_");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].warnings, json!(["a warning"]));
    assert_eq!(runs[0].triggered_by, "schedule");
}

#[test]
fn sqlite_a_rerun_of_a_run_id_replaces_its_rows() {
    let work = Workspace::new();
    let path = work.path().join("r.db");
    a_rerun_replaces(
        &Db::Sqlite(path.clone()),
        &format!("sqlite://{}", path.display()),
    );
}

#[test]
fn postgres_a_rerun_of_a_run_id_replaces_its_rows() {
    let Some(server) = postgres("postgres_a_rerun_of_a_run_id_replaces_its_rows") else {
        return;
    };
    let url = postgres_database(server, "rerun");
    a_rerun_replaces(&Db::Postgres(url.clone()), &url);
}

#[test]
fn an_interrupted_run_writes_nothing_and_its_resumption_writes_once_under_its_id() {
    let config = DemoConfig {
        records: 6000,
        totals: true,
        latency: Duration::from_millis(30),
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let state = work.path().join("state");
    let checkpoints = work.path().join("checkpoints");
    let job = work.job(
        "slow.toml",
        &format!(
            "{}\n[output]\nurl = \"sqlite://results.db\"\n",
            orders_job(
                &server,
                "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"",
                4,
                ALL_BUILTINS
            )
        ),
    );
    let start = || {
        crate::support::command()
            .args(["run", "-q", "--checkpoint-every", "30ms", "--checkpoint"])
            .arg(&checkpoints)
            .arg("--state")
            .arg(&state)
            .arg(&job)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = start();
    let checkpoint = checkpoints.join("slow.checkpoint.json");
    crate::resume::wait_for_progress(&checkpoint);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(143));
    let db_path = work.path().join("results.db");
    assert!(!db_path.exists(), "an interrupted run writes nothing");
    let saved = crate::resume::saved(&checkpoint).unwrap();
    let run_id = saved["run_id"]
        .as_str()
        .expect("the checkpoint names its run")
        .to_owned();

    let output = start().wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let runs = Db::Sqlite(db_path).runs("pagefold_");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].run_id, run_id,
        "the resumed run is the run it resumes"
    );
    assert_eq!(runs[0].records, 6000);
}

/// The tables as version 1 made them, with a run in them.
fn version_1(sqlite: bool) -> String {
    let (time, int, json, value) = if sqlite {
        ("TEXT", "INTEGER", "TEXT", "value REAL, value_exact TEXT")
    } else {
        ("timestamptz", "bigint", "jsonb", "value numeric")
    };
    let old_value = if sqlite { "2.0, '2'" } else { "2" };
    format!(
        "CREATE TABLE pagefold_schema (version integer PRIMARY KEY, applied {time} NOT NULL, pagefold text NOT NULL);
         INSERT INTO pagefold_schema VALUES (1, '2026-01-01T00:00:00Z', '0.1.0');
         CREATE TABLE \"pagefold_runs\" (job text NOT NULL, run_id text NOT NULL, triggered_by text NOT NULL, \
           scheduled_for {time}, started {time} NOT NULL, ended {time} NOT NULL, status text NOT NULL, \
           pages {int} NOT NULL, records {int} NOT NULL, requests {int} NOT NULL, retries {int} NOT NULL, \
           warnings {json} NOT NULL, result {json} NOT NULL, PRIMARY KEY (job, run_id));
         CREATE TABLE \"pagefold_values\" (job text NOT NULL, run_id text NOT NULL, reducer text NOT NULL, \
           key text NOT NULL, rank {int}, {value}, value_json {json});
         INSERT INTO pagefold_runs VALUES ('old', '20260101T000000Z-0001', 'schedule', NULL, \
           '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'ok', 1, 2, 1, 0, '[]', '{{\"job\": \"old\"}}');
         INSERT INTO pagefold_values VALUES ('old', '20260101T000000Z-0001', 'n', '', NULL, {old_value}, NULL);"
    )
}

/// From each earlier version (0: no tables; 1) to the current one: the old rows kept, the
/// new run written, each step recorded once.
fn migrates_forward(db: &Db, url: &str, from: u32) {
    if from == 1 {
        db.execute(&version_1(matches!(db, Db::Sqlite(_))));
    }
    let server = demo_server(DemoConfig {
        records: 30,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job(
        "new.toml",
        &format!(
            "{}\n[output]\nurl = \"{url}\"\n",
            orders_job(
                &server,
                "kind = \"page\"\nsize_param = \"per_page\"\nsize = 10",
                2,
                "[[reduce]]\nname = \"n\"\nuse = \"count\"\n"
            )
        ),
    );
    let run = crate::support::pagefold(&[
        "run",
        "-q",
        job.to_str().unwrap(),
        "--state",
        work.path().join("state").to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 0, "from version {from}: {}", run.stderr());
    assert_eq!(db.versions("pagefold_"), [1, 2], "from version {from}");
    let runs = db.runs("pagefold_");
    let jobs: Vec<&str> = runs.iter().map(|run| run.job.as_str()).collect();
    let cells = cells(db);
    if from == 1 {
        assert_eq!(jobs, ["old", "new"]);
        assert!(cells.contains(&("20260101T000000Z-0001".into(), "n".into(), "2".into())));
    } else {
        assert_eq!(jobs, ["new"]);
    }
    assert!(
        cells
            .iter()
            .any(|(_, reducer, value)| reducer == "n" && value == "30")
    );
}

fn sqlite_db(work: &Workspace) -> (Db, String) {
    let path = work.path().join("m.db");
    (
        Db::Sqlite(path.clone()),
        format!("sqlite://{}", path.display()),
    )
}

#[test]
fn sqlite_tables_migrate_forward_from_each_earlier_version() {
    for from in 0..pagefold::output::database::schema::CURRENT {
        let work = Workspace::new();
        let (db, url) = sqlite_db(&work);
        migrates_forward(&db, &url, from);
        let connection = rusqlite::Connection::open(work.path().join("m.db")).unwrap();
        let indexes: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'pagefold%'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 3, "version 2's indexes, from version {from}");
    }
}

#[test]
fn postgres_tables_migrate_forward_from_each_earlier_version() {
    let Some(server) = postgres("postgres_tables_migrate_forward_from_each_earlier_version") else {
        return;
    };
    for from in 0..pagefold::output::database::schema::CURRENT {
        let url = postgres_database(server, &format!("migrate_from_{from}"));
        migrates_forward(&Db::Postgres(url.clone()), &url, from);
        let indexes: i64 = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap()
            .query_one(
                "SELECT count(*) FROM pg_indexes WHERE indexname IN \
                 ('pagefold_values_run', 'pagefold_values_reducer', 'pagefold_runs_ended')",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(indexes, 3, "version 2's indexes, from version {from}");
    }
}

#[test]
fn tables_of_a_newer_schema_are_not_written() {
    let work = Workspace::new();
    let (db, url) = sqlite_db(&work);
    db.execute(
        "CREATE TABLE pagefold_schema (version integer PRIMARY KEY, applied TEXT NOT NULL, pagefold text NOT NULL);
         INSERT INTO pagefold_schema VALUES (99, '2030-01-01T00:00:00Z', '9.0.0');",
    );
    let spec = DatabaseSpec {
        url: DatabaseUrl::parse(&url, Path::new("")).unwrap(),
        prefix: TablePrefix::default(),
    };
    let error = Writer::new(&spec).write(&record("R", vec![])).unwrap_err();
    assert_eq!(error.attempts, 1, "not retried");
    assert_eq!(
        error.cause.to_string(),
        "its tables are at schema version 99, newer than this pagefold's (2); it writes \
         nothing rather than rows an upgraded reader would misread"
    );
    assert_eq!(
        error.hint(),
        "upgrade pagefold, or set another `table_prefix` for this version's tables"
    );
}

/// Several writers at once on fresh tables (as several processes' first runs): the schema is
/// made once, under the lock, and every run is written.
#[test]
fn postgres_writers_at_once_make_the_tables_once() {
    let Some(server) = postgres("postgres_writers_at_once_make_the_tables_once") else {
        return;
    };
    let url = postgres_database(server, "at_once");
    let spec = DatabaseSpec {
        url: DatabaseUrl::parse(&url, Path::new("")).unwrap(),
        prefix: TablePrefix::default(),
    };
    std::thread::scope(|scope| {
        for index in 0..6 {
            let spec = &spec;
            scope.spawn(move || {
                Writer::new(spec)
                    .write(&record(&format!("R{index}"), vec![("n", json!(index))]))
                    .unwrap();
            });
        }
    });
    let db = Db::Postgres(url);
    assert_eq!(db.versions("pagefold_"), [1, 2]);
    assert_eq!(db.runs("pagefold_").len(), 6);
    assert_eq!(db.cells("pagefold_").len(), 6);
}
