//! The state folder under hostile conditions: the job's lock taken by every run, a job's name
//! claimed by one job file, damaged files set aside, and a history that survives a torn line
//! and a bad byte.

use std::path::{Path, PathBuf};

use pagefold::state::StateDir;
use pagefold::state::history::Status;

use crate::gate::GateServer;
use crate::support::{Workspace, command};

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
