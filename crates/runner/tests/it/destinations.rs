//! Where a result goes is never destroyed: devices and FIFOs are written into, symlinks keep
//! pointing at a replaced target, modes follow the umask or stay, read-only files stay.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;

use pagefold_demo_api::DemoConfig;
use serde_json::Value;

use crate::support::{Workspace, command, demo_server, orders_job, run_job};

const REDUCERS: &str = "[[reduce]]\nname = \"orders\"\nuse = \"count\"\n";

/// A small job over a demo API of 30 orders; the server lives as long as the returned value.
fn small_job(ws: &Workspace) -> (pagefold_demo_api::DemoServer, std::path::PathBuf) {
    let server = demo_server(DemoConfig {
        records: 30,
        ..DemoConfig::default()
    });
    let job = ws.job(
        "small.toml",
        &orders_job(&server, "kind = \"page\"\nsize = 10", 2, REDUCERS),
    );
    (server, job)
}

fn count_in(path: &Path) -> u64 {
    let result: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    result["reducers"]["orders"].as_u64().unwrap()
}

#[test]
fn a_fifo_is_written_into_and_stays_a_fifo() {
    let ws = Workspace::new();
    let (_server, job) = small_job(&ws);
    let fifo = ws.path().join("results.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // The reader opens the FIFO first: the run's open then finds it, and the read ends when
    // the run closes it.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let run = run_job(&job, &["-o", fifo.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let read: Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(read["reducers"]["orders"], 30);
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO is still a FIFO: {kind:?}");
    assert_eq!(
        std::fs::read_dir(ws.path()).unwrap().count(),
        2,
        "no leftovers"
    );
}

#[test]
fn dev_full_gives_a_write_error_and_stays_a_device() {
    let ws = Workspace::new();
    let (_server, job) = small_job(&ws);
    let run = run_job(&job, &["-o", "/dev/full"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("cannot write the result to `/dev/full`"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("No space left on device"),
        "{}",
        run.stderr()
    );
    pin("output_dev_full", &ws, &run);
    let kind = std::fs::symlink_metadata("/dev/full").unwrap().file_type();
    assert!(kind.is_char_device(), "/dev/full is still a device");
}

#[test]
fn dev_null_and_dev_stdout_are_written_into() {
    let ws = Workspace::new();
    let (_server, job) = small_job(&ws);
    let run = run_job(&job, &["-o", "/dev/null"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(kind.is_char_device(), "/dev/null is still a device");
    // `/dev/stdout` is the pipe the test reads: the result comes through it.
    let output = command()
        .args(["run", job.to_str().unwrap(), "-q", "-o", "/dev/stdout"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["reducers"]["orders"], 30);
}

#[test]
fn a_symlink_is_written_through_and_stays_a_link() {
    let ws = Workspace::new();
    let (_server, job) = small_job(&ws);
    let real = ws.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("out.json"), "{}").unwrap();
    let link = ws.path().join("out.json");
    std::os::unix::fs::symlink("real/out.json", &link).unwrap();
    let run = run_job(&job, &["-o", link.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(count_in(&real.join("out.json")), 30);
    assert_eq!(
        std::fs::read_dir(&real).unwrap().count(),
        1,
        "the temporary file was in the target's folder, and is gone"
    );
}

#[test]
fn a_new_file_follows_the_umask_and_a_replaced_one_keeps_its_mode() {
    let ws = Workspace::new();
    let (_server, job) = small_job(&ws);
    let new = ws.path().join("new.json");
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 027 && exec \"$0\" run \"$1\" -q -o \"$2\"")
        .arg(env!("CARGO_BIN_EXE_pagefold"))
        .arg(&job)
        .arg(&new)
        .env(
            "PAGEFOLD_STATE",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("state"),
        )
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "0666 under umask 027");

    let kept = ws.path().join("kept.json");
    std::fs::write(&kept, "{}").unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o604)).unwrap();
    let run = run_job(&job, &["-o", kept.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(count_in(&kept), 30);
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o604, "the replaced file keeps its mode");
}

#[test]
fn a_read_only_file_is_not_replaced() {
    let ws = Workspace::new();
    let (_server, job) = small_job(&ws);
    let path = ws.path().join("frozen.json");
    std::fs::write(&path, "keep me").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let run = run_job(&job, &["-o", path.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("the file is read-only for this user"),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
    pin("output_read_only", &ws, &run);
}

/// Pins what a user reads when a result cannot go where it was asked to.
fn pin(name: &str, ws: &Workspace, run: &crate::support::Run) {
    let masks = crate::support::Masks::new()
        .path(ws.path(), "[work]")
        .rule(r"in \d+\.\ds", "in [time]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!(name, run.shown());
    });
}

#[test]
fn a_trace_goes_where_a_result_would_never_destroying_a_device_or_a_link() {
    let ws = Workspace::new();
    let (_server, job) = small_job(&ws);
    let run = run_job(&job, &["--trace", "/dev/null"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(kind.is_char_device(), "/dev/null is still a device");
    let real = ws.path().join("traces");
    std::fs::create_dir(&real).unwrap();
    let link = ws.path().join("run.trace.json");
    std::os::unix::fs::symlink("traces/run.trace.json", &link).unwrap();
    let run = run_job(&job, &["--trace", link.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(real.join("run.trace.json")).unwrap())
            .expect("the trace went through the link to its target");
    assert!(
        trace["traceEvents"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    );
}
