//! The hostile-server kit: a loopback server that answers as an attacker (or a broken proxy)
//! would — bombs, endless and slow bodies, deep JSON, redirect games, huge `Retry-After`s,
//! lying lengths, bytes that are not UTF-8, numbers past every machine type — driven by one
//! table of cases, each with the outcome it must keep: an exit code and what the user reads.
//!
//! The server speaks HTTP/1.1 by hand over a `TcpListener` on port 0, one thread a
//! connection, so that it can send what no well-behaved server library would (a
//! `Content-Length` that lies, a body cut in the middle, one byte a second).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Workspace, command, run_job};

/// What the kit's servers saw: counts per path, and whether a credential reached the other
/// origin.
#[derive(Default)]
struct Seen {
    requests: Mutex<std::collections::HashMap<String, u32>>,
    credential_elsewhere: AtomicBool,
}

/// The kit: the hostile server and a second origin (another port) that redirects point to.
struct Hostile {
    port: u16,
    other_port: u16,
    seen: Arc<Seen>,
}

impl Hostile {
    fn start() -> Self {
        let main = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = main.local_addr().unwrap().port();
        let other_port = other.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        bomb();
        for (listener, elsewhere) in [(main, false), (other, true)] {
            let seen = seen.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let seen = seen.clone();
                    std::thread::spawn(move || {
                        let _ = serve(stream, &seen, elsewhere, other_port);
                    });
                }
            });
        }
        Self {
            port,
            other_port,
            seen,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self, path: &str) -> u32 {
        let requests = self.seen.requests.lock().unwrap();
        requests.get(path).copied().unwrap_or(0)
    }
}

/// Reads one request's head; answers it as its path says.
fn serve(stream: TcpStream, seen: &Seen, elsewhere: bool, other_port: u16) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut credential = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
        credential |= header.to_ascii_lowercase().starts_with("authorization:");
    }
    if elsewhere && credential {
        seen.credential_elsewhere.store(true, Ordering::SeqCst);
    }
    let path = target.split('?').next().unwrap_or("/").to_owned();
    let count = {
        let mut requests = seen.requests.lock().unwrap();
        let count = requests.entry(path.clone()).or_default();
        *count += 1;
        *count
    };
    let query = target.split_once('?').map_or("", |(_, query)| query);
    answer(stream, &path, query, count, other_port)
}

const RECORDS: &str = r#"{"data":[{"n":1},{"n":2}]}"#;

fn head(status: &str, headers: &[(&str, String)]) -> String {
    let mut text = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text
}

fn json(mut stream: TcpStream, body: &[u8]) -> std::io::Result<()> {
    let head = head(
        "200 OK",
        &[
            ("Content-Type", "application/json".into()),
            ("Content-Length", body.len().to_string()),
        ],
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)
}

/// The gzip bomb, made once (compressing takes a while in a debug build).
fn bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"{\"data\":[").unwrap();
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..4 {
            encoder.write_all(&spaces).unwrap();
        }
        encoder.finish().unwrap()
    })
}

/// A JSON answer whose body is sent as `Content-Encoding: gzip`.
fn gzipped(mut stream: TcpStream, body: &[u8]) -> std::io::Result<()> {
    let head = head(
        "200 OK",
        &[
            ("Content-Type", "application/json".into()),
            ("Content-Encoding", "gzip".into()),
            ("Content-Length", body.len().to_string()),
        ],
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)
}

/// A cursor chain of 8 pages of 2 records: `/chain?cursor=N`.
fn chain_page(cursor: u64) -> Vec<u8> {
    let next = if cursor < 7 {
        Value::from((cursor + 1).to_string())
    } else {
        Value::Null
    };
    serde_json::json!({
        "data": [{"n": cursor * 2}, {"n": cursor * 2 + 1}],
        "next": next,
    })
    .to_string()
    .into_bytes()
}

fn cursor_of(query: &str) -> u64 {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("cursor="))
        .and_then(|cursor| cursor.parse().ok())
        .unwrap_or(0)
}

fn answer(
    mut stream: TcpStream,
    path: &str,
    query: &str,
    count: u32,
    other_port: u16,
) -> std::io::Result<()> {
    match path {
        "/ok" => json(stream, RECORDS.as_bytes()),
        // 4 MiB of spaces in a few KiB of gzip: larger than the job's 1 MiB once inflated.
        "/bomb" => gzipped(stream, bomb()),
        // A page compressed as the client asked: inflated and counted.
        "/gzip" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(RECORDS.as_bytes())?;
            gzipped(stream, &encoder.finish()?)
        }
        // A body that says it is gzip and is not.
        "/gzip-broken" => gzipped(stream, b"{\"data\":[1,2]}"),
        // A chunked body that never ends: written until the client hangs up.
        "/endless" => {
            let head = head(
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Transfer-Encoding", "chunked".into()),
                ],
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(b"9\r\n{\"data\":[\r\n")?;
            let chunk = format!("{:x}\r\n{}\r\n", 8192, "[1],".repeat(2048));
            loop {
                stream.write_all(chunk.as_bytes())?;
            }
        }
        // A slowloris: one byte of the body every 50 ms, for ever.
        "/slow" => {
            let head = head(
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Content-Length", "1000000".into()),
                ],
            );
            stream.write_all(head.as_bytes())?;
            loop {
                stream.write_all(b" ")?;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Records nested 100 000 levels deep.
        "/deep" => {
            let depth = 100_000;
            let body = format!("{{\"data\":[{}{}]}}", "[".repeat(depth), "]".repeat(depth));
            json(stream, body.as_bytes())
        }
        // A redirect to another origin: followed, without the job's credentials.
        "/redirect-other" => {
            let location = format!("http://127.0.0.1:{other_port}/ok");
            stream.write_all(
                head(
                    "302 Found",
                    &[("Location", location), ("Content-Length", "0".into())],
                )
                .as_bytes(),
            )
        }
        // A redirect to itself, for ever.
        "/redirect-loop" => stream.write_all(
            head(
                "302 Found",
                &[
                    ("Location", "/redirect-loop".into()),
                    ("Content-Length", "0".into()),
                ],
            )
            .as_bytes(),
        ),
        "/retry-after-huge" => stream.write_all(
            head(
                "429 Too Many Requests",
                &[
                    ("Retry-After", "999999".into()),
                    ("Content-Length", "0".into()),
                ],
            )
            .as_bytes(),
        ),
        // Half the promised body, then the connection closes.
        "/truncated" => {
            let head = head(
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Content-Length", (RECORDS.len() * 2).to_string()),
                ],
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(RECORDS.as_bytes())
        }
        // A length shorter than the body: the body is cut where the length says.
        "/short-length" => {
            let head = head(
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Content-Length", (RECORDS.len() - 5).to_string()),
                ],
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(RECORDS.as_bytes())
        }
        "/not-utf8" => json(stream, b"{\"data\":[{\"name\":\"caf\xe9\"}]}"),
        "/huge-numbers" => json(
            stream,
            br#"{"data":[{"n":123456789012345678901234567890},{"n":1e400},{"n":-1e-400}]}"#,
        ),
        // Page 3 of the chain is throttled for 11 days on its first request, the fourth
        // request of the path (pages 0 to 2 came before it).
        "/chain" => {
            let cursor = cursor_of(query);
            if cursor == 3 && count == 4 {
                return stream.write_all(
                    head(
                        "429 Too Many Requests",
                        &[
                            ("Retry-After", "999999".into()),
                            ("Content-Length", "0".into()),
                        ],
                    )
                    .as_bytes(),
                );
            }
            json(stream, &chain_page(cursor))
        }
        // Numbered pages 1 to 8 of 2 records, each taking 300 ms: a run with a short
        // deadline ends part of the way.
        "/pages-slow" => {
            std::thread::sleep(Duration::from_millis(300));
            let page = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("page="))
                .and_then(|page| page.parse::<u64>().ok())
                .unwrap_or(1);
            let body = if (1..=8).contains(&page) {
                serde_json::json!({ "data": [{ "n": page * 2 }, { "n": page * 2 + 1 }] })
            } else {
                serde_json::json!({ "data": [] })
            };
            json(stream, body.to_string().as_bytes())
        }
        // Throttled for 6 s on the first request: a wait worth saying in a log.
        "/retry-after-six" if count == 1 => stream.write_all(
            head(
                "429 Too Many Requests",
                &[("Retry-After", "6".into()), ("Content-Length", "0".into())],
            )
            .as_bytes(),
        ),
        "/retry-after-six" => json(stream, RECORDS.as_bytes()),
        _ => stream.write_all(head("404 Not Found", &[("Content-Length", "0".into())]).as_bytes()),
    }
}

/// A job over `url` with a token, small limits and quick retries.
fn job(
    ws: &Workspace,
    url: &str,
    pagination: &str,
    extra_fetch: &str,
    reducers: &str,
) -> std::path::PathBuf {
    ws.job(
        "hostile.toml",
        &format!(
            r#"
[source]
url = "{url}"
records = "/data"

[source.auth]
kind = "bearer"
token = "secret-token-1234"

[source.pagination]
{pagination}

[fetch]
concurrency = 2
timeout = "1s"
connect_timeout = "1s"
retries = 1
max_body = 1048576
backoff = {{ base = "1ms", max = "2ms" }}
{extra_fetch}

{reducers}
"#
        ),
    )
}

const COUNT: &str = "[[reduce]]\nname = \"records\"\nuse = \"count\"\n";

/// One hostile case: where, and what the user must see.
struct Case {
    path: &'static str,
    reducers: &'static str,
    code: i32,
    /// Found on stderr (an error) or stdout (a result).
    says: &'static str,
}

const CASES: &[Case] = &[
    Case {
        path: "/bomb",
        reducers: COUNT,
        code: 1,
        says: "the response body is larger than 1048576 bytes",
    },
    Case {
        path: "/gzip",
        reducers: COUNT,
        code: 0,
        says: "\"records\": 2",
    },
    Case {
        path: "/gzip-broken",
        reducers: COUNT,
        code: 1,
        says: "the body says it is gzip but cannot be inflated: invalid gzip header",
    },
    Case {
        path: "/endless",
        reducers: COUNT,
        code: 1,
        says: "the response body is larger than 1048576 bytes",
    },
    Case {
        path: "/slow",
        reducers: COUNT,
        code: 1,
        says: "no response within 1s",
    },
    Case {
        path: "/deep",
        reducers: COUNT,
        code: 0,
        says: "\"records\": 1",
    },
    Case {
        path: "/redirect-other",
        reducers: COUNT,
        code: 0,
        says: "\"records\": 2",
    },
    Case {
        path: "/redirect-loop",
        reducers: COUNT,
        code: 1,
        says: "more than 10 redirects",
    },
    Case {
        path: "/retry-after-huge",
        reducers: COUNT,
        code: 1,
        says: "asked to wait 11d 13h 46m 39s before trying again (`Retry-After`), longer than `max_retry_after` (5m) allows",
    },
    Case {
        path: "/truncated",
        reducers: COUNT,
        code: 1,
        says: "the response body broke off",
    },
    Case {
        path: "/short-length",
        reducers: COUNT,
        code: 1,
        says: "the body is not JSON",
    },
    Case {
        path: "/not-utf8",
        reducers: COUNT,
        code: 1,
        says: "the body is not UTF-8 (invalid byte at offset 21)",
    },
    Case {
        path: "/huge-numbers",
        reducers: "[[reduce]]\nname = \"max\"\nuse = \"max\"\nfield = \"/n\"\n",
        code: 0,
        says: "\"max\": 1e+400",
    },
];

#[test]
fn every_hostile_case_keeps_its_outcome() {
    let kit = Hostile::start();
    let mut failures = Vec::new();
    // What a user reads of each case, pinned as one reviewed text.
    let mut shown = String::new();
    for case in CASES {
        let ws = Workspace::new();
        let job = job(
            &ws,
            &kit.url(case.path),
            "kind = \"none\"",
            "",
            case.reducers,
        );
        let run = run_job(&job, &[]);
        let (stdout, stderr) = (run.stdout(), run.stderr());
        if run.code() != 0 {
            shown.push_str(&format!(
                "=== {}
{}
",
                case.path,
                run.shown()
            ));
        }
        if run.code() != case.code || !(stdout.contains(case.says) || stderr.contains(case.says)) {
            failures.push(format!(
                "{}: exit {} (expected {}), expected `{}`\nstdout: {stdout}\nstderr: {stderr}",
                case.path,
                run.code(),
                case.code,
                case.says
            ));
        }
        assert!(
            !stderr.contains("secret-token-1234") && !stdout.contains("secret-token-1234"),
            "{}: the token was shown",
            case.path
        );
    }
    assert!(
        !kit.seen.credential_elsewhere.load(Ordering::SeqCst),
        "a credential went to the other origin (port {})",
        kit.other_port
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let masks = crate::support::Masks::new()
        .rule(r"\d+(\.\d+)?(ms|s)\b", "[time]")
        .rule(r"/tmp/\S+/([\w.-]+\.toml)", "[work]/$1");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("hostile_answers", shown);
    });
}

/// A `Retry-After` past `max_retry_after` ends the run with the progress saved; the same
/// command resumes and the result is exact.
#[test]
fn a_huge_retry_after_ends_the_run_and_the_same_command_resumes() {
    let kit = Hostile::start();
    let ws = Workspace::new();
    let job = job(
        &ws,
        &kit.url("/chain"),
        "kind = \"cursor\"\nparam = \"cursor\"\nnext = \"/next\"",
        "",
        COUNT,
    );
    let checkpoints = ws.path().join("checkpoints");
    let args = ["--checkpoint", checkpoints.to_str().unwrap()];
    let first = run_job(&job, &args);
    assert_eq!(first.code(), 1, "{}", first.stderr());
    assert!(
        first.stderr().contains("asked to wait 11d 13h 46m 39s before trying again (`Retry-After`), longer than `max_retry_after` (5m) allows"),
        "{}",
        first.stderr()
    );
    assert!(
        first.stderr().contains(
            "hint: nothing was written; the progress is saved in `"
        ) && first
            .stderr()
            .contains("`: run the same command again later to resume, or raise `max_retry_after` in [fetch]"),
        "{}",
        first.stderr()
    );
    let second = run_job(&job, &args);
    let result = second.result();
    assert_eq!(result["reducers"]["records"], 16);
    assert_eq!(result["stats"]["resumed"]["pages"], 3, "{result}");
    // A cursor chain is walked again to page 3 (its cursor is in page 2's body); the pages
    // on the way are not reduced twice.
    assert_eq!(kit.requests("/chain"), 4 + 8);
}

/// `deadline` ends a run part of the way with its progress saved; runs of the same command
/// go on from there until the job is done, exactly.
#[test]
fn a_deadline_ends_the_run_and_the_same_command_goes_on() {
    let kit = Hostile::start();
    let ws = Workspace::new();
    let job = job(
        &ws,
        &kit.url("/pages-slow"),
        "kind = \"page\"",
        "deadline = \"700ms\"",
        COUNT,
    );
    let checkpoints = ws.path().join("checkpoints");
    let args = [
        "--checkpoint",
        checkpoints.to_str().unwrap(),
        "--checkpoint-every",
        "50ms",
    ];
    let mut ended_by_deadline = 0;
    let result = loop {
        let run = run_job(&job, &args);
        if run.code() == 0 {
            break run.result();
        }
        assert_eq!(run.code(), 1, "{}", run.stderr());
        assert!(
            run.stderr().contains("the run's `deadline` of 0.7s")
                || run.stderr().contains("the run's `deadline` of 700ms"),
            "{}",
            run.stderr()
        );
        assert!(
            run.stderr().contains("or raise `deadline` in [fetch]"),
            "{}",
            run.stderr()
        );
        ended_by_deadline += 1;
        assert!(ended_by_deadline < 8, "no progress: {}", run.stderr());
    };
    assert!(
        ended_by_deadline >= 1,
        "the first run ended by its deadline"
    );
    assert_eq!(result["reducers"]["records"], 16);
}

/// With stderr not a terminal (a log), a wait longer than 5 s is said, so that a run asleep
/// does not look hung.
#[test]
fn a_long_wait_is_said_in_a_log() {
    let kit = Hostile::start();
    let ws = Workspace::new();
    let job = job(
        &ws,
        &kit.url("/retry-after-six"),
        "kind = \"none\"",
        "",
        COUNT,
    );
    let output = command()
        .args(["run", job.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "waiting 6s before retrying `{}` (HTTP 429)",
            kit.url("/retry-after-six")
        )),
        "{stderr}"
    );
}
