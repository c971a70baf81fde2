//! Starting runs (each in a child process, or on a thread of its own, at most `max_running`
//! at a time) and hearing that they ended.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::child::ChildArgs;
use super::supervise::{self, ChildProgram, Ended};
use super::{Done, Event, Pending, Scheduler};
use crate::engine::run::{RunError, RunOptions};
use crate::engine::tracked::{TrackedError, record_failure, run_tracked_guarded};
use crate::job::Job;
use crate::output::RunStamp;
use crate::state::JobState;
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
        let checkpoint = job.checkpoint.is_none().then(|| state.checkpoint_dir());
        let trace = self.options.trace.then(|| state.trace_path(&stamp.run_id));
        if let Some(program) = self.options.child.clone() {
            let args = ChildArgs {
                job: job.path.clone(),
                state: self.options.state.root().to_owned(),
                trigger: pending.trigger.as_str().to_owned(),
                due: pending.due.map(|due| due.to_rfc3339()),
                run_id: stamp.run_id.clone(),
                stamped: stamp.started.with_timezone(&Utc).to_rfc3339(),
                workers: self.options.workers,
                trace,
                checkpoint,
            };
            let text = self.entries[file].text.clone();
            self.start_child(file, &program, &args, text, &stamp, pending, now);
            return;
        }
        let options = RunOptions {
            workers: self.options.workers,
            progress: false,
            // Without a `[checkpoint]` of its own, a scheduled run checkpoints into its state
            // folder, so that a stop never loses its progress.
            checkpoint,
            trace,
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
                    entry: tracked.entry,
                    history_error: tracked.history_error.map(|error| error.to_string()),
                });
            });
        if let Err(error) = spawned {
            let failure = TrackedError::NotStarted(format!("no thread for it: {error}"));
            let stamp = RunStamp::new(&job.name, pending.due.unwrap_or(now), job.timezone);
            self.not_started(file, &job, &state, &stamp, pending, now, failure);
        }
    }

    /// A run that could not start, recorded as failed.
    #[expect(clippy::too_many_arguments, reason = "the run's whole description")]
    fn not_started(
        &mut self,
        file: &Path,
        job: &Arc<Job>,
        state: &JobState,
        stamp: &RunStamp,
        pending: Pending,
        now: DateTime<Utc>,
        failure: TrackedError,
    ) {
        let tracked = record_failure(
            job,
            state,
            stamp,
            pending.trigger,
            pending.due,
            now,
            failure,
        );
        self.finished(Done {
            file: file.to_path_buf(),
            job: job.clone(),
            entry: tracked.entry,
            history_error: tracked.history_error.map(|error| error.to_string()),
        });
    }

    /// Starts the run in a child process, and a thread that waits for its end: a child that
    /// dies without reporting it is recorded as failed, with how it died.
    #[expect(clippy::too_many_arguments, reason = "the run's whole description")]
    fn start_child(
        &mut self,
        file: &PathBuf,
        program: &ChildProgram,
        args: &ChildArgs,
        text: Arc<str>,
        stamp: &RunStamp,
        pending: Pending,
        now: DateTime<Utc>,
    ) {
        let entry = &self.entries[file];
        let (job, state) = (entry.job.clone(), entry.state.clone());
        let started = match supervise::start(program, args, text) {
            Ok(started) => started,
            Err(error) => {
                let failure = TrackedError::NotStarted(format!(
                    "no process for it (`{}`): {error}",
                    program.program.display()
                ));
                self.not_started(file, &job, &state, stamp, pending, now, failure);
                return;
            }
        };
        self.children.insert(file.clone(), started.handle);
        let done_to = self.done_to.clone();
        let (thread_file, thread_stamp) = (file.clone(), stamp.clone());
        let wait = started.wait;
        let spawned = std::thread::Builder::new()
            .name(format!("child-{}", job.name))
            .spawn(move || {
                let failure = match wait() {
                    Ended::Reported(report) => {
                        let _ = done_to.send(Done {
                            file: thread_file,
                            job,
                            entry: report.entry,
                            history_error: report.history_error,
                        });
                        return;
                    }
                    Ended::Stopped { signal } => TrackedError::Run(RunError::Interrupted {
                        signal,
                        checkpoint: None,
                    }),
                    Ended::Died { how, last } => TrackedError::Died { how, last },
                };
                // Its marker would have it recorded again, as interrupted, by the next run;
                // its checkpoint stays, as after `kill -9`.
                state.forget_run(&thread_stamp.run_id);
                let tracked = record_failure(
                    &job,
                    &state,
                    &thread_stamp,
                    pending.trigger,
                    pending.due,
                    now,
                    failure,
                );
                let _ = done_to.send(Done {
                    file: thread_file,
                    job,
                    entry: tracked.entry,
                    history_error: tracked.history_error.map(|error| error.to_string()),
                });
            });
        if let Err(error) = spawned {
            // No thread to wait on it: the child runs on, unheard; the scheduler must not
            // wait for it, nor start another run of the job over it.
            if let Some(child) = self.children.get(file) {
                child.signal("SIGKILL");
            }
            let entry = &self.entries[file];
            let (job, state) = (entry.job.clone(), entry.state.clone());
            let failure = TrackedError::NotStarted(format!("no thread to wait on it: {error}"));
            self.not_started(file, &job, &state, stamp, pending, now, failure);
        }
    }

    pub(super) fn finished(&mut self, done: Done) {
        self.running -= 1;
        self.children.remove(&done.file);
        if let Some(entry) = self.entries.get_mut(&done.file) {
            entry.running = false;
            if entry.removed {
                self.entries.remove(&done.file);
                self.unshadow();
            }
        }
        // Counted and told before the event goes out: whoever hears of the end finds it in
        // the metrics.
        self.options.observer.record(&done.job, &done.entry);
        self.observe();
        self.emit(Event::Finished {
            entry: done.entry,
            deny_warnings: done.job.deny_warnings,
            history_error: done.history_error,
        });
    }
}
