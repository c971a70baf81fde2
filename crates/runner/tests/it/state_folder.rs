//! The state folder under hostile conditions: the job's lock taken by every run, a job's name
//! claimed by one job file, damaged files set aside, and a history that survives a torn line
//! and a bad byte.

use std::path::{Path, PathBuf};

use pagefold::state::StateDir;
use pagefold::state::history::Status;

use crate::gate::GateServer;
use crate::support::{Masks, Workspace, command};

/// Pins what a user reads of the state folder's repairs: paths, run ids and times masked.
fn pin(name: &str, ws: &Workspace, stderr: &str) {
    let masks = Masks::new()
        .path(ws.path(), "[work]")
        .rule(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z", "[timestamp]")
        .rule(r"\d{8}T\d{6}Z-[0-9a-f]{4}", "[run id]")
        .rule(r"damaged-\d{8}T\d{6}(\.\d+)?Z", "damaged-[time]")
        .rule(r"torn-\d{8}T\d{6}(\.\d+)?Z", "torn-[time]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!(name, stderr);
    });
}

/// A job named `name` summing `/n` of the gate server's items; its result on stdout.
fn plain_job(ws: &Workspace, file: &str, name: &str, api: &GateServer) -> PathBuf {
    ws.job(
        file,
        &format!(
            "name = \"{name}\"\n[source]\nurl = \"{}\"\n\n[[reduce]]\nname = \"n\"\nuse = \"sum\"\nfield = \"/n\"\n",
            api.url()
        ),
    )
}

/// `pagefold run -q --state STATE JOB`: exit code and stderr.
fn run(state: &Path, job: &Path) -> (Option<i32>, String) {
    let output = command()
        .args(["run", "-q", "--state"])
        .arg(state)
        .arg(job)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every run of a job with a state folder takes the job's lock, incremental or not: one held
/// elsewhere makes `pagefold run` exit 1, as the README says.
#[test]
fn a_plain_job_takes_its_lock_too() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = plain_job(&ws, "plain.toml", "plain", &api);
    let state = ws.path().join("state");
    let held = StateDir::open(Some(&state))
        .unwrap()
        .job("plain")
        .lock()
        .unwrap()
        .expect("free at first");
    let (code, stderr) = run(&state, &job);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: `plain` is already running in another pagefold process"),
        "{stderr}"
    );
    assert_eq!(api.requests(), 0);
    drop(held);
    let (code, stderr) = run(&state, &job);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(api.requests(), 1);
}

/// A job is its name within a state folder: a second job file of that name is refused with
/// both files named, until the first is gone (moved or renamed: the name follows it).
#[test]
fn two_job_files_of_one_name_in_one_state_folder_are_refused() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let first = plain_job(&ws, "first.toml", "orders", &api);
    let second = plain_job(&ws, "second.toml", "orders", &api);
    let state = ws.path().join("state");
    let (code, stderr) = run(&state, &first);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = run(&state, &first);
    assert_eq!(code, Some(0), "the same file again: {stderr}");
    let (code, stderr) = run(&state, &second);
    assert_eq!(code, Some(1), "{stderr}");
    pin("state_name_taken", &ws, &stderr);
    assert!(
        stderr.contains(&format!(
            "error: `{}` and `{}` are both the job `orders` in the state folder `{}`",
            first.display(),
            second.display(),
            state.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: give one of them another `name`"),
        "{stderr}"
    );
    assert_eq!(api.requests(), 2, "the second file's run fetched nothing");
    // The first file renamed away from the name: the second may have it.
    plain_job(&ws, "first.toml", "other", &api);
    let (code, stderr) = run(&state, &second);
    assert_eq!(code, Some(0), "{stderr}");
    let statuses: Vec<Status> = StateDir::open(Some(&state))
        .unwrap()
        .job("orders")
        .history()
        .unwrap()
        .iter()
        .map(|entry| entry.status)
        .collect();
    assert_eq!(
        statuses,
        [Status::Ok, Status::Ok, Status::Failed, Status::Ok]
    );
}

/// A history with a line a full disk cut short and a line with a byte that is not UTF-8: the
/// next run sets the torn line aside before appending its own (which is whole), and `history`
/// shows every readable run with one warning that counts the rest.
#[test]
fn the_history_survives_a_torn_line_and_a_bad_byte() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = plain_job(&ws, "kept.toml", "kept", &api);
    let state = ws.path().join("state");
    let (code, stderr) = run(&state, &job);
    assert_eq!(code, Some(0), "{stderr}");
    let history = state.join("jobs/kept/history.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&history)
        .unwrap();
    std::io::Write::write_all(&mut file, b"{\"run_id\": \"\xff\"}\n{\"run_id\": \"20").unwrap();
    let (code, stderr) = run(&state, &job);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("ended in a torn line"), "{stderr}");
    pin("state_torn_history_line", &ws, &stderr);
    let output = command()
        .args(["history", "kept", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        table.lines().filter(|line| line.contains(" ok ")).count(),
        2,
        "{table}"
    );
    assert_eq!(
        stderr.trim_end(),
        format!(
            "warning: skipped 1 unreadable line of the history in `{}` (damaged, or not written by pagefold)",
            state.join("jobs/kept").display()
        )
    );
}

/// The files of the state folder set aside beside it, `NAME.damaged-TIME`.
fn set_aside(folder: &Path, name: &str) -> Vec<PathBuf> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|file| file.unwrap().path())
        .filter(|path| {
            path.file_name().is_some_and(|file| {
                file.to_string_lossy()
                    .starts_with(&format!("{name}.damaged-"))
            })
        })
        .collect()
}

/// A damaged `schedule.json` (a crash, a full disk, a hand edit) is set aside with a warning
/// and the job goes on from now: `schedule --once` runs what is due, rather than printing
/// "is damaged" and starting nothing, under cron, every time.
#[test]
fn a_damaged_schedule_file_is_set_aside_and_the_job_goes_on() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = ws.job(
        "tick.toml",
        &format!(
            "schedule = \"* * * * * *\"\n[source]\nurl = \"{}\"\n\n[[reduce]]\nname = \"n\"\nuse = \"sum\"\nfield = \"/n\"\n\n[output]\npath = \"out/{{name}}-{{time}}.json\"\n",
            api.url()
        ),
    );
    let state = ws.path().join("state");
    let folder = state.join("jobs/tick");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("schedule.json"), b"{\"last_due\": \"2026-\xff").unwrap();
    let output = command()
        .args(["schedule", "--once", "--state"])
        .arg(&state)
        .arg(&job)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("tick: started"), "{stderr}");
    assert!(
        stderr.contains("schedule.json` is damaged (") && stderr.contains("set aside as"),
        "{stderr}"
    );
    // Whole again, for the next start.
    let repaired = std::fs::read_to_string(folder.join("schedule.json")).unwrap();
    assert!(repaired.starts_with("{\"last_due\":"), "{repaired}");
    assert_eq!(set_aside(&folder, "schedule.json").len(), 1);
    let statuses: Vec<Status> = StateDir::open(Some(&state))
        .unwrap()
        .job("tick")
        .history()
        .unwrap()
        .iter()
        .map(|entry| entry.status)
        .collect();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|status| *status == Status::Ok),
        "{statuses:?}"
    );
}

/// Every other file of the state folder likewise: a damaged `job.json` or result document is
/// set aside with a warning; `run` and `history --show` go on.
#[test]
fn damaged_state_files_are_set_aside_with_a_warning() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = plain_job(&ws, "kept.toml", "kept", &api);
    let state = ws.path().join("state");
    let folder = state.join("jobs/kept");
    let (code, stderr) = run(&state, &job);
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::write(folder.join("job.json"), "{\"file\": ").unwrap();
    let (code, stderr) = run(&state, &job);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("job.json` is damaged (EOF while parsing")
            && stderr.contains("set aside as"),
        "{stderr}"
    );
    pin("state_damaged_job_json", &ws, &stderr);
    assert_eq!(set_aside(&folder, "job.json").len(), 1);
    let run_id = StateDir::open(Some(&state))
        .unwrap()
        .job("kept")
        .history()
        .unwrap()[0]
        .run_id
        .clone();
    let result = folder.join(format!("results/{run_id}.json"));
    std::fs::write(&result, b"{\"reducers\": \xff").unwrap();
    let output = command()
        .args(["history", "kept", "--state"])
        .arg(&state)
        .args(["--show", &run_id])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is damaged (not UTF-8): set aside as"),
        "{stderr}"
    );
    assert!(stderr.contains("has no result document"), "{stderr}");
    pin("state_damaged_result_document", &ws, &stderr);
    assert_eq!(
        set_aside(&folder.join("results"), &format!("{run_id}.json")).len(),
        1
    );
}
