//! `pagefold report`: the HTML report of a traced run and its history, rendered in a real
//! headless browser (Chromium, driven from the command line, no node): no error in the page,
//! the run's numbers in the charts' DOM, and screenshots kept under
//! `target/test-artifacts/` to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Workspace, pagefold};
use crate::trace::{faulty_server, partitioned_job};

/// Chromium from the Debian packages (`.ci/run` installs it), or `PAGEFOLD_CHROMIUM`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PAGEFOLD_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.exists())
}

/// Runs headless Chromium on `page` with `extra` arguments; its stdout and stderr. Killed
/// after a minute: a browser that hangs fails the test rather than the whole suite.
fn headless(browser: &Path, profile: &Path, page: &str, extra: &[&str]) -> (String, String) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(page)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).ok();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let started = Instant::now();
    while child.try_wait().expect("chromium is waited for").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("chromium did not finish within a minute on {page}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (out.join().unwrap(), err.join().unwrap())
}

/// The opening tags of `html` that contain `needle`.
fn tags<'a>(html: &'a str, needle: &str) -> impl Iterator<Item = &'a str> + use<'a> {
    let needle = needle.to_owned();
    html.split('<')
        .map(|tag| tag.split('>').next().unwrap_or(""))
        .filter(move |tag| tag.contains(needle.as_str()))
}

/// The value of attribute `name` in an opening tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[start..start + tag[start..].find('"')?])
}

fn number(tag: &str, name: &str) -> f64 {
    attribute(tag, name)
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no number `{name}` in <{tag}>"))
}

/// The part of the DOM from the figure `data-chart="{chart}"` (with `extra` in its tag) to
/// the next figure.
fn figure<'a>(dom: &'a str, chart: &str, extra: &str) -> &'a str {
    let marker = format!("data-chart=\"{chart}\"");
    let start = dom
        .match_indices("<figure")
        .map(|(at, _)| at)
        .find(|&at| {
            let tag = &dom[at..at + dom[at..].find('>').unwrap()];
            tag.contains(&marker) && tag.contains(extra)
        })
        .unwrap_or_else(|| panic!("no figure {marker} {extra} in the DOM"));
    let end = dom[start + 7..]
        .find("<figure")
        .map_or(dom.len(), |at| start + 7 + at);
    &dom[start..end]
}

/// What a run of the job writes, through the binary.
fn run_traced(job: &Path, state: &Path, trace: Option<&Path>, output: &Path) -> Value {
    let mut args = vec![
        "run",
        job.to_str().unwrap(),
        "-q",
        "--state",
        state.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    if let Some(trace) = trace {
        args.extend(["--trace", trace.to_str().unwrap()]);
    }
    let run = pagefold(&args);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    serde_json::from_str(&std::fs::read_to_string(output).unwrap()).unwrap()
}

#[test]
fn the_report_renders_in_a_browser_with_the_runs_numbers() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED: the report's browser test: no Chromium at /usr/bin/chromium \
             (apt-get install chromium, as .ci/run does, or set PAGEFOLD_CHROMIUM)"
        );
        return;
    };
    let server = faulty_server();
    let work = Workspace::new();
    let job = work.job("report.toml", &partitioned_job(&server.url("/orders"), 4));
    let state = work.path().join("state");
    let trace_path = work.path().join("run.trace.json");
    // The traced run first (the API fails each page's first request only once), then two
    // more: a history of three.
    let result = run_traced(
        &job,
        &state,
        Some(&trace_path),
        &work.path().join("out.json"),
    );
    for run in 0..2 {
        run_traced(
            &job,
            &state,
            None,
            &work.path().join(format!("out{run}.json")),
        );
    }
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(&trace_path).unwrap()).unwrap();
    let requests = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "request")
        .count();
    let report_path = work.path().join("report.html");
    let made = pagefold(&[
        "report",
        job.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--trace",
        trace_path.to_str().unwrap(),
        "-o",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(made.code(), 0, "{}", made.stderr());
    let html = std::fs::read_to_string(&report_path).unwrap();
    // Self-contained: nothing to fetch when it is viewed.
    for outside in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(
            !html.contains(outside),
            "the report refers outside: `{outside}`"
        );
    }

    let page = format!("file://{}", report_path.display());
    let profile = work.path().join("chromium-profile");
    let (dom, log) = headless(&browser, &profile, &page, &["--dump-dom"]);
    assert!(
        dom.contains("data-drawn=\"yes\""),
        "the script did not finish:\n{log}"
    );
    assert!(
        dom.contains("<pre id=\"errors\"></pre>"),
        "errors on the page: {}",
        dom.split("<pre id=\"errors\">")
            .nth(1)
            .unwrap_or("")
            .split("</pre>")
            .next()
            .unwrap_or("")
    );
    let console: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("CONSOLE") || line.contains("Uncaught"))
        .collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );

    // The cards hold the run's totals.
    let card = |metric: &str| {
        let tag = tags(&dom, &format!("data-metric=\"{metric}\""))
            .next()
            .unwrap_or_else(|| panic!("no card {metric}"));
        number(tag, "data-value")
    };
    assert_eq!(card("requests") as usize, requests);
    assert_eq!(card("pages"), result["pages"].as_f64().unwrap());
    assert_eq!(card("records"), result["records"].as_f64().unwrap());
    assert_eq!(
        card("retries"),
        result["pages"].as_f64().unwrap(),
        "a retry a page"
    );

    // The waterfall: a bar a request, a track a chain (and its lanes).
    let waterfall = figure(&dom, "waterfall", "");
    assert_eq!(tags(waterfall, "data-duration=").count(), requests);
    let names: Vec<&str> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "thread_name" && e["tid"] != 0)
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    for status in ["paid", "open", "shipped"] {
        let track = names
            .iter()
            .find(|name| name.contains(status))
            .unwrap_or_else(|| panic!("no track for {status}: {names:?}"));
        assert!(
            waterfall.contains(&format!("<title>{track}</title>")),
            "{track}"
        );
    }

    // Throughput and latency count every request once.
    let counted = |chart: &str| -> f64 {
        tags(figure(&dom, chart, ""), "class=\"bar\"")
            .map(|tag| number(tag, "data-count"))
            .sum()
    };
    assert_eq!(counted("throughput") as usize, requests);
    assert_eq!(counted("latency") as usize, requests);

    // Retries and errors by kind: every page's first request failed with a 503.
    let kinds = figure(&dom, "kinds", "");
    let bar = |group: &str, kind: &str| {
        tags(
            kinds,
            &format!("data-group=\"{group}\" data-kind=\"{kind}\""),
        )
        .next()
        .map(|tag| number(tag, "data-value"))
    };
    assert_eq!(bar("retries", "HTTP 503"), result["pages"].as_f64());
    assert_eq!(bar("failed requests", "HTTP 503"), result["pages"].as_f64());

    // Where the time went: the fetching share is the run's request time.
    let time = figure(&dom, "time", "");
    let fetching = tags(time, "data-part=\"fetching\"").next().unwrap();
    let request_seconds = trace["otherData"]["pagefold"]["totals"]["request_us"]
        .as_f64()
        .unwrap()
        / 1e6;
    assert!((number(fetching, "data-value") - request_seconds).abs() < 0.001);

    // The history: three runs; each reducer across them, the last run's value the result's.
    let runs = figure(&dom, "runs", "");
    assert_eq!(tags(runs, "data-status=").count(), 3);
    let orders = figure(&dom, "reducer", "data-name=\"orders\"");
    let points: Vec<f64> = tags(orders, "data-value=")
        .map(|tag| number(tag, "data-value"))
        .collect();
    assert_eq!(points.len(), 3);
    assert_eq!(
        points.last().copied(),
        result["reducers"]["orders"].as_f64()
    );
    let by_status = figure(&dom, "reducer", "data-name=\"by_status\"");
    let run_id = trace["otherData"]["pagefold"]["totals"]["run_id"]
        .as_str()
        .unwrap();
    for (status, count) in result["reducers"]["by_status"].as_object().unwrap() {
        let stacked = tags(
            by_status,
            &format!("data-series=\"{status}\" data-run=\"{run_id}\""),
        )
        .next()
        .unwrap_or_else(|| panic!("no `{status}` in the last run's stack"));
        assert_eq!(Some(number(stacked, "data-value")), count.as_f64());
    }

    // Screenshots, light and dark, kept to look at.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    for (theme, file) in [("light", "report-light.png"), ("dark", "report-dark.png")] {
        let shot = artifacts.join(file);
        let _ = std::fs::remove_file(&shot);
        let (_, log) = headless(
            &browser,
            &profile,
            &format!("{page}#{theme}"),
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1280,2400",
                "--hide-scrollbars",
            ],
        );
        let size = std::fs::metadata(&shot)
            .unwrap_or_else(|_| panic!("no screenshot {}:\n{log}", shot.display()))
            .len();
        assert!(size > 10_000, "a blank screenshot? {size} bytes");
        eprintln!("screenshot: {}", shot.display());
    }
    std::fs::copy(&report_path, artifacts.join("report.html")).unwrap();
}

#[test]
fn a_report_without_a_trace_draws_the_history() {
    let server = faulty_server();
    let work = Workspace::new();
    let job = work.job("history.toml", &partitioned_job(&server.url("/orders"), 4));
    let state = work.path().join("state");
    run_traced(&job, &state, None, &work.path().join("out.json"));
    let report_path = work.path().join("history.html");
    let made = pagefold(&[
        "report",
        job.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "-o",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(made.code(), 0, "{}", made.stderr());
    assert!(
        made.stderr().contains("no trace: the history only"),
        "{}",
        made.stderr()
    );
    let html = std::fs::read_to_string(&report_path).unwrap();
    assert!(html.contains("\"run\":null"));
    assert!(html.contains("\"name\":\"orders\""));
}

#[test]
fn a_file_that_is_not_a_trace_is_refused_with_a_hint() {
    let work = Workspace::new();
    let job = work.job(
        "x.toml",
        "[source]\nurl = \"http://127.0.0.1:9/x\"\n[[reduce]]\nuse = \"count\"\n",
    );
    let bogus = work.job("bogus.json", "{\"not\": \"a trace\"}");
    let made = pagefold(&[
        "report",
        job.to_str().unwrap(),
        "--trace",
        bogus.to_str().unwrap(),
        "-o",
        work.path().join("r.html").to_str().unwrap(),
    ]);
    assert_eq!(made.code(), 2, "{}", made.stderr());
    assert!(made.stderr().contains("traceEvents"), "{}", made.stderr());
    assert!(made.stderr().contains("hint:"), "{}", made.stderr());
}
