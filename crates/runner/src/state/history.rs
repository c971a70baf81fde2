//! The run history: one entry a run (or a scheduled run skipped or missed), appended to the
//! job's `history.jsonl` in the state directory, and shown by `pagefold history JOB`.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `pagefold run`.
    Manual,
    /// Its scheduled time.
    Schedule,
    /// A run missed while the scheduler was down (`missed = "run_once"`).
    CatchUp,
    /// The scheduler resuming a run a stop interrupted.
    Resume,
}

impl Trigger {
    /// As the history spells it: `manual`, `schedule`, `catch_up`, `resume`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Schedule => "schedule",
            Self::CatchUp => "catch_up",
            Self::Resume => "resume",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The result was written, with nothing to say about it.
    Ok,
    /// The result was written, with warnings (a cap hit, a field no record had, …): see
    /// `warnings`.
    Warnings,
    /// The result was written without the pages `on_error = "skip"` gave up on.
    Partial,
    /// No result: see `error`.
    Failed,
    /// Stopped by a signal; its checkpoint, if any, resumes it.
    Interrupted,
    /// Not run: the previous run was still running (`overlap = "skip"`).
    Skipped,
    /// Not run: due while the scheduler was down (`missed = "skip"`).
    Missed,
}

impl Status {
    /// Every status, in the order the README lists them.
    pub const ALL: [Self; 7] = [
        Self::Ok,
        Self::Warnings,
        Self::Partial,
        Self::Failed,
        Self::Interrupted,
        Self::Skipped,
        Self::Missed,
    ];

    /// As the history and the metrics spell it: `ok`, `partial`, `failed`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warnings => "warnings",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
            Self::Missed => "missed",
        }
    }
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The run's id (also `{run_id}` in output paths).
    pub run_id: String,
    /// The job's name.
    pub job: String,
    /// What started it.
    pub trigger: Trigger,
    /// The scheduled time it is for, if scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<DateTime<Utc>>,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub ended: DateTime<Utc>,
    /// How it ended.
    pub status: Status,
    /// Pages reduced.
    pub pages: u64,
    /// Records reduced.
    pub records: u64,
    /// HTTP requests, retries included.
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// Seconds spent waiting on the API's behalf (backoff, `Retry-After`, rate limits).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waited_seconds: f64,
    /// Where the result went (none: stdout, or no result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
    /// Why it failed or was not run (secrets hidden), and what to do (a `hint:` line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to know about its result: the result document's warnings, and the pages skipped
    /// (with `on_error = "skip"`), which csv and ndjson results do not hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The database its rows went to (`[output] url`, the password hidden), once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Earlier runs whose results the database had not taken, written by this run (their run
    /// ids, oldest first): see `[output] url`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late_writes: Vec<String>,
}

impl HistoryEntry {
    /// An entry for a scheduled time that was not run.
    pub fn not_run(
        job: &str,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        status: Status,
        why: String,
    ) -> Self {
        Self {
            error: Some(why),
            ..Self::begun(
                format!("{}-none", due.format("%Y%m%dT%H%M%SZ")),
                job.to_owned(),
                Trigger::Schedule,
                Some(due),
                now,
                status,
            )
        }
    }

    /// An entry of a run that has done nothing yet: no pages, requests or output, ended when
    /// it started. What else is known is filled in with `..HistoryEntry::begun(…)`.
    pub fn begun(
        run_id: String,
        job: String,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
        started: DateTime<Utc>,
        status: Status,
    ) -> Self {
        Self {
            run_id,
            job,
            trigger,
            scheduled_for,
            started,
            ended: started,
            status,
            pages: 0,
            records: 0,
            requests: 0,
            retries: 0,
            waited_seconds: 0.0,
            output: None,
            error: None,
            warnings: Vec::new(),
            database: None,
            late_writes: Vec::new(),
        }
    }
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

impl HistoryEntry {
    /// How long the run took, in seconds (0 for a run that did not run).
    pub fn seconds(&self) -> f64 {
        (self.ended - self.started)
            .to_std()
            .unwrap_or_default()
            .as_secs_f64()
    }
}

/// The entries as a table, by start time (newest last), times in `timezone`; `-` where a
/// figure does not apply (a run that did not run, a failed run's pages and records).
pub fn table(entries: &[HistoryEntry], timezone: Tz) -> String {
    let mut entries: Vec<&HistoryEntry> = entries.iter().collect();
    // Runs are appended as they end: a long run started first ends after a short one.
    entries.sort_by_key(|entry| entry.started);
    let header = [
        "started",
        "took",
        "status",
        "trigger",
        "pages",
        "records",
        "requests",
        "retries",
        "output / error",
    ];
    let rows: Vec<[String; 9]> = entries
        .iter()
        .map(|entry| {
            let took = (entry.ended - entry.started)
                .to_std()
                .unwrap_or_default()
                .as_secs_f64();
            let ran = !matches!(entry.status, Status::Skipped | Status::Missed);
            let counted = ran && entry.status != Status::Failed;
            let figure = |value: u64, applies: bool| {
                if applies {
                    value.to_string()
                } else {
                    "-".to_owned()
                }
            };
            [
                entry
                    .started
                    .with_timezone(&timezone)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string(),
                if ran {
                    format!("{took:.1}s")
                } else {
                    "-".to_owned()
                },
                entry.status.as_str().to_owned(),
                serde_json::to_value(entry.trigger)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                figure(entry.pages, counted),
                figure(entry.records, counted),
                figure(entry.requests, ran),
                figure(entry.retries, ran),
                match (&entry.error, &entry.output, &entry.database) {
                    (Some(error), ..) => error.lines().next().unwrap_or_default().to_owned(),
                    (None, Some(path), _) => path.display().to_string(),
                    (None, None, Some(database)) => database.clone(),
                    (None, None, None) => "stdout".to_owned(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let mut line = |cells: &[&str]| {
        let last = cells.len() - 1;
        for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // Numbers right-aligned, text left; the last column unpadded.
            if index == last {
                text.push_str(cell);
            } else if (4..8).contains(&index) {
                let _ = write!(text, "{cell:>width$}  ");
            } else {
                let _ = write!(text, "{cell:<width$}  ");
            }
        }
        text.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    text
}
