//! The bad input corpus (`tests/corpus`): each job must fail with its expected message and
//! exit code, never panic, and write nothing; its whole stderr is pinned as a snapshot
//! (`snapshots/it__corpus__corpus-NAME.snap`).

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Path as UrlPath;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::support::{DURATION, Masks, Workspace, run_job};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Serves the corpus's pages and the misbehaving endpoints on loopback until the test ends.
fn fixture_server() -> crate::support::Serving {
    let pages = corpus().join("pages");
    let router = Router::new()
        .route(
            "/pages/{name}",
            get(move |UrlPath(name): UrlPath<String>| {
                let pages = pages.clone();
                async move {
                    match std::fs::read(pages.join(&name)) {
                        Ok(bytes) => {
                            ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
                        }
                        Err(_) => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        )
        .route(
            "/status/{code}",
            get(|UrlPath(code): UrlPath<u16>| async move {
                (
                    StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT),
                    format!("status {code}"),
                )
                    .into_response()
            }),
        )
        .route(
            "/closes-mid-body",
            get(|| async {
                let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                    Ok(Bytes::from_static(br#"{"data":[{"id":1},"#)),
                    Err(std::io::Error::other("gone")),
                ];
                Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
            }),
        )
        .route(
            "/huge",
            get(|| async {
                let mut body = String::from(r#"{"data":["#);
                body.push_str(&"0,".repeat(1024 * 1024));
                body.push_str("0]}");
                ([(header::CONTENT_TYPE, "application/json")], body).into_response()
            }),
        );
    crate::support::Loopback::bind().serve(router)
}

/// A loopback address nothing listens on.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

struct Case {
    name: String,
    text: String,
    exit: i32,
    stderr: Vec<String>,
}

fn cases() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let exit = text
                .lines()
                .find_map(|l| l.strip_prefix("# exit: "))
                .expect("every case says its exit code");
            let stderr = text
                .lines()
                .filter_map(|l| l.strip_prefix("# stderr: "))
                .map(str::to_owned)
                .collect();
            Case {
                name: path.file_name().unwrap().to_string_lossy().into_owned(),
                exit: exit.parse().unwrap(),
                stderr,
                text,
            }
        })
        .collect()
}

#[test]
fn every_bad_input_fails_cleanly_with_its_message() {
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let (server, closed) = (fixture_server(), closed_port());
    let api = format!("http://{}", server.addr);
    let work = Workspace::new();
    let corpus = corpus();
    let mut failures = Vec::new();
    let mut stderrs = Vec::new();
    for case in &cases {
        let fill = |text: &str| {
            text.replace("{api}", &api)
                .replace("{closed}", &closed)
                .replace("{corpus}", &corpus.display().to_string())
        };
        // Plugin paths are made absolute, into the corpus folder; `[output]` goes last so
        // that line numbers stay those of the case file (a case about `[output]` has its own).
        let job = work.path().join(&case.name);
        let mut text =
            fill(&case.text).replace("plugin = \"", &format!("plugin = \"{}/", corpus.display()));
        if !text.contains("[output]") {
            text.push_str("\n[output]\npath = \"out.json\"\n");
        }
        std::fs::write(&job, text).unwrap();
        let run = run_job(&job, &[]);
        let stderr = run.stderr();
        let mut problems = Vec::new();
        if run.code() != case.exit {
            problems.push(format!("exit code {} instead of {}", run.code(), case.exit));
        }
        for expected in &case.stderr {
            let expected = fill(expected).replace("{job}", &job.display().to_string());
            if !stderr.contains(&expected) {
                problems.push(format!("stderr lacks `{expected}`"));
            }
        }
        if stderr.contains("panicked") {
            problems.push("it panicked".into());
        }
        if work.path().join("out.json").exists() || !run.stdout().is_empty() {
            problems.push("it wrote a result".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n--- stderr:\n{stderr}",
                case.name,
                problems.join("; ")
            ));
        }
        stderrs.push((case.name.trim_end_matches(".toml"), stderr));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    // The port of `{closed}` is that of `{api}` once filtered: both are loopback ports.
    let masks = Masks::new()
        .path(work.path(), "[work]")
        .path(&corpus, "[corpus]")
        // How long a page took to fail: "failed after 2 attempts in 1.2ms".
        .rule(
            &format!(r"(failed after \d+ attempts?) in {DURATION}\b"),
            "$1 in [time]",
        );
    insta::with_settings!({ filters => masks.filters() }, {
        for (stem, stderr) in &stderrs {
            insta::assert_snapshot!(format!("corpus-{stem}"), stderr);
        }
    });
}
