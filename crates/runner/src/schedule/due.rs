//! When runs are due: at start (runs missed while the scheduler was down, a stopped run to
//! resume) and as time goes (on time, late, or while the job's last run still runs).

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::{Event, Pending, ScheduleError, Scheduler};
use crate::job::{Job, Missed, Overlap};
use crate::state::JobState;
use crate::state::history::{HistoryEntry, Status, Trigger};

impl Scheduler {
    /// At start: a run a stop interrupted resumes; a run due now (or missed while the
    /// scheduler was down, with `missed = "run_once"`) is queued.
    pub(super) fn catch_up(
        &mut self,
        file: &PathBuf,
        now: DateTime<Utc>,
    ) -> Result<(), ScheduleError> {
        let entry = &self.entries[file];
        let (job, state) = (entry.job.clone(), entry.state.clone());
        let schedule = job.schedule.as_ref().expect("scheduled");
        let checkpoint_dir = job
            .checkpoint
            .as_ref()
            .map_or_else(|| state.checkpoint_dir(), |spec| spec.dir.clone());
        let mut pending = Vec::new();
        if crate::engine::checkpoint::path_for(&checkpoint_dir, &job.name).exists() {
            // The run keeps the time it was scheduled for: its output path and history say
            // which run it is.
            let interrupted = state.running();
            pending.push(Pending::new(interrupted, Trigger::Resume));
        }
        let last = state.last_due()?;
        if let Some(latest) = schedule.last_at_or_before(now)
            && last.is_none_or(|last| latest > last)
        {
            if self.on_time(latest, now) {
                pending.push(Pending::new(Some(latest), Trigger::Schedule));
            } else if let Some(last) = last {
                let missed = count_between(schedule, last, now);
                let why = format!(
                    "due while the scheduler was not running ({missed} run{} missed since {})",
                    if missed == 1 { "" } else { "s" },
                    last.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                );
                match schedule.missed {
                    Missed::RunOnce => pending.push(Pending::new(Some(latest), Trigger::CatchUp)),
                    Missed::Skip => {
                        self.not_run(&job, &state, latest, now, Status::Missed, why);
                    }
                }
            } else {
                // First start: nothing was missed, but the next start should know from when.
                state.set_last_due(latest)?;
            }
        }
        self.entries
            .get_mut(file)
            .expect("present")
            .pending
            .extend(pending);
        Ok(())
    }

    pub(super) fn on_time(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - due).to_std().unwrap_or_default() <= self.options.late
    }

    pub(super) fn not_run(
        &self,
        job: &Job,
        state: &JobState,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        status: Status,
        why: String,
    ) {
        let entry = HistoryEntry::not_run(&job.name, due, now, status, why);
        if let Err(error) = state.append(&entry).and_then(|()| state.set_last_due(due)) {
            self.emit(Event::StateProblem {
                job: job.name.clone(),
                message: error.to_string(),
            });
        }
        self.options.observer.record(job, &entry);
        self.emit(Event::NotRun { entry });
    }

    /// Handles every job whose time has come.
    pub(super) fn fire_due(&mut self, now: DateTime<Utc>) {
        let files: Vec<PathBuf> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.next_due.is_some_and(|due| due <= now))
            .map(|(file, _)| file.clone())
            .collect();
        for file in files {
            let entry = &self.entries[&file];
            let (job, state, running) = (entry.job.clone(), entry.state.clone(), entry.running);
            let schedule = job.schedule.as_ref().expect("scheduled");
            // Several times passed at once (the machine slept): they make one run, of the
            // latest.
            let due = schedule
                .last_at_or_before(now)
                .or(entry.next_due)
                .expect("a due time");
            let next_due = schedule.next_after(now);
            let trigger = if self.on_time(due, now) {
                Trigger::Schedule
            } else if schedule.missed == Missed::RunOnce {
                Trigger::CatchUp
            } else {
                let why = "the scheduler was held up past the run's time (more than --late)";
                self.not_run(&job, &state, due, now, Status::Missed, why.into());
                self.entries.get_mut(&file).expect("present").next_due = next_due;
                continue;
            };
            // A scheduled time is run once, whatever the clock does (set back, say).
            if state
                .last_due()
                .ok()
                .flatten()
                .is_some_and(|last| due <= last)
            {
                self.entries.get_mut(&file).expect("present").next_due = next_due;
                continue;
            }
            let pending = Pending::new(Some(due), trigger);
            if running && schedule.overlap == Overlap::Skip {
                let why = "the previous run was still running (overlap = \"skip\")".to_owned();
                self.not_run(&job, &state, due, now, Status::Skipped, why);
            } else {
                if running {
                    self.emit(Event::Queued {
                        job: job.name.clone(),
                        due: Some(due),
                        behind: "the previous run (overlap = \"queue\")",
                    });
                }
                let entry = self.entries.get_mut(&file).expect("present");
                // A due run still waiting is replaced by the newer one: they make one run.
                let replaced: Vec<Pending> = entry
                    .pending
                    .extract_if(.., |p| p.trigger != Trigger::Resume)
                    .collect();
                entry.pending.push(pending);
                for old in replaced {
                    if let Some(old_due) = old.due {
                        let why = format!(
                            "the run of {} was due before this one could start",
                            due.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                        );
                        self.not_run(&job, &state, old_due, now, Status::Skipped, why);
                    }
                }
            }
            self.entries.get_mut(&file).expect("present").next_due = next_due;
        }
    }
}

/// Scheduled times in `(after, until]`, counted up to 10 000.
fn count_between(
    schedule: &crate::job::ScheduleSpec,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> usize {
    let mut count = 0;
    let mut cursor = after;
    while count < 10_000 {
        match schedule.next_after(cursor) {
            Some(next) if next <= until => {
                count += 1;
                cursor = next;
            }
            _ => break,
        }
    }
    count
}
