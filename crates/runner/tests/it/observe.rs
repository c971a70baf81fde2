//! Operating pagefold: `pagefold schedule --metrics` serves what `promtool check metrics`
//! accepts; `--metrics-file` and `--pushgateway` leave the same metrics for runs that no server
//! scrapes (`pagefold run`, `schedule --once`), their counters going on from the history; the
//! webhooks of `[alerts]` and `--alerts` (one alert a run, secrets hidden, the payload pinned);
//! and the deploy files: the alert rules pass `promtool check rules` and their unit tests, the
//! Grafana dashboard queries only metrics that pagefold writes, and the README lists them all.
//!
//! The scheduler's metrics against its history, and alerts through refusals, are tested on
//! the hand-moved clock in `schedule/observed.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use pagefold::observe::metrics::FAMILIES;
use pagefold::state::StateDir;
use pagefold::state::history::{HistoryEntry, Status};
use serde_json::Value;

use crate::gate::GateServer;
use crate::promtool::{check_metrics, promtool, promtool_passes, samples, value};
use crate::receivers::Receiver;
use crate::support::{Masks, Workspace, command, pagefold, pagefold_with_env};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A job over the gate server's one page of three items (`n` summed), with `extra` lines.
fn gated(ws: &Workspace, name: &str, api: &GateServer, extra: &str) -> PathBuf {
    ws.job(
        &format!("{name}.toml"),
        &format!(
            "{extra}\n[source]\nurl = \"{}\"\n\n[[reduce]]\nname = \"n\"\nuse = \"sum\"\nfield = \"/n\"\n",
            api.url()
        ),
    )
}

/// A job that fails at once (nothing listens on port 9), with `extra` lines on top.
fn failing(ws: &Workspace, name: &str, extra: &str) -> PathBuf {
    ws.job(
        &format!("{name}.toml"),
        &format!("{extra}\n[source]\nurl = \"http://127.0.0.1:9/items\"\n[fetch]\nretries = 0\n"),
    )
}

/// Fast retries, for `[alerts]`.
const FAST: &str = "retries = 5\nbackoff = { base = \"1ms\", max = \"5ms\" }\n";

fn history(ws: &Workspace, job: &str) -> Vec<HistoryEntry> {
    StateDir::open(Some(&ws.path().join("state")))
        .unwrap()
        .job(job)
        .history()
        .unwrap()
}

fn count(entries: &[HistoryEntry], status: Status) -> f64 {
    entries.iter().filter(|e| e.status == status).count() as f64
}

#[test]
fn the_scheduler_serves_metrics_that_promtool_accepts() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    gated(&ws, "every_second", &api, "schedule = \"* * * * * *\"");
    let state = ws.path().join("state");
    let mut child = Killed(
        command()
            .args(["schedule", "--metrics", "127.0.0.1:0", "--state"])
            .arg(&state)
            .arg(ws.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_once("serving metrics at ")
        .map(|(_, url)| url.to_owned())
        .unwrap_or_else(|| panic!("the address first: {first}"));
    // The rest of stderr is read on, so that the scheduler never blocks on a full pipe.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    let ok = "pagefold_runs_total{job_name=\"every_second\",status=\"ok\"}";
    let deadline = Instant::now() + Duration::from_secs(30);
    let (scraped, ok_scraped) = loop {
        let scraped = http_get(&addr, "/metrics");
        // Nothing until the job is loaded: the endpoint listens before the jobs are read.
        let ok_scraped = samples(&scraped).get(ok).copied().unwrap_or_default();
        if ok_scraped >= 2.0 {
            break (scraped, ok_scraped);
        }
        assert!(Instant::now() < deadline, "no two runs counted:\n{scraped}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
    let rest = rest.join().unwrap();
    assert!(rest.iter().any(|l| l.contains("SIGTERM")), "{rest:#?}");
    let ok_recorded = count(&history(&ws, "every_second"), Status::Ok);
    assert!(
        ok_scraped <= ok_recorded,
        "{ok_scraped} ok runs scraped, {ok_recorded} recorded"
    );
    assert!(scraped.contains("pagefold_running{job_name=\"every_second\"} "));
    assert!(scraped.contains("pagefold_next_run_timestamp_seconds{job_name=\"every_second\"} "));
    if let Some(promtool) = promtool("the endpoint of the binary") {
        check_metrics(&promtool, &scraped);
    }
}

/// A child process killed when the test ends, however it ends: a failed assertion must not
/// leave a scheduler running (and holding the test's output open).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The body of `GET PATH` at `addr`.
fn http_get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: pagefold\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

#[test]
fn metrics_on_an_address_in_use_are_refused_with_a_hint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let ws = Workspace::new();
    let job = ws.job(
        "j.toml",
        "schedule = \"0 0 1 1 *\"\n[source]\nurl = \"http://127.0.0.1:9/\"\n",
    );
    let run = pagefold(&[
        "schedule",
        "--once",
        "--metrics",
        &addr,
        job.to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.starts_with(&format!(
            "error: cannot serve metrics on `{addr}`\n  caused by: "
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: choose another address or a free port"),
        "{stderr}"
    );
}

#[test]
fn once_from_cron_leaves_a_metrics_file_and_alerts_its_failure_once() {
    let receiver = Receiver::start(1, true);
    let ws = Workspace::new();
    let job = failing(&ws, "nightly", "schedule = \"* * * * * *\"");
    let alerts = ws.job(
        "alerts.conf",
        &format!(
            "[alerts]\non_failure = \"{}\"\n{FAST}",
            receiver.url("/hook")
        ),
    );
    let metrics = ws.path().join("textfile/pagefold.prom");
    let state = ws.path().join("state");
    let run = pagefold(&[
        "schedule",
        "--once",
        "--state",
        state.to_str().unwrap(),
        "--metrics-file",
        metrics.to_str().unwrap(),
        "--alerts",
        alerts.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let text = std::fs::read_to_string(&metrics).expect("the metrics file is written");
    let values = samples(&text);
    let entries = history(&ws, "nightly");
    assert_eq!(entries.len(), 1);
    for status in Status::ALL {
        let series = format!(
            "pagefold_runs_total{{job_name=\"nightly\",status=\"{}\"}}",
            status.as_str()
        );
        assert_eq!(value(&values, &series), count(&entries, status), "{series}");
    }
    assert_eq!(
        value(&values, "pagefold_running{job_name=\"nightly\"}"),
        0.0
    );
    assert_eq!(
        value(
            &values,
            "pagefold_last_failure_timestamp_seconds{job_name=\"nightly\"}"
        ),
        entries[0].ended.timestamp_millis() as f64 / 1000.0
    );
    assert!(values.contains_key("pagefold_next_run_timestamp_seconds{job_name=\"nightly\"}"));
    let leftovers: Vec<_> = std::fs::read_dir(metrics.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["pagefold.prom"], "no temporary file left");
    let taken = receiver.taken();
    assert_eq!(taken.len(), 1, "one alert for the one failed run");
    assert_eq!(taken[0].json()["run_id"], entries[0].run_id.as_str());
    assert_eq!(receiver.arrived().len(), 2, "refused once, then taken");
    if let Some(promtool) = promtool("a metrics file") {
        check_metrics(&promtool, &text);
    }
}

#[test]
fn run_writes_and_pushes_metrics_that_go_on_from_the_history_and_alerts_its_success() {
    let api = GateServer::start(true);
    let gateway = Receiver::start(1, true);
    let hooks = Receiver::start(0, true);
    let ws = Workspace::new();
    let alerts = format!("[alerts]\non_success = \"{}\"\n{FAST}", hooks.url("/done"));
    let job = gated(&ws, "pushed", &api, &alerts);
    let metrics = ws.path().join("pushed.prom");
    let state = ws.path().join("state");
    for _ in 0..2 {
        let run = pagefold(&[
            "run",
            job.to_str().unwrap(),
            "-q",
            "--state",
            state.to_str().unwrap(),
            "--metrics-file",
            metrics.to_str().unwrap(),
            "--pushgateway",
            &gateway.url("/"),
        ]);
        assert_eq!(run.code(), 0, "{}", run.stderr());
    }
    let text = std::fs::read_to_string(&metrics).unwrap();
    let values = samples(&text);
    assert_eq!(
        value(
            &values,
            "pagefold_runs_total{job_name=\"pushed\",status=\"ok\"}"
        ),
        2.0,
        "the second run's file counts the first run too"
    );
    assert_eq!(
        value(&values, "pagefold_records_total{job_name=\"pushed\"}"),
        6.0
    );
    assert!(
        !text.contains("pagefold_next_run"),
        "a manual run knows no schedule"
    );
    let pushes = gateway.taken();
    assert_eq!(pushes.len(), 2, "one push a run");
    for push in &pushes {
        assert_eq!(push.path, "/metrics/job/pagefold/job_name/pushed");
        assert_eq!(
            push.content_type.as_deref(),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
    }
    assert_eq!(pushes[1].body, text, "the push holds what the file does");
    // The stand-in refuses the first push to a group once: the push is tried again.
    assert_eq!(
        gateway.arrived().len(),
        3,
        "refused once, then taken; then taken"
    );
    let alerts: Vec<Value> = hooks.taken().iter().map(|a| a.json()).collect();
    assert_eq!(alerts.len(), 2, "one alert a run");
    assert!(
        alerts
            .iter()
            .all(|a| a["event"] == "success" && a["records"] == 3)
    );
    if let Some(promtool) = promtool("a pushed metrics text") {
        check_metrics(&promtool, &pushes[0].body);
        check_metrics(&promtool, &text);
    }
}

#[test]
fn a_metrics_file_of_two_runs_reads_as_pinned() {
    let api = GateServer::start(true);
    let ws = Workspace::new();
    let job = gated(&ws, "pinned", &api, "schedule = \"0 6 * * *\"");
    let metrics = ws.path().join("pinned.prom");
    let state = ws.path().join("state");
    let run = |job: &Path| {
        pagefold(&[
            "run",
            job.to_str().unwrap(),
            "-q",
            "--state",
            state.to_str().unwrap(),
            "--metrics-file",
            metrics.to_str().unwrap(),
        ])
    };
    assert_eq!(run(&job).code(), 0);
    // The same job, its API gone: a failed run.
    failing(&ws, "pinned", "");
    assert_eq!(run(&job).code(), 1);
    let text = std::fs::read_to_string(&metrics).unwrap();
    let masks = Masks::new()
        .rule(
            r"(_timestamp_seconds\{[^}]*\}) \d+(\.\d+)?",
            "$1 [unix time]",
        )
        .rule(r"(_duration_seconds_sum\{[^}]*\}) \S+", "$1 [seconds]")
        .rule(r"(_duration_seconds_bucket\{[^}]*\}) \d+", "$1 [runs]")
        .rule(r#"version="[^"]+""#, r#"version="[version]""#);
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("metrics-file", text);
    });
}

#[test]
fn an_alert_hides_secrets_and_reads_as_pinned() {
    let hooks = Receiver::start(0, true);
    let ws = Workspace::new();
    let token = "pf-hook-secret-0123456789";
    let job = ws.job(
        "leaky.toml",
        &format!(
            "[source]\nurl = \"http://127.0.0.1:9/items?token=${{env.PF_HOOK_TOKEN}}\"\n\
             headers = {{ X-Api-Key = \"${{env.PF_HOOK_TOKEN}}\" }}\n[fetch]\nretries = 0\n\
             [alerts]\non_failure = \"{}\"\n{FAST}",
            hooks.url("/alert")
        ),
    );
    let state = ws.path().join("state");
    let run = pagefold_with_env(
        &[
            "run",
            job.to_str().unwrap(),
            "-q",
            "--state",
            state.to_str().unwrap(),
        ],
        &[("PF_HOOK_TOKEN", token)],
    );
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let taken = hooks.taken();
    assert_eq!(taken.len(), 1);
    assert!(!taken[0].body.contains(token), "{}", taken[0].body);
    assert!(taken[0].body.contains("token=****"), "{}", taken[0].body);
    let pretty = serde_json::to_string_pretty(&taken[0].json()).unwrap();
    let masks = Masks::new()
        .path(ws.path(), "[work]")
        .rule(r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b", "[run id]")
        .rule(
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z",
            "[RFC 3339 time]",
        )
        .rule(
            r#""duration_seconds": [0-9.e-]+"#,
            r#""duration_seconds": [seconds]"#,
        )
        .rule(r"in \d+(\.\d+)?(ns|µs|ms|s)\b", "in [time]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("alert-payload", pretty);
    });
}

#[test]
fn a_webhook_url_that_fails_is_not_shown() {
    let ws = Workspace::new();
    let job = failing(&ws, "quiet", "");
    std::fs::write(
        &job,
        std::fs::read_to_string(&job).unwrap()
            + "[alerts]\non_failure = \"http://127.0.0.1:9/services/T0/B0/hooksecret\"\nretries = 0\n",
    )
    .unwrap();
    let state = ws.path().join("state");
    let run = pagefold(&[
        "run",
        job.to_str().unwrap(),
        "-q",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(
        stderr
            .contains("warning: the on_failure webhook of `quiet` did not take the alert of run "),
        "{stderr}"
    );
    assert!(
        stderr.contains("could not be reached (1 attempt in "),
        "{stderr}"
    );
    assert!(!stderr.contains("hooksecret"), "{stderr}");
}

#[test]
fn a_bad_alerts_file_is_refused_with_its_place() {
    let ws = Workspace::new();
    let alerts = ws.job("alerts.conf", "[alerts]\non_failure = \"slack\"\n");
    let job = ws.job(
        "j.toml",
        "schedule = \"0 0 1 1 *\"\n[source]\nurl = \"http://127.0.0.1:9/\"\n",
    );
    let run = pagefold(&[
        "schedule",
        "--once",
        "--alerts",
        alerts.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.starts_with(&format!(
            "error: {}:2:14: `on_failure` is not an http or https URL",
            alerts.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: write the webhook's whole URL"),
        "{stderr}"
    );
}

/// The metric names a text mentions: `pagefold_…`, a histogram's series by their family.
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("pagefold_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| FAMILIES.iter().any(|(family, ..)| family == base))
            .unwrap_or(name);
        names.push(family.to_owned());
        rest = &tail[end..];
    }
    names
}

fn known(name: &str) -> bool {
    FAMILIES.iter().any(|(family, ..)| *family == name)
}

#[test]
fn the_alert_rules_pass_promtool_and_their_tests() {
    let rules = repository().join("deploy/prometheus/alerts.yml");
    let text = std::fs::read_to_string(&rules).unwrap();
    let names = metric_names(&text);
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        assert!(
            known(name),
            "alerts.yml queries `{name}`, which pagefold does not write"
        );
    }
    let Some(promtool) = promtool("the alert rules") else {
        return;
    };
    promtool_passes(&promtool, &["check", "rules", rules.to_str().unwrap()], "");
    let tests = repository().join("deploy/prometheus/alerts.test.yml");
    promtool_passes(&promtool, &["test", "rules", tests.to_str().unwrap()], "");
}

#[test]
fn the_dashboard_queries_only_metrics_that_pagefold_writes() {
    let path = repository().join("deploy/grafana/pagefold.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .expect("the dashboard is JSON");
    assert_eq!(dashboard["uid"], "pagefold");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut queried = std::collections::BTreeSet::new();
    for panel in panels {
        let targets = panel["targets"].as_array().expect("each panel queries");
        assert!(!targets.is_empty(), "{}", panel["title"]);
        for target in targets {
            let expr = target["expr"].as_str().expect("a PromQL expression");
            for name in metric_names(expr) {
                assert!(known(&name), "`{}` queries `{name}`", panel["title"]);
                queried.insert(name);
            }
        }
    }
    // Each query parses as PromQL, its Grafana variables filled in: promtool reads it as a
    // recording rule.
    if let Some(promtool) = promtool("the dashboard's queries") {
        let ws = Workspace::new();
        let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
        for (index, panel) in panels.iter().enumerate() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$job_name", ".*")
                    .replace("$window", "6h");
                rules.push_str(&format!(
                    "      - record: pagefold:dashboard:panel{index}\n        expr: {}\n",
                    serde_json::to_string(&expr).unwrap()
                ));
            }
        }
        let file = ws.job("dashboard-rules.yml", &rules);
        promtool_passes(&promtool, &["check", "rules", file.to_str().unwrap()], "");
    }
    let unused: Vec<&str> = FAMILIES
        .iter()
        .map(|(name, ..)| *name)
        .filter(|name| !queried.contains(*name) && *name != "pagefold_build_info")
        .collect();
    assert!(unused.is_empty(), "the dashboard shows none of {unused:?}");
}

#[test]
fn the_readme_lists_every_metric_with_its_type() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    for (name, kind, _) in FAMILIES {
        let kind = format!("{kind:?}").to_lowercase();
        assert!(
            readme.contains(&format!("| `{name}` | {kind} |")),
            "the README's metrics table lacks `{name}` ({kind})"
        );
    }
}
