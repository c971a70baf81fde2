//! The job files a scheduler watches (files named on the command line, and the `*.toml` files
//! of folders named on it, not their subfolders): reading them at start, and again when they
//! change, keeping the last good version of a broken edit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Entry, Event, ScheduleError, Scheduler};
use crate::job::{Job, JobError};

/// A job file found, and whether it was named itself (so it must have a schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub path: PathBuf,
    pub named: bool,
}

/// The files the `paths` hold now, sorted, without duplicates; and the folders that could
/// not be listed, with why.
pub(super) fn find(paths: &[PathBuf]) -> (Vec<Found>, Vec<(PathBuf, std::io::Error)>) {
    let mut found: Vec<Found> = Vec::new();
    let mut unlisted = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = match std::fs::read_dir(path) {
                Ok(entries) => entries,
                Err(error) => {
                    unlisted.push((path.clone(), error));
                    continue;
                }
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|file| file.extension().is_some_and(|ext| ext == "toml") && file.is_file())
                .collect();
            files.sort();
            found.extend(files.into_iter().map(|path| Found { path, named: false }));
        } else {
            found.push(Found {
                path: path.clone(),
                named: true,
            });
        }
    }
    let mut unique: Vec<Found> = Vec::with_capacity(found.len());
    for file in found {
        match unique.iter_mut().find(|seen| seen.path == file.path) {
            Some(seen) => seen.named |= file.named,
            None => unique.push(file),
        }
    }
    (unique, unlisted)
}

/// What reading a job file gave.
pub(super) enum Read {
    /// A job with a schedule.
    Scheduled(Box<Job>),
    /// A valid job without one.
    Unscheduled,
    /// Not a valid job: the message, with the place and the line.
    Invalid(String),
}

/// Reads and parses a job file.
pub(super) fn read(path: &Path) -> std::io::Result<(String, Read)> {
    let text = std::fs::read_to_string(path)?;
    let read = match Job::parse(path, &text) {
        Ok(job) if job.schedule.is_some() => Read::Scheduled(Box::new(job)),
        Ok(_) => Read::Unscheduled,
        Err(error) => Read::Invalid(describe(&error)),
    };
    Ok((text, read))
}

/// A job file error as the command line shows it: the place, the message, the line with a
/// caret, and the hint.
pub fn describe(error: &JobError) -> String {
    match error {
        JobError::Invalid(located) => {
            let mut text = format!("{located}\n{}", located.snippet());
            if let Some(hint) = &located.hint {
                text.push_str(&format!("\nhint: {hint}"));
            }
            text
        }
        other => other.to_string(),
    }
}

impl Scheduler {
    pub(super) fn load_all(&mut self) -> Result<(), ScheduleError> {
        let mut rejected = Vec::new();
        let (found, unlisted) = find(&self.options.paths);
        if let Some((path, source)) = unlisted.into_iter().next() {
            return Err(ScheduleError::Unreadable { path, source });
        }
        for found in found {
            let (text, read) = match read(&found.path) {
                Ok(read) => read,
                Err(source) if found.named => {
                    return Err(ScheduleError::Unreadable {
                        path: found.path,
                        source,
                    });
                }
                Err(error) => {
                    let message = format!("cannot read it: {error}");
                    rejected.push(format!("`{}`: {message}", found.path.display()));
                    self.emit(Event::Rejected {
                        file: found.path,
                        message,
                        kept: false,
                    });
                    continue;
                }
            };
            match read {
                Read::Scheduled(job) => {
                    self.check_name(&job)?;
                    let kept_text: Arc<str> = Arc::from(text.as_str());
                    self.seen.insert(found.path.clone(), text);
                    self.add(found.path, Arc::new(*job), kept_text, false);
                }
                Read::Unscheduled if found.named => {
                    return Err(ScheduleError::Unscheduled(found.path));
                }
                Read::Unscheduled => {
                    self.seen.insert(found.path, text);
                }
                Read::Invalid(message) if found.named => {
                    return Err(ScheduleError::Invalid(message));
                }
                // One broken file in a folder does not stop the others; it is taken once it
                // is fixed.
                Read::Invalid(message) => {
                    self.seen.insert(found.path.clone(), text);
                    rejected.push(message.clone());
                    self.emit(Event::Rejected {
                        file: found.path,
                        message,
                        kept: false,
                    });
                }
            }
        }
        if self.entries.is_empty() && !rejected.is_empty() {
            return Err(ScheduleError::Invalid(rejected.join("\n\n")));
        }
        if self.entries.is_empty() {
            let paths: Vec<String> = self
                .options
                .paths
                .iter()
                .map(|path| format!("`{}`", path.display()))
                .collect();
            return Err(ScheduleError::NoJobs(paths.join(", ")));
        }
        let held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        self.emit(Event::Ready {
            jobs: self
                .entries
                .values()
                .map(|entry| entry.job.name.clone())
                .collect(),
            state: self.options.state.root().to_owned(),
            max_running: self.options.max_running,
            once: self.options.once,
        });
        for event in held {
            self.emit(event);
        }
        let now = self.clock.now();
        let files: Vec<PathBuf> = self.entries.keys().cloned().collect();
        for file in files {
            self.catch_up_or_report(&file, now);
        }
        Ok(())
    }

    pub(super) fn check_name(&self, job: &Job) -> Result<(), ScheduleError> {
        // Names that share a state folder (`a b` and `a_b`) are the same job; so is the name of
        // a job whose file is gone while its run still runs.
        let folder = self.options.state.job(&job.name);
        match self.entries.iter().find(|(file, entry)| {
            **file != job.path && self.options.state.job(&entry.job.name).dir() == folder.dir()
        }) {
            Some((file, _)) => Err(ScheduleError::DuplicateName {
                name: job.name.clone(),
                first: file.clone(),
                second: job.path.clone(),
            }),
            None => Ok(()),
        }
    }

    pub(super) fn add(&mut self, file: PathBuf, job: Arc<Job>, text: Arc<str>, reloaded: bool) {
        let now = self.clock.now();
        let schedule = job
            .schedule
            .as_ref()
            .expect("only scheduled jobs are added");
        let next_due = schedule.next_after(now);
        let state = self.options.state.job(&job.name);
        // A new job whose latest time passed within `--late` and was not handled runs at once
        // (see `catch_up`): that is its next run, not the one after.
        let due_now = (!reloaded)
            .then(|| schedule.last_at_or_before(now))
            .flatten()
            .filter(|latest| self.on_time(*latest, now))
            .filter(|latest| {
                state
                    .last_due()
                    .ok()
                    .flatten()
                    .is_none_or(|last| *latest > last)
            });
        self.emit(Event::Loaded {
            job: job.name.clone(),
            file: file.clone(),
            next: due_now.or(next_due),
            due_now: due_now.is_some(),
            reloaded,
        });
        // Runs of it killed with the process that ran them (this scheduler's last life, or a
        // `pagefold run`) go into the history as interrupted, before its counters are seeded
        // from it; a run under way holds its marker locked and is left alone.
        for run in crate::engine::tracked::record_abandoned(&state) {
            tracing::warn!(
                "the run `{}` of `{}` did not finish (its process is gone): recorded as interrupted",
                run.entry.run_id,
                job.name
            );
        }
        // Before any run of it is recorded: its counters go on from its history.
        self.options.observer.seed(&job.name, &state);
        match self.entries.get_mut(&file) {
            Some(entry) => {
                let same_times = entry
                    .job
                    .schedule
                    .as_ref()
                    .map(|s| (&s.expression, s.timezone))
                    == Some((&schedule.expression, schedule.timezone));
                if !same_times || entry.removed {
                    entry.next_due = next_due;
                }
                entry.job = job;
                entry.text = text;
                entry.state = state;
                entry.removed = false;
            }
            None => {
                self.entries.insert(
                    file,
                    Entry {
                        job,
                        text,
                        state,
                        next_due,
                        running: false,
                        pending: Vec::new(),
                        removed: false,
                    },
                );
            }
        }
    }

    /// Reads job files that changed, were added or were removed.
    pub(super) fn reload(&mut self) {
        // A folder that cannot be listed now keeps its jobs: it is most likely being replaced.
        let (found, unlisted) = find(&self.options.paths);
        let unlisted: Vec<PathBuf> = unlisted.into_iter().map(|(path, _)| path).collect();
        let gone: Vec<PathBuf> = self
            .seen
            .keys()
            .filter(|file| !found.iter().any(|f| &f.path == *file))
            .filter(|file| !unlisted.iter().any(|folder| file.starts_with(folder)))
            .cloned()
            .collect();
        for file in gone {
            self.seen.remove(&file);
            self.remove(&file);
        }
        for file in found {
            let Ok((text, read)) = read(&file.path) else {
                // Removed or being replaced between the listing and the read: next time.
                continue;
            };
            if self.seen.get(&file.path) == Some(&text) {
                continue;
            }
            let kept_text: Arc<str> = Arc::from(text.as_str());
            self.seen.insert(file.path.clone(), text);
            let kept = self.entries.contains_key(&file.path);
            match read {
                Read::Scheduled(job) => match self.check_name(&job) {
                    Ok(()) => {
                        self.add(file.path.clone(), Arc::new(*job), kept_text, kept);
                        if !kept {
                            // New here: a stopped run of it resumes, a missed one is handled.
                            let now = self.clock.now();
                            self.catch_up_or_report(&file.path, now);
                        }
                    }
                    Err(error) => {
                        self.shadowed.insert(file.path.clone());
                        let hint = error
                            .hint()
                            .map(|h| format!("\nhint: {h}"))
                            .unwrap_or_default();
                        self.emit(Event::Rejected {
                            file: file.path,
                            message: format!("{error}{hint}"),
                            kept,
                        });
                    }
                },
                Read::Unscheduled if file.named => self.emit(Event::Rejected {
                    file: file.path,
                    message: "it has no `schedule`".into(),
                    kept,
                }),
                Read::Unscheduled => self.remove(&file.path),
                Read::Invalid(message) => self.emit(Event::Rejected {
                    file: file.path,
                    message,
                    kept,
                }),
            }
        }
    }

    pub(super) fn remove(&mut self, file: &PathBuf) {
        let Some(entry) = self.entries.get_mut(file) else {
            return;
        };
        if entry.removed {
            return;
        }
        let job = entry.job.name.clone();
        if entry.running {
            // Its run goes on to its end; the entry goes when the run does.
            entry.removed = true;
            entry.next_due = None;
            entry.pending.clear();
        } else {
            self.entries.remove(file);
            self.unshadow();
        }
        self.emit(Event::Removed {
            job,
            file: file.clone(),
        });
    }

    /// [`Scheduler::catch_up`], with a problem of this job's state reported rather than
    /// stopping the others.
    pub(super) fn catch_up_or_report(
        &mut self,
        file: &PathBuf,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        if let Err(error) = self.catch_up(file, now) {
            let job = self.entries[file].job.name.clone();
            let hint = error.hint().map(|h| format!("; {h}")).unwrap_or_default();
            self.emit(Event::StateProblem {
                job,
                message: format!("{error}{hint}"),
            });
        }
    }

    /// A job went: files refused for having its name are read again at the next reload.
    pub(super) fn unshadow(&mut self) {
        for file in std::mem::take(&mut self.shadowed) {
            self.seen.remove(&file);
        }
    }
}
