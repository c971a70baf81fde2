//! The history entry of a tracked run: its status, figures, output, warnings and error
//! (secrets hidden), from how the run ended.

use chrono::{DateTime, Utc};

use super::run::{RunError, RunReport};
use super::tracked_error::TrackedError;
use crate::job::Job;
use crate::output::RunStamp;
use crate::secrets;
use crate::state::history::{HistoryEntry, Status, Trigger};

pub(super) fn entry_for(
    job: &Job,
    stamp: &RunStamp,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    result: &Result<RunReport, TrackedError>,
) -> HistoryEntry {
    let mut entry = HistoryEntry {
        ended: Utc::now(),
        ..HistoryEntry::begun(
            stamp.run_id.clone(),
            job.name.clone(),
            trigger,
            scheduled_for,
            started,
            Status::Failed,
        )
    };
    match result {
        Ok(report) => {
            // A resumed run keeps the id of the run it resumes.
            entry.run_id.clone_from(&report.stamp.run_id);
            entry.status = if !report.document.skipped.is_empty() {
                Status::Partial
            } else if !report.document.warnings.is_empty() {
                Status::Warnings
            } else {
                Status::Ok
            };
            entry.pages = report.document.pages;
            entry.records = report.document.records;
            entry.requests = report.document.stats.requests;
            entry.retries = report.document.stats.retries;
            entry.waited_seconds = report.document.stats.waited_seconds;
            // Absolute: the history is read from anywhere, not from where the run started.
            entry.output = report
                .written_to
                .as_deref()
                .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
            entry.warnings = report.document.warnings.clone();
            entry.warnings.extend(
                report
                    .document
                    .skipped
                    .iter()
                    .map(|page| format!("skipped `{}`: {}", page.url, page.reason)),
            );
        }
        Err(error) => {
            match error {
                TrackedError::Run(RunError::Interrupted { .. }) => {
                    entry.status = Status::Interrupted;
                }
                TrackedError::Busy { .. } => entry.status = Status::Skipped,
                _ => {}
            }
            let hint = error
                .hint()
                .map(|hint| format!("\nhint: {hint}"))
                .unwrap_or_default();
            entry.error = Some(secrets::redact(&format!(
                "{}{hint}",
                crate::terminal::failure::one_line(error)
            )));
        }
    }
    entry
}
