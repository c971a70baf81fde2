//! The scheduler as a supervisor: each scheduled run executes in a child process (the same
//! binary, `pagefold scheduled-run`, see `child`), as supercronic and systemd run theirs, so
//! that nothing one run does — an abort, a stack overflow, a segfault in a plugin, a jq
//! program that never yields — can stop the scheduler or another job.
//!
//! * The child's stderr is passed on to the scheduler's, line by line (it is already
//!   redacted, and is again), and its last lines are kept: a child that dies without
//!   reporting its end is recorded as `failed` with how it died (`killed by SIGABRT`) and
//!   those lines. Its checkpoint stays, as after `kill -9`.
//! * Each child has a process group of its own, so a Ctrl-C at the terminal reaches the
//!   scheduler only; the scheduler passes the signal on when the grace period is over, and
//!   kills the children it abandons.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use super::child::{ChildArgs, ChildReport, SUBCOMMAND};

/// How many of a dead child's last stderr lines its history entry keeps.
const LAST_LINES: usize = 5;

/// The most of a child's stdout read for its report (a report is one line of a few KiB; a
/// plugin printing without end must not fill the scheduler's memory).
const STDOUT_CAP: u64 = 64 << 20;

/// The program the scheduler runs each run in: the `pagefold` binary, and the arguments that
/// go before the subcommand (the verbosity).
#[derive(Debug, Clone)]
pub struct ChildProgram {
    /// The executable (`std::env::current_exe()`).
    pub program: PathBuf,
    /// Arguments before the subcommand, e.g. `-v`.
    pub args: Vec<OsString>,
}

/// A child the scheduler can signal until it has been waited for.
#[derive(Debug, Clone)]
pub(super) struct ChildHandle {
    pid: u32,
    life: Arc<Mutex<Life>>,
}

#[derive(Debug, Default)]
struct Life {
    /// Set, under the lock, just before the child is waited for.
    reaped: bool,
    /// The stop signal sent to it, if one was.
    told: Option<&'static str>,
}

impl ChildHandle {
    /// Sends `signal` (`"SIGTERM"`, `"SIGINT"`, `"SIGKILL"`) to the child, if it has not been
    /// waited for yet.
    pub(super) fn signal(&self, signal: &'static str) {
        let mut life = self.life.lock().unwrap_or_else(PoisonError::into_inner);
        if life.reaped {
            return;
        }
        life.told = Some(signal);
        // While `reaped` is false and its lock held, the child has not been waited for, so
        // its pid is still its own (a zombie at worst) and the signal reaches no other
        // process.
        let signal = match signal {
            "SIGINT" => rustix::process::Signal::INT,
            "SIGKILL" => rustix::process::Signal::KILL,
            _ => rustix::process::Signal::TERM,
        };
        if let Some(pid) = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            // It may have exited on its own meanwhile: nothing to tell then.
            let _ = rustix::process::kill_process(pid, signal);
        }
    }
}

/// How a child ended.
pub(super) enum Ended {
    /// It reported its run's end (whatever the run's status).
    Reported(Box<ChildReport>),
    /// It died or exited without a report: how, and its last stderr lines.
    Died { how: String, last: Vec<String> },
    /// The stop signal the scheduler sent it ended it before its run could checkpoint and
    /// report (it came before the run listened for it).
    Stopped { signal: &'static str },
}

/// A started child: its handle, and what waits for its end (to run on a thread of its own).
pub(super) struct Started {
    pub handle: ChildHandle,
    pub wait: Box<dyn FnOnce() -> Ended + Send>,
}

/// Starts the run `args` describes in a child, the job's `text` on its stdin.
///
/// # Errors
///
/// When the child cannot be started.
pub(super) fn start(
    program: &ChildProgram,
    args: &ChildArgs,
    text: Arc<str>,
) -> std::io::Result<Started> {
    let mut command = Command::new(&program.program);
    command
        .args(&program.args)
        .arg(SUBCOMMAND)
        .args(args.to_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // A group of its own: a Ctrl-C at the terminal is the scheduler's to pass on, after
        // the grace period, not the child's to act on at once.
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    let life = Arc::new(Mutex::new(Life::default()));
    let handle = ChildHandle {
        pid: child.id(),
        life: life.clone(),
    };
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let wait = Box::new(move || {
        // Its stderr on a thread of its own, so that a child writing much to both never
        // waits on the scheduler reading the other.
        let last = std::thread::Builder::new()
            .name("run-stderr".into())
            .spawn(move || stderr.map(pass_on_stderr).unwrap_or_default());
        if let Some(mut stdin) = stdin {
            // A child that died before reading it: its end says why.
            let _ = stdin.write_all(text.as_bytes());
        }
        let report = stdout.and_then(read_report);
        let last = match last {
            Ok(thread) => thread.join().unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let (status, told) = {
            let mut life = life.lock().unwrap_or_else(PoisonError::into_inner);
            life.reaped = true;
            (child.wait(), life.told)
        };
        match (report, status) {
            (Some(report), _) => Ended::Reported(Box::new(report)),
            (None, Ok(status)) if told.is_some() && killed_by(status) == told => Ended::Stopped {
                signal: told.unwrap_or("SIGTERM"),
            },
            (None, Ok(status)) => Ended::Died {
                how: how_it_ended(status),
                last,
            },
            (None, Err(error)) => Ended::Died {
                how: format!("could not be waited for ({error})"),
                last,
            },
        }
    });
    Ok(Started { handle, wait })
}

/// Passes the child's stderr on, line by line; its last lines.
fn pass_on_stderr(stderr: std::process::ChildStderr) -> Vec<String> {
    let mut last = VecDeque::with_capacity(LAST_LINES);
    for line in BufReader::new(stderr).split(b'\n') {
        let Ok(line) = line else {
            break;
        };
        let line = String::from_utf8_lossy(&line).trim_end().to_owned();
        crate::terminal::say(&line);
        if line.trim().is_empty() {
            continue;
        }
        if last.len() == LAST_LINES {
            last.pop_front();
        }
        last.push_back(crate::secrets::redact(&line));
    }
    last.into()
}

/// The child's report: the last line of its stdout that is one. Other lines (a plugin's
/// prints) are passed on to the scheduler's stdout.
fn read_report(stdout: std::process::ChildStdout) -> Option<ChildReport> {
    let mut reader = BufReader::new(stdout.take(STDOUT_CAP));
    let mut report = None;
    for line in (&mut reader).split(b'\n') {
        let Ok(line) = line else {
            break;
        };
        match serde_json::from_slice::<ChildReport>(&line) {
            Ok(read) => report = Some(read),
            Err(_) => crate::terminal::print(&format!("{}\n", String::from_utf8_lossy(&line))),
        }
    }
    // Past the cap: read to the end, so the child is not blocked on a full pipe.
    let _ = std::io::copy(&mut reader.into_inner().into_inner(), &mut std::io::sink());
    report
}

/// The signal that ended the child, by name, if one did.
fn killed_by(status: ExitStatus) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal().and_then(|number| match number {
            2 => Some("SIGINT"),
            15 => Some("SIGTERM"),
            9 => Some("SIGKILL"),
            _ => None,
        })
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

/// `killed by SIGABRT`, `exited with code 2`.
fn how_it_ended(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(number) = status.signal() {
            let core = if status.core_dumped() {
                " (core dumped)"
            } else {
                ""
            };
            return format!("was killed by {}{core}", signal_name(number));
        }
    }
    match status.code() {
        Some(code) => format!("exited with code {code} without reporting its end"),
        None => format!("ended ({status}) without reporting its end"),
    }
}

/// The signals a run dies of, by the numbers Linux and macOS share.
fn signal_name(number: i32) -> String {
    let name = match number {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        other => return format!("signal {other}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_named() {
        assert_eq!(signal_name(6), "SIGABRT");
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(64), "signal 64");
    }
}
