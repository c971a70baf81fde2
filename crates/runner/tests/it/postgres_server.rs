//! A throwaway PostgreSQL server on loopback: a cluster made with `initdb` in a temporary
//! folder, started on a free port with its socket in that folder, trusting local connections,
//! and stopped (its folder removed) when the process that started it ends.
//!
//! PostgreSQL refuses to run as root: as root, the cluster is made and run as `nobody`
//! (through `runuser` or `setpriv`). Where no server can be had (no `initdb`, no way to
//! drop root), [`PostgresServer::start`] says why, and the callers skip loudly.
//!
//! Standard library only: the benchmark (`crates/bench`) includes this file too.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// A running server. It stops when the process ends (its watcher reads end-of-file on the
/// pipe this process holds) or when [`PostgresServer::stop`] is called.
pub struct PostgresServer {
    /// The port it listens on, at 127.0.0.1.
    pub port: u16,
    bin: PathBuf,
    watcher: Mutex<Option<(Child, ChildStdin)>>,
}

/// The folder of `initdb`, `pg_ctl` and `createdb`: `pg_config --bindir`, else the newest
/// Debian `/usr/lib/postgresql/N/bin`.
fn bin_dir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
        .filter(|dir| dir.join("initdb").exists());
    from_pg_config.or_else(|| {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .filter(|dir| dir.join("initdb").exists())
            .collect();
        dirs.sort_by_key(|dir| {
            dir.parent()
                .and_then(|version| version.file_name())
                .and_then(|name| name.to_str())
                .and_then(|name| name.parse::<u32>().ok())
        });
        dirs.pop()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Makes the cluster, starts it (`pg_ctl -w` returns once it takes connections), says
/// `ready`, then waits for end-of-file on stdin to stop it and remove the folder.
const SCRIPT: &str = r#"
set -e
"$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1
"$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 120 \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null
echo ready
cat >/dev/null || true
"$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
rm -rf "$PG_DIR"
"#;

impl PostgresServer {
    /// Makes and starts a cluster.
    ///
    /// # Errors
    ///
    /// Why there is no server: no PostgreSQL installed, root without a way to drop it, or
    /// the server's own log when it did not start.
    pub fn start() -> Result<Self, String> {
        let bin = bin_dir().ok_or("no PostgreSQL server installed (no `initdb`)")?;
        let unique = format!(
            "pagefold-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|time| time.as_nanos())
                .unwrap_or(0)
        );
        let dir = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        let mut command = if is_root() {
            let owned = Command::new("chown")
                .arg("nobody")
                .arg(&dir)
                .status()
                .map_err(|error| format!("chown: {error}"))?;
            if !owned.success() {
                return Err(format!("cannot give `{}` to `nobody`", dir.display()));
            }
            if available("runuser") {
                let mut command = Command::new("runuser");
                command.args(["-u", "nobody", "--", "sh", "-c", SCRIPT]);
                command
            } else if available("setpriv") {
                let mut command = Command::new("setpriv");
                command.args([
                    "--reuid=nobody",
                    "--regid=nogroup",
                    "--clear-groups",
                    "sh",
                    "-c",
                    SCRIPT,
                ]);
                command
            } else {
                return Err("running as root, and neither `runuser` nor `setpriv` is there to run PostgreSQL as `nobody`".into());
            }
        } else {
            let mut command = Command::new("sh");
            command.args(["-c", SCRIPT]);
            command
        };
        let port = free_port().map_err(|error| format!("no free port: {error}"))?;
        let mut child = command
            .env("PG_BIN", &bin)
            .env("PG_DIR", &dir)
            .env("PG_PORT", port.to_string())
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start the cluster's script: {error}"))?;
        let stdin = child.stdin.take().expect("piped");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
        if line.trim() != "ready" {
            let log = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            let _ = child.wait();
            return Err(format!(
                "the server did not start:\n{}{}",
                log("initdb.log"),
                log("server.log")
            ));
        }
        Ok(Self {
            port,
            bin,
            watcher: Mutex::new(Some((child, stdin))),
        })
    }

    /// Creates the database `name` (owned by `postgres`, who connects without a password).
    ///
    /// # Panics
    ///
    /// When `createdb` fails.
    pub fn create_database(&self, name: &str) {
        let status = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ])
            .status()
            .expect("createdb runs");
        assert!(status.success(), "createdb {name} failed");
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// Stops the server now and removes its folder.
    pub fn stop(&self) {
        let taken = self
            .watcher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((mut child, stdin)) = taken {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}
