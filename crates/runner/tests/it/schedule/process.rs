//! `pagefold schedule` started as a process on real time: started, watched until what a
//! test waits for is on disk, then stopped with SIGTERM as a service manager stops it.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::command;

/// A running `pagefold schedule`.
pub(super) struct ScheduleProcess {
    child: Child,
}

impl ScheduleProcess {
    /// `pagefold schedule [extra…] --state STATE FOLDER`, its output piped.
    pub(super) fn start(extra: &[&str], state: &Path, folder: &Path) -> Self {
        let child = command()
            .arg("schedule")
            .args(extra)
            .arg("--state")
            .arg(state)
            .arg(folder)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self { child }
    }

    /// Waits until `found` gives a value, for at most `within`. Polled: what it reads is
    /// written by other processes (the scheduler, its children), which send no word of it.
    pub(super) fn wait_for<T>(
        &self,
        within: Duration,
        what: &str,
        mut found: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(value) = found() {
                return value;
            }
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the scheduler to end: its exit code and stderr.
    pub(super) fn terminate(self) -> (Option<i32>, String) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let output = self.child.wait_with_output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}
