//! The database down or unwritable: the run's result is kept in the state folder and written
//! by the next run, nothing lost, nothing doubled; and several processes sharing one SQLite
//! file.

use std::path::PathBuf;

use pagefold_demo_api::{DemoConfig, DemoServer};

use crate::database::{Db, PAGES, history, postgres, postgres_database, run};
use crate::support::{
    ALL_BUILTINS, Masks, Workspace, assert_builtins, demo_server, orders, orders_job,
};

/// A job that counts the demo orders, its rows going to the database at `url`.
fn counted_into(server: &DemoServer, url: &str) -> String {
    format!(
        "{}\n[output]\nurl = \"{url}\"\n",
        orders_job(
            server,
            PAGES,
            2,
            "[[reduce]]\nname = \"n\"\nuse = \"count\"\n"
        )
    )
}

/// The first run finds the database down: it fails its output step, says so (the password
/// hidden), keeps its result; the next run, the database up, writes both, each once.
#[test]
fn postgres_down_for_the_first_run_loses_nothing() {
    let Some(server) = postgres("postgres_down_for_the_first_run_loses_nothing") else {
        return;
    };
    let url = postgres_database(server, "down");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port().to_string();
    drop(dead);
    let config = DemoConfig {
        records: 120,
        ..DemoConfig::default()
    };
    let demo = demo_server(config.clone());
    let work = Workspace::new();
    let state = work.path().join("state");
    // The port comes from PGPORT, as psql takes it; the password from the environment.
    let job = work.job(
        "nightly.toml",
        &format!(
            "{}\n[output]\nurl = \"postgres://postgres:${{env.DB_PASSWORD}}@127.0.0.1/down?sslmode=disable\"\n",
            orders_job(&demo, PAGES, 2, ALL_BUILTINS)
        ),
    );
    let password = ("DB_PASSWORD", "s3cret-db-passw0rd");
    let first = run(&job, &state, &[password, ("PGPORT", &dead_port)]);
    assert_eq!(first.code(), 1, "{}", first.stderr());
    assert!(!first.stderr().contains(password.1), "{}", first.stderr());
    let masks = Masks::new()
        .path(work.path(), "[work]")
        .rule(r"run `\d{8}T\d{6}Z-[0-9a-f]{4}`", "run `[run id]`")
        .rule(r"\d{8}T\d{6}Z-[0-9a-f]{4}\.json", "[run id].json")
        .rule(r"in \d+\.\ds", "in [time]")
        .rule(r"\(os error \d+\)", "(os error [n])");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("database_down", first.shown());
    });
    let entries = history(&state, "nightly");
    assert_eq!(entries[0]["status"], "failed");
    let error = entries[0]["error"].as_str().unwrap();
    assert!(error.contains("kept in"), "{error}");
    assert!(!error.contains(password.1), "{error}");
    let first_id = entries[0]["run_id"].as_str().unwrap().to_owned();
    let kept = state.join(format!("jobs/nightly/pending-db/{first_id}.json"));
    assert!(kept.exists(), "the result is kept in the state folder");

    let second = run(
        &job,
        &state,
        &[password, ("PGPORT", &server.port.to_string())],
    );
    assert_eq!(second.code(), 0, "{}", second.stderr());
    assert!(!kept.exists(), "written, then removed");
    let entries = history(&state, "nightly");
    assert_eq!(entries[1]["status"], "ok");
    assert_eq!(entries[1]["late_writes"], serde_json::json!([first_id]));
    assert_eq!(
        entries[1]["database"],
        "postgres://postgres:****@127.0.0.1/down?sslmode=disable"
    );
    assert_eq!(entries[0].get("database"), None, "not written then");
    let db = Db::Postgres(url);
    let runs = db.runs("pagefold_");
    // By run id, which orders two runs of one second by their random part: compared as sets.
    let mut ids: Vec<&str> = runs.iter().map(|run| run.run_id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = [first_id.as_str(), entries[1]["run_id"].as_str().unwrap()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    for row in &runs {
        assert_eq!(row.status, "ok", "the data of both runs came out whole");
        assert_builtins(&row.result, &orders(&config));
    }
    let cells = db.cells("pagefold_");
    let per_run = cells.iter().filter(|cell| cell.run_id == first_id).count();
    assert_eq!(per_run * 2, cells.len(), "each run's values once");

    // A third run finds nothing kept, and writes only itself.
    let third = run(
        &job,
        &state,
        &[password, ("PGPORT", &server.port.to_string())],
    );
    assert_eq!(third.code(), 0, "{}", third.stderr());
    assert_eq!(history(&state, "nightly")[2].get("late_writes"), None);
    assert_eq!(db.runs("pagefold_").len(), 3);
}

/// SQLite that cannot be written (its path is a folder) keeps the result the same way.
#[test]
fn sqlite_that_cannot_be_written_keeps_the_result_for_the_next_run() {
    let server = demo_server(DemoConfig {
        records: 60,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let state = work.path().join("state");
    let path = work.path().join("results.db");
    std::fs::create_dir(&path).unwrap();
    let job = work.job("j.toml", &counted_into(&server, "sqlite://results.db"));
    let first = run(&job, &state, &[]);
    assert_eq!(first.code(), 1, "{}", first.stderr());
    assert!(
        first.stderr().contains("the job's next run writes it"),
        "{}",
        first.stderr()
    );
    std::fs::remove_dir(&path).unwrap();
    // Beside the kept result, one a full disk cut short: set aside, not retried at every run.
    let pending = state.join("jobs/j/pending-db");
    assert_eq!(std::fs::read_dir(&pending).unwrap().count(), 1);
    let torn = pending.join("19700101T000000Z-dead.json");
    std::fs::write(&torn, "{\"format\": 1, \"rec").unwrap();
    let second = run(&job, &state, &[]);
    assert_eq!(second.code(), 0, "{}", second.stderr());
    assert!(
        second
            .stderr()
            .contains("19700101T000000Z-dead.json` is damaged"),
        "{}",
        second.stderr()
    );
    let left: Vec<String> = std::fs::read_dir(&pending)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.len() == 1 && left[0].starts_with("19700101T000000Z-dead.json.damaged-"),
        "{left:?}"
    );
    let db = Db::Sqlite(path);
    assert_eq!(db.runs("pagefold_").len(), 2);
    assert_eq!(db.cells("pagefold_").len(), 2);
}

/// Several processes, several jobs, one SQLite file: every run's rows are there.
#[test]
fn jobs_in_several_processes_share_one_sqlite_file() {
    let server = demo_server(DemoConfig {
        records: 200,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let state = work.path().join("state");
    let jobs: Vec<PathBuf> = (0..4)
        .map(|index| {
            work.job(
                &format!("job{index}.toml"),
                &counted_into(&server, "sqlite://shared.db"),
            )
        })
        .collect();
    let children: Vec<std::process::Child> = jobs
        .iter()
        .chain(&jobs)
        .enumerate()
        .map(|(index, job)| {
            // A state folder each: two runs of one job in one state folder do not run at once
            // (the job's lock), and here they must, to share the database.
            crate::support::command()
                .args(["run", "-q", "--state"])
                .arg(state.join(index.to_string()))
                .arg(job)
                .env("PAGEFOLD_DATABASE_BACKOFF", "0s")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let db = Db::Sqlite(work.path().join("shared.db"));
    let runs = db.runs("pagefold_");
    assert_eq!(runs.len(), 8);
    for index in 0..4 {
        let name = format!("job{index}");
        assert_eq!(runs.iter().filter(|run| run.job == name).count(), 2);
    }
    assert!(db.cells("pagefold_").iter().all(|cell| cell.value == "200"));
    assert_eq!(db.versions("pagefold_"), [1, 2], "each step applied once");
}
