//! The demo API in a process of its own, as the benchmark serves it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The demo API in a process of its own (`pagefold demo-api`), so that its pages in memory
/// never count towards the peak RSS of what is measured.
pub(crate) struct DemoApi {
    pub(crate) process: std::process::Child,
    pub(crate) addr: String,
}

impl DemoApi {
    pub(crate) fn start(
        binary: &Path,
        pages: u64,
        page_size: u64,
        latency: Duration,
        totals: bool,
        faults: &[&str],
    ) -> Self {
        let mut command = Command::new(binary);
        command.args(["demo-api", "--port", "0", "--prerender"]);
        command.args(faults);
        command.args([
            "--pages",
            &pages.to_string(),
            "--page-size",
            &page_size.to_string(),
        ]);
        command.args([
            "--page-size-cap",
            &page_size.to_string(),
            "--latency",
            &format!("{}ms", latency.as_millis()),
        ]);
        if !totals {
            command.arg("--no-totals");
        }
        let mut process = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the demo API starts");
        let mut line = String::new();
        let stdout = process.stdout.take().expect("stdout is piped");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("the demo API prints its URL");
        let addr = line.trim().trim_start_matches("http://").to_owned();
        Self { process, addr }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Bytes of page bodies served so far, from `GET /_stats`.
    pub(crate) fn body_bytes(&self) -> u64 {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("the demo API answers");
        write!(
            stream,
            "GET /_stats HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.addr
        )
        .expect("the request is sent");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("the response is read");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        let stats: serde_json::Value = serde_json::from_str(body).expect("stats are JSON");
        stats["body_bytes"].as_u64().unwrap_or(0)
    }
}

impl Drop for DemoApi {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
