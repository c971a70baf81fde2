//! Scenario 6: the usual script, python with requests, for comparison.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::demo_api::DemoApi;
use crate::measure::{Measured, timed};

pub(crate) fn run_python(
    binary: &Path,
    pages: u64,
    page_size: u64,
    latency: Duration,
    folder: &Path,
) -> Measured {
    let skipped = Measured::noted;
    let has_requests = Command::new("python3")
        .args(["-c", "import requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_requests {
        return skipped("skipped: python3 with requests is not installed");
    }
    let server = DemoApi::start(binary, pages, page_size, latency, true, &[]);
    let script = folder.join("seed_script.py");
    std::fs::write(&script, include_str!("seed_script.py")).expect("the script is written");
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .arg(server.url(""))
        .arg(pages.to_string())
        .arg(page_size.to_string());
    command.stdout(std::process::Stdio::null());
    let before = server.body_bytes();
    let sample = timed(&mut command);
    let body_bytes = server.body_bytes() - before;
    let note = if sample.success {
        String::new()
    } else {
        "FAILED".into()
    };
    Measured {
        wall: sample.wall,
        cpu: sample.cpu,
        peak_rss_kib: sample.peak_rss_kib,
        body_bytes,
        records: Some(pages * page_size),
        waited_on_reducers: None,
        note,
    }
}
