//! Running a command and measuring it: wall time, CPU time, peak RSS.

use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) struct Measured {
    /// The median of the runs.
    pub(crate) wall: Duration,
    /// User + system CPU time of the median run.
    pub(crate) cpu: Duration,
    /// How long fetching waited for reducers (pagefold's own figure, last run).
    pub(crate) waited_on_reducers: Option<Duration>,
    pub(crate) peak_rss_kib: u64,
    pub(crate) body_bytes: u64,
    pub(crate) records: Option<u64>,
    pub(crate) note: String,
}

impl Measured {
    /// Nothing measured, and why: a row that says it was skipped or is not available.
    pub(crate) fn noted(note: impl Into<String>) -> Self {
        Self {
            wall: Duration::ZERO,
            cpu: Duration::ZERO,
            waited_on_reducers: None,
            peak_rss_kib: 0,
            body_bytes: 0,
            records: None,
            note: note.into(),
        }
    }
}

/// One run of a command.
#[derive(Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    pub(crate) cpu: Duration,
    pub(crate) peak_rss_kib: u64,
    pub(crate) success: bool,
}

/// Runs `command` to its end: wall time, CPU time and peak RSS (from `wait4`), success.
pub(crate) fn timed(command: &mut Command) -> Sample {
    command.stderr(std::process::Stdio::null());
    let started = Instant::now();
    let child = command.spawn().expect("the process starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; `status` and `usage` are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    // The child was reaped by wait4; forgetting the handle keeps std from waiting again.
    std::mem::forget(child);
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Sample {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss_kib: usage.ru_maxrss as u64,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    }
}

/// Runs `command` `repeat` times: the median run by wall time, the largest peak RSS.
pub(crate) fn median_of(command: &mut Command, repeat: usize) -> Sample {
    let mut samples: Vec<Sample> = (0..repeat.max(1)).map(|_| timed(command)).collect();
    let peak = samples.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0);
    let success = samples.iter().all(|s| s.success);
    samples.sort_by_key(|s| s.wall);
    Sample {
        peak_rss_kib: peak,
        success,
        ..samples[samples.len() / 2]
    }
}
