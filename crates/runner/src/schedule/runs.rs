//! Starting runs (each on a thread of its own, at most `max_running` at a time) and hearing
//! that they ended.

use std::path::PathBuf;

use super::{Done, Event, Scheduler};
use crate::engine::run::RunOptions;
use crate::engine::tracked::{TrackedError, record_failure, run_tracked_guarded};
use crate::output::RunStamp;
use crate::state::history::Trigger;

impl Scheduler {
    /// Starts waiting runs, oldest due first, while there are free slots.
    pub(super) fn start_pending(&mut self) {
        loop {
            if self.running >= self.options.max_running {
                let mut waiting = Vec::new();
                for entry in self.entries.values_mut() {
                    if let Some(first) = entry.pending.first_mut()
                        && !entry.running
                        && !first.announced
                    {
                        first.announced = true;
                        waiting.push(Event::Queued {
                            job: entry.job.name.clone(),
                            due: first.due,
                            behind: "a free slot (--max-running)",
                        });
                    }
                }
                for event in waiting {
                    self.emit(event);
                }
                return;
            }
            let next = self
                .entries
                .iter()
                .filter(|(_, entry)| !entry.running && !entry.pending.is_empty())
                .min_by_key(|(_, entry)| entry.pending[0].due)
                .map(|(file, _)| file.clone());
            let Some(file) = next else {
                return;
            };
            self.start(&file);
        }
    }

    pub(super) fn start(&mut self, file: &PathBuf) {
        let now = self.clock.now();
        let entry = self.entries.get_mut(file).expect("present");
        let pending = entry.pending.remove(0);
        entry.running = true;
        self.running += 1;
        let (job, state) = (entry.job.clone(), entry.state.clone());
        let recorded = match pending.due {
            Some(due) if pending.trigger != Trigger::Resume => state.set_last_due(due),
            _ => Ok(()),
        };
        if let Err(error) = recorded {
            self.emit(Event::StateProblem {
                job: job.name.clone(),
                message: error.to_string(),
            });
        }
        // Output paths are stamped with the scheduled time (the 06:00 run writes `06-00-00`
        // even if it starts a little late); a resumed run with its run's time.
        let mut stamp = RunStamp::new(&job.name, pending.due.unwrap_or(now), job.timezone);
        if pending.trigger == Trigger::Resume {
            // The resumed run is the run it resumes, under its id.
            let dir = job
                .checkpoint
                .as_ref()
                .map_or_else(|| state.checkpoint_dir(), |spec| spec.dir.clone());
            let checkpoint = crate::engine::checkpoint::path_for(&dir, &job.name);
            if let Some(run_id) = crate::engine::checkpoint::saved_run_id(&checkpoint) {
                stamp.run_id = run_id;
            }
        }
        self.emit(Event::Started {
            job: job.name.clone(),
            run_id: stamp.run_id.clone(),
            trigger: pending.trigger,
            due: pending.due,
        });
        let options = RunOptions {
            workers: self.options.workers,
            progress: false,
            // Without a `[checkpoint]` of its own, a scheduled run checkpoints into its state
            // folder, so that a stop never loses its progress.
            checkpoint: job.checkpoint.is_none().then(|| state.checkpoint_dir()),
            trace: self.options.trace.then(|| state.trace_path(&stamp.run_id)),
            stamp: Some(stamp),
            stop: Some(self.stop.subscribe()),
            ..RunOptions::default()
        };
        let done_to = self.done_to.clone();
        let (thread_job, thread_state, thread_file) = (job.clone(), state.clone(), file.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("run-{}", job.name))
            .spawn(move || {
                let tracked = run_tracked_guarded(
                    &thread_job,
                    options,
                    &thread_state,
                    pending.trigger,
                    pending.due,
                );
                let _ = done_to.send(Done {
                    file: thread_file,
                    job: thread_job,
                    tracked,
                });
            });
        if let Err(error) = spawned {
            let failure = TrackedError::NotStarted(format!("no thread for it: {error}"));
            let tracked = record_failure(
                &job,
                &state,
                &RunStamp::new(&job.name, pending.due.unwrap_or(now), job.timezone),
                pending.trigger,
                pending.due,
                now,
                failure,
            );
            self.finished(Done {
                file: file.clone(),
                job,
                tracked,
            });
        }
    }

    pub(super) fn finished(&mut self, done: Done) {
        self.running -= 1;
        if let Some(entry) = self.entries.get_mut(&done.file) {
            entry.running = false;
            if entry.removed {
                self.entries.remove(&done.file);
                self.unshadow();
            }
        }
        // Counted and told before the event goes out: whoever hears of the end finds it in
        // the metrics.
        self.options.observer.record(&done.job, &done.tracked.entry);
        self.observe();
        self.emit(Event::Finished {
            entry: done.tracked.entry,
            deny_warnings: done.job.deny_warnings,
            history_error: done.tracked.history_error.map(|error| error.to_string()),
        });
    }
}
