//! Output paths with placeholders, the ndjson and csv formats, and the run history that
//! `pagefold history` shows.

use std::path::Path;

use pagefold_demo_api::DemoConfig;
use serde_json::Value;

use crate::support::{Workspace, demo_server, orders_job, pagefold};

const PAGINATION: &str = "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50";

const REDUCERS: &str = r#"
[[reduce]]
name = "orders"
use = "count"

[[reduce]]
name = "by_city"
use = "count_by"
field = "/shipping/city"
"#;

fn files_under(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn each_run_writes_its_own_file_in_its_format_and_the_history_lists_them() {
    let config = DemoConfig {
        records: 300,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let ws = Workspace::new();
    let state = ws.path().join("state");
    let job = ws.job(
        "cities.toml",
        &format!(
            "timezone = \"Asia/Tokyo\"\n{}\n[output]\npath = \"out/{{name}}/{{date:%Y}}/{{run_id}}.csv\"\n",
            orders_job(&server, PAGINATION, 4, REDUCERS)
        ),
    );
    let run = || {
        pagefold(&[
            "run",
            "-q",
            job.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ])
    };
    for _ in 0..2 {
        let done = run();
        assert_eq!(done.code(), 0, "{}", done.stderr());
        assert_eq!(done.stdout(), "", "the result goes to the file");
    }
    let files = files_under(&ws.path().join("out"));
    assert_eq!(files.len(), 2, "two runs, two files: {files:?}");
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y")
        .to_string();
    assert!(files[0].starts_with(ws.path().join("out/cities").join(&year)));
    let csv = std::fs::read_to_string(&files[0]).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("reducer,key,rank,value"));
    assert_eq!(lines.next(), Some("orders,,,300"));
    let cities: u64 = lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields[0], "by_city", "{line}");
            assert_eq!(fields[2], "", "{line}");
            fields[3].parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(cities, 300);

    let table = pagefold(&[
        "history",
        job.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(table.code(), 0, "{}", table.stderr());
    let lines: Vec<String> = table.stdout().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "a header and two runs:\n{}", table.stdout());
    assert!(lines[0].starts_with("started"), "{}", lines[0]);
    assert!(lines[0].contains("status") && lines[0].contains("records"));
    for line in &lines[1..] {
        assert!(line.contains("JST"), "times in the job's zone: {line}");
        assert!(line.contains(" ok "), "{line}");
        assert!(line.contains(" manual "), "{line}");
        assert!(line.contains(" 300 "), "{line}");
        assert!(
            files
                .iter()
                .any(|file| line.ends_with(&file.display().to_string())),
            "{line}"
        );
    }
    let json = pagefold(&[
        "history",
        "cities",
        "--json",
        "-n",
        "1",
        "--state",
        state.to_str().unwrap(),
    ]);
    let entries: Vec<Value> = json
        .stdout()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["status"], "ok");
    assert_eq!(entries[0]["pages"], 6);
    assert_eq!(entries[0]["records"], 300);
    assert!(
        entries[0]["requests"].as_u64().unwrap() >= 7,
        "six pages and the end"
    );
    assert!(
        lines[2].ends_with(entries[0]["output"].as_str().unwrap()),
        "the last run"
    );
}

#[test]
fn ndjson_rows_and_the_history_of_an_unknown_job() {
    let server = demo_server(DemoConfig {
        records: 120,
        ..DemoConfig::default()
    });
    let ws = Workspace::new();
    let job = ws.job(
        "rows.toml",
        &format!(
            "{}\n[output]\npath = \"rows.txt\"\nformat = \"ndjson\"\n",
            orders_job(&server, PAGINATION, 4, REDUCERS)
        ),
    );
    let state = ws.path().join("state");
    // Before any run, the state folder knows no job `rows`: an error, as a typo would be.
    let none = pagefold(&["history", "rows", "--state", state.to_str().unwrap()]);
    assert_eq!(none.code(), 1);
    assert!(
        none.stderr()
            .contains("error: no job `rows` in the state folder"),
        "{}",
        none.stderr()
    );
    let done = pagefold(&[
        "run",
        "-q",
        job.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(done.code(), 0, "{}", done.stderr());
    let text = std::fs::read_to_string(ws.path().join("rows.txt")).unwrap();
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows[0],
        serde_json::json!({"reducer": "orders", "value": 120})
    );
    let total: u64 = rows[1..]
        .iter()
        .map(|row| {
            assert_eq!(row["reducer"], "by_city");
            assert!(row["key"].is_string());
            row["value"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(total, 120);
}

#[test]
fn history_of_a_job_file_needs_none_of_its_secrets() {
    let server = demo_server(DemoConfig {
        records: 60,
        ..DemoConfig::default()
    });
    let ws = Workspace::new();
    let job = ws.job(
        "secretive.toml",
        &format!(
            "name = \"with-token\"\ntimezone = \"America/New_York\"\n{}",
            orders_job(&server, PAGINATION, 4, REDUCERS).replace(
                "records = \"/data\"",
                "records = \"/data\"\nheaders = { X-Token = \"${env.PAGEFOLD_TEST_HISTORY_TOKEN}\" }"
            )
        ),
    );
    let state = ws.path().join("state");
    let args = [
        "run",
        "-q",
        job.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    let done = crate::support::pagefold_with_env(
        &args,
        &[("PAGEFOLD_TEST_HISTORY_TOKEN", "tok-very-secret-1234")],
    );
    assert_eq!(done.code(), 0, "{}", done.stderr());
    let shown = pagefold(&[
        "history",
        job.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(shown.code(), 0, "{}", shown.stderr());
    let table = shown.stdout();
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("EST") || l.contains("EDT")),
        "{table}"
    );
    let history = std::fs::read_to_string(state.join("jobs/with-token/history.jsonl")).unwrap();
    assert!(!history.contains("tok-very-secret"), "{history}");
}
