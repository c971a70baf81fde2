//! The JSON an alert posts: the job, the run, how it ended, its times and figures, the error
//! or the warnings, and a `text` line that Slack and Mattermost show as the message (the other
//! fields are for receivers that read them; both chat tools ignore them). Every string passes
//! through [`crate::secrets::redact`]: a token in an error never reaches a chat channel.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::job::AlertKind;
use crate::secrets::redact;
use crate::state::history::{HistoryEntry, Status, Trigger};

/// An alert's body.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    /// `failure`, `missed`, `warning` or `success`: which `on_…` URL it went to.
    pub event: &'static str,
    /// The job's name.
    pub job: String,
    /// The run's id, as in the history (one alert a run: receivers may deduplicate on it).
    pub run_id: String,
    /// The run's status, as in the history.
    pub status: Status,
    /// What started it.
    pub trigger: Trigger,
    /// The scheduled time it was for, if scheduled.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub ended: DateTime<Utc>,
    /// How long it took.
    pub duration_seconds: f64,
    /// Pages reduced.
    pub pages: u64,
    /// Records reduced.
    pub records: u64,
    /// Requests made, retries included.
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// Where the result went, if to a file.
    pub output: Option<String>,
    /// Why it failed or did not run, with a `hint:` line.
    pub error: Option<String>,
    /// What to know about its result.
    pub warnings: Vec<String>,
    /// The message, for Slack and Mattermost.
    pub text: String,
}

/// Which alert a history entry makes, if any: a failure, a missed run, a warning (skipped
/// pages, a warning in the result, a scheduled run skipped), a success. A run stopped by a
/// signal makes none: its next start resumes it.
pub fn kind_of(entry: &HistoryEntry) -> Option<AlertKind> {
    match entry.status {
        Status::Failed => Some(AlertKind::Failure),
        Status::Missed => Some(AlertKind::Missed),
        Status::Partial | Status::Skipped | Status::Warnings => Some(AlertKind::Warning),
        Status::Ok if !entry.warnings.is_empty() => Some(AlertKind::Warning),
        Status::Ok => Some(AlertKind::Success),
        Status::Interrupted => None,
    }
}

impl Payload {
    /// The alert of `kind` about `entry`.
    pub fn new(kind: AlertKind, entry: &HistoryEntry) -> Self {
        Self {
            event: kind.event(),
            job: redact(&entry.job),
            run_id: entry.run_id.clone(),
            status: entry.status,
            trigger: entry.trigger,
            scheduled_for: entry.scheduled_for,
            started: entry.started,
            ended: entry.ended,
            duration_seconds: (entry.seconds() * 1000.0).round() / 1000.0,
            pages: entry.pages,
            records: entry.records,
            requests: entry.requests,
            retries: entry.retries,
            output: entry
                .output
                .as_ref()
                .map(|path| redact(&path.display().to_string())),
            error: entry.error.as_deref().map(redact),
            warnings: entry.warnings.iter().map(|w| redact(w)).collect(),
            text: redact(&text(kind, entry)),
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an alert serializes")
    }
}

/// The one-line message: what happened to which run, and the first line of why.
fn text(kind: AlertKind, entry: &HistoryEntry) -> String {
    let time = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let run = match entry.scheduled_for {
        Some(due) => format!("run {}, scheduled for {}", entry.run_id, time(due)),
        None => format!("run {}", entry.run_id),
    };
    let why = entry
        .error
        .as_deref()
        .and_then(|error| error.lines().next())
        .unwrap_or_default();
    let job = &entry.job;
    match kind {
        AlertKind::Failure => format!("pagefold: `{job}` failed ({run}): {why}"),
        AlertKind::Missed => format!("pagefold: `{job}` missed a run ({run}): {why}"),
        AlertKind::Warning if entry.status == Status::Skipped => {
            format!("pagefold: `{job}` skipped a run ({run}): {why}")
        }
        AlertKind::Warning => {
            let count = entry.warnings.len();
            format!(
                "pagefold: `{job}` finished with {count} warning{} ({run}): {}",
                if count == 1 { "" } else { "s" },
                entry
                    .warnings
                    .first()
                    .map(String::as_str)
                    .unwrap_or_default()
            )
        }
        AlertKind::Success => format!(
            "pagefold: `{job}` finished ({run}): {} pages, {} records in {:.1}s",
            entry.pages,
            entry.records,
            entry.seconds()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: Status) -> HistoryEntry {
        let at = DateTime::parse_from_rfc3339("2026-03-01T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut entry = HistoryEntry::not_run("orders", at, at, status, "why\nhint: do".into());
        entry.trigger = Trigger::Schedule;
        entry
    }

    #[test]
    fn each_status_makes_its_alert_or_none() {
        let kinds: Vec<Option<AlertKind>> = Status::ALL
            .iter()
            .map(|status| kind_of(&entry(*status)))
            .collect();
        assert_eq!(
            kinds,
            [
                Some(AlertKind::Success),
                Some(AlertKind::Warning),
                Some(AlertKind::Warning),
                Some(AlertKind::Failure),
                None,
                Some(AlertKind::Warning),
                Some(AlertKind::Missed),
            ]
        );
        let mut warned = entry(Status::Ok);
        warned
            .warnings
            .push("the API reported 10 records, 9 came".into());
        assert_eq!(kind_of(&warned), Some(AlertKind::Warning));
    }

    #[test]
    fn the_text_says_what_happened_to_which_run() {
        let payload = Payload::new(AlertKind::Missed, &entry(Status::Missed));
        assert_eq!(
            payload.text,
            "pagefold: `orders` missed a run (run 20260301T060000Z-none, scheduled for 2026-03-01T06:00:00Z): why"
        );
        assert_eq!(payload.event, "missed");
    }
}
