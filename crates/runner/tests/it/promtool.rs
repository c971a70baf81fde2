//! Prometheus's own checks of what pagefold exposes: `promtool check metrics`, `check rules`
//! and `test rules` (Debian's `prometheus` package; `.ci/run` installs it). Without promtool a
//! test says so loudly and returns: it is never faked. And a small reader of the text format,
//! to compare values with the history.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `promtool` on PATH, or `None` after a loud notice that the test is skipped.
pub fn promtool(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        eprintln!(
            "SKIPPED: promtool not found on PATH: {test} needs it (apt-get install prometheus, as .ci/run does)"
        );
    }
    found
}

/// Runs `promtool ARGS` with `input` on stdin; panics with its output unless it passes.
pub fn promtool_passes(promtool: &Path, args: &[&str], input: &str) {
    let mut child = Command::new(promtool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}\non:\n{input}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `promtool check metrics` passes on `text`, and says nothing (no lint either).
pub fn check_metrics(promtool: &Path, text: &str) {
    promtool_passes(promtool, &["check", "metrics"], text);
}

/// The samples of an exposition: `name{labels}` (as written) → value.
pub fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value = match value {
                "+Inf" => f64::INFINITY,
                "NaN" => f64::NAN,
                number => number.parse().expect("a number"),
            };
            (series.to_owned(), value)
        })
        .collect()
}

/// The value of `series` (as written, e.g. `pagefold_pages_total{job_name="a"}`).
pub fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no `{series}` in {samples:#?}"))
}
