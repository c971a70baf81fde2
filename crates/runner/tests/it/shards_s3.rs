//! Sharded runs with their parts and checkpoints in S3-compatible object storage: a real
//! S3 server (moto's server mode, `pip install 'moto[server]'`) started on a free loopback
//! port, never a mock of the client. Without `moto_server` on the PATH the tests say so and
//! skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pagefold_demo_api::DemoConfig;

use crate::shards::{PAGES, essence, every_reducer, read, run_indexed_job_with, start_shard_with};
use crate::support::{Workspace, demo_server, orders_job, run_job};

/// A moto S3 server on a free loopback port, stopped when dropped.
struct S3Server {
    process: Child,
    port: u16,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl S3Server {
    /// Starts `moto_server` on port 0 and reads the port it took; `None` (said loudly) when
    /// it is not installed.
    fn start() -> Option<Self> {
        let process = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut process) = process else {
            eprintln!(
                "SKIPPED: `moto_server` is not on the PATH, so the S3 tests cannot start a real \
                 S3-compatible server; install it with `pip install 'moto[server]'` (.ci/run does)"
            );
            return None;
        };
        let mut lines = BufReader::new(process.stderr.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("moto_server says where it listens")
                .unwrap();
            if let Some(at) = line.split("http://127.0.0.1:").nth(1) {
                break at.trim().parse().expect("a port");
            }
        };
        // Its log goes on; read and dropped, so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Some(Self { process, port })
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a shard reads the store from, as AWS tools read it.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// A plain HTTP request to the store: its status and body. moto refuses object requests
    /// without an `Authorization` header, and does not check the signature in it.
    fn request(&self, method: &str, path: &str) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 \
             Credential=testing/20261130/us-east-1/s3/aws4_request, SignedHeaders=host, \
             Signature=0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let text = String::from_utf8_lossy(&answer);
        let status = text[9..12].parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map_or_else(Vec::new, |(_, body)| body.as_bytes().to_vec());
        (status, body)
    }
}

fn with_env<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn parts_in_s3_merge_to_a_single_runs_result() {
    let Some(s3) = S3Server::start() else { return };
    assert_eq!(s3.request("PUT", "/pagefold-parts").0, 200);
    let server = demo_server(DemoConfig {
        records: 2000,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let reducers = every_reducer();
    let job = work.job("s3-pages.toml", &orders_job(&server, PAGES, 8, &reducers));
    let single = run_job(&job, &[]).result();
    let env = s3.env();
    let merged_path = work.path().join("merged.json");
    run_indexed_job_with(
        &job,
        "s3://pagefold-parts/runs",
        4,
        &merged_path,
        &with_env(&env),
    );
    let merged = read(&merged_path);
    assert_eq!(essence(&merged), essence(&single));
    assert_eq!(merged["merged_from"]["shards"], 4);
    let (status, listing) = s3.request("GET", "/pagefold-parts?prefix=runs/s3-pages/nightly-1/");
    assert_eq!(status, 200);
    let listing = String::from_utf8_lossy(&listing);
    for index in 0..4 {
        assert!(
            listing.contains(&format!("part-{index}-of-4.json")),
            "{listing}"
        );
    }
    assert!(
        !listing.contains("checkpoint.json"),
        "a finished shard leaves no checkpoint: {listing}"
    );

    // A part missing from the store is named.
    assert_eq!(
        s3.request(
            "DELETE",
            "/pagefold-parts/runs/s3-pages/nightly-1/part-2-of-4.json"
        )
        .0,
        204
    );
    let missing = crate::support::command()
        .args([
            "merge",
            job.to_str().unwrap(),
            "--parts",
            "s3://pagefold-parts/runs",
            "--run-id",
            "nightly-1",
        ])
        .envs(with_env(&env))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("run `nightly-1` is missing the part of shard 2 of 4 (in `s3://pagefold-parts/runs/s3-pages/nightly-1`)"),
        "{stderr}"
    );
}

#[test]
fn a_shard_killed_resumes_from_its_checkpoint_in_s3() {
    let Some(s3) = S3Server::start() else { return };
    assert_eq!(s3.request("PUT", "/pagefold-parts").0, 200);
    let server = demo_server(DemoConfig {
        records: 4000,
        latency: Duration::from_millis(30),
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job(
        "s3-killed.toml",
        &orders_job(&server, PAGES, 2, &every_reducer()),
    );
    let env = s3.env();
    let env = with_env(&env);
    let parts = "s3://pagefold-parts/runs";
    let checkpoint =
        "/pagefold-parts/runs/s3-killed/nightly-1/checkpoint/1/s3-killed.checkpoint.json";
    let mut shard = start_shard_with(&job, parts, (1, 2), &["--checkpoint-every", "30ms"], &env);
    let started = Instant::now();
    // Until the checkpoint in the store holds a few pages.
    let saved_pages = || {
        let (status, body) = s3.request("GET", checkpoint);
        let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status == 200 {
            envelope["content"]["pages"].as_u64().unwrap_or(0)
        } else {
            0
        }
    };
    while saved_pages() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no checkpoint in S3 within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    shard.kill().unwrap(); // SIGKILL; on Kubernetes the retried pod starts on another node
    let _ = shard.wait();
    // Another node: the shard's local copy of the checkpoint is gone.
    let local = std::env::temp_dir().join("pagefold-s3-killed-nightly-1-checkpoint-1");
    let _ = std::fs::remove_dir_all(&local);
    for index in [1, 0] {
        let output = start_shard_with(&job, parts, (index, 2), &[], &env)
            .wait_with_output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let merged = crate::support::command()
        .args([
            "merge",
            job.to_str().unwrap(),
            "--parts",
            parts,
            "--run-id",
            "nightly-1",
            "-q",
        ])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let merged: serde_json::Value = serde_json::from_slice(&merged.stdout).unwrap();
    let single = run_job(&job, &[]).result();
    assert_eq!(essence(&merged), essence(&single));
    assert!(
        merged["stats"]["resumed"]["pages"].as_u64().unwrap_or(0) > 0,
        "shard 1 resumed from the checkpoint in S3: {}",
        merged["stats"]
    );
}
