//! The state directory: what pagefold keeps between runs of a job, one folder a job —
//! its run history, the last scheduled time it handled, its incremental mark and carried
//! reducer states, and the checkpoint of an interrupted scheduled run.
//!
//! ```text
//! STATE/jobs/NAME/history.jsonl     one JSON object a run, appended (history.1.jsonl: the
//!                                   generation before, past 8 MiB)
//! STATE/jobs/NAME/results/RUN.json  the result document of each run the history holds
//! STATE/jobs/NAME/job.json          the job file last run under this name, and its schedule
//! STATE/jobs/NAME/schedule.json     {"last_due": "…"}: runs up to here are handled
//! STATE/jobs/NAME/incremental.json  the mark and the carried states
//! STATE/jobs/NAME/checkpoint/       an interrupted scheduled run, resumed at the next start
//! STATE/jobs/NAME/running.json      the scheduled time of the run under way, to resume it as
//! STATE/jobs/NAME/lock              held while a run of the job runs, in whatever process
//! STATE/jobs/NAME/running/RUN.json  every run under way, held locked: one left unlocked is a
//!                                   killed run, recorded as `interrupted` (see `marker`)
//! STATE/jobs/NAME/history.torn-TIME.jsonl  a history line a crash or a full disk cut short,
//!                                   set aside before the next append (see `history_file`)
//! STATE/jobs/NAME/FILE.damaged-TIME a state file that was not what pagefold wrote, set aside
//!                                   (see `damaged`)
//! ```

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub(crate) mod damaged;
pub mod history;
mod history_file;
pub mod marker;

pub use history_file::HistoryRead;

use crate::output::write_atomically;

/// The environment variable that names the state folder (as `--state` does).
pub const STATE_ENV: &str = "PAGEFOLD_STATE";

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// A state directory that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// No `--state` and no data folder to default to.
    #[error("no state directory: this system has no data folder")]
    NoDefault,
    /// A file or folder of the state could not be read or written.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A state file is not what pagefold wrote.
    #[error("`{}` is damaged: {message}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl StateError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoDefault => Some(format!("choose one with --state DIR or {STATE_ENV}")),
            // Reading fails on a file's permissions; only writing asks for another folder.
            Self::Io {
                action: "read" | "list",
                path,
                ..
            } => Some(format!(
                "check that `{}` can be read by this user",
                path.display()
            )),
            Self::Io { .. } => Some(format!(
                "choose a writable folder with --state DIR or {STATE_ENV}"
            )),
            Self::Damaged { path, .. } => Some(format!(
                "move `{}` away to start that job's state afresh",
                path.display()
            )),
        }
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StateError {
    let path = path.to_owned();
    move |source| StateError::Io {
        action,
        path,
        source,
    }
}

impl StateDir {
    /// The default: `pagefold` in the user's data folder (`$XDG_DATA_HOME`,
    /// `~/.local/share`, `~/Library/Application Support`, `%APPDATA%`).
    pub fn default_root() -> Option<PathBuf> {
        dirs::data_dir().map(|dir| dir.join("pagefold"))
    }

    /// Opens (and creates) the state directory at `root`, or the default.
    ///
    /// # Errors
    ///
    /// When there is no default or the folder cannot be created.
    pub fn open(root: Option<&Path>) -> Result<Self, StateError> {
        let root = match root {
            Some(root) => root.to_owned(),
            None => Self::default_root().ok_or(StateError::NoDefault)?,
        };
        std::fs::create_dir_all(root.join("jobs")).map_err(io("create", &root))?;
        Ok(Self { root })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folders of the jobs this state folder holds, by name, in order.
    ///
    /// # Errors
    ///
    /// When the folder cannot be listed.
    pub fn job_names(&self) -> Result<Vec<String>, StateError> {
        let jobs = self.root.join("jobs");
        let mut names: Vec<String> = std::fs::read_dir(&jobs)
            .map_err(io("list", &jobs))?
            .flatten()
            .filter(|entry| entry.path().is_dir())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The state of the job named `name`.
    pub fn job(&self, name: &str) -> JobState {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = if safe.trim_matches('.').is_empty() {
            "_".to_owned()
        } else {
            safe
        };
        JobState {
            dir: self.root.join("jobs").join(safe),
        }
    }
}

/// One job's state folder.
#[derive(Debug, Clone)]
pub struct JobState {
    dir: PathBuf,
}

/// A job's lock, held until dropped.
#[derive(Debug)]
pub struct JobLock {
    _file: std::fs::File,
}

const RUNNING_FILE: &str = "running.json";

const RESULTS_DIR: &str = "results";
const TRACES_DIR: &str = "traces";
const JOB_RECORD_FILE: &str = "job.json";

/// What the state folder knows of the job file behind a job's name: for `history` without a
/// job, which shows each job's next scheduled time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job file, absolute.
    pub file: PathBuf,
    /// Its `[schedule] cron`, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// Its `timezone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Running {
    scheduled_for: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ScheduleState {
    last_due: DateTime<Utc>,
}

impl JobState {
    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where an interrupted scheduled run keeps its checkpoint.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.dir.join("checkpoint")
    }

    /// Takes the job's lock for the length of a run: one run of a job at a time, whichever
    /// process (a scheduler, `pagefold run` of an incremental job, two cron `--once`s) starts
    /// it. `None` when another process holds it. The operating system releases it if the
    /// process dies.
    ///
    /// # Errors
    ///
    /// When the lock file cannot be created.
    pub fn lock(&self) -> Result<Option<JobLock>, StateError> {
        std::fs::create_dir_all(&self.dir).map_err(io("create", &self.dir))?;
        let path = self.dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io("open", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(JobLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(error)) => Err(io("lock", &path)(error)),
        }
    }

    /// Where the result document of run `run_id` is kept.
    pub fn result_path(&self, run_id: &str) -> PathBuf {
        let safe: String = run_id
            .chars()
            .map(|c| if c == '/' || c == '\\' { '_' } else { c })
            .collect();
        self.dir.join(RESULTS_DIR).join(format!("{safe}.json"))
    }

    /// Where the trace of run `run_id` goes when the scheduler traces its runs
    /// (`schedule --trace`).
    pub fn trace_path(&self, run_id: &str) -> PathBuf {
        let safe: String = run_id
            .chars()
            .map(|c| if c == '/' || c == '\\' { '_' } else { c })
            .collect();
        self.dir.join(TRACES_DIR).join(format!("{safe}.json"))
    }

    /// The newest trace kept in the state folder (by file time), if any.
    pub fn latest_trace(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.dir.join(TRACES_DIR))
            .ok()?
            .filter_map(Result::ok)
            .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
            .max_by_key(|entry| {
                (
                    entry.metadata().and_then(|m| m.modified()).ok(),
                    entry.file_name(),
                )
            })
            .map(|entry| entry.path())
    }

    /// Keeps the result document of run `run_id` (JSON text), for `history --show`.
    ///
    /// # Errors
    ///
    /// When it cannot be written.
    pub fn save_result(&self, run_id: &str, document: &str) -> Result<(), StateError> {
        let path = self.result_path(run_id);
        write_atomically(&path, document).map_err(io("write", &path))
    }

    /// The result document kept for run `run_id`, `None` when there is none.
    ///
    /// # Errors
    ///
    /// When it exists but cannot be read.
    pub fn result(&self, run_id: &str) -> Result<Option<String>, StateError> {
        let path = self.result_path(run_id);
        match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<serde::de::IgnoredAny>(&text) {
                Ok(_) => Ok(Some(text)),
                Err(error) => damaged::set_aside(&path, &error.to_string()).map(|_| None),
            },
            Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                damaged::set_aside(&path, "not UTF-8").map(|_| None)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io("read", &path)(error)),
        }
    }

    /// Records which job file runs under this name.
    ///
    /// # Errors
    ///
    /// When it cannot be written.
    pub fn set_job_record(&self, record: &JobRecord) -> Result<(), StateError> {
        if self.job_record().as_ref() == Some(record) {
            return Ok(());
        }
        self.write_json(JOB_RECORD_FILE, record)
    }

    /// The job file last run under this name, if known.
    pub fn job_record(&self) -> Option<JobRecord> {
        self.read_json(JOB_RECORD_FILE).ok().flatten()
    }

    /// The last scheduled time handled (run, skipped or missed), if any: none when its file
    /// was damaged, and set aside (the job goes on from now).
    ///
    /// # Errors
    ///
    /// When the file cannot be read, or is damaged and cannot be set aside.
    pub fn last_due(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        Ok(self
            .read_json::<ScheduleState>("schedule.json")?
            .map(|state| state.last_due))
    }

    /// Records that scheduled times up to `due` are handled.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn set_last_due(&self, due: DateTime<Utc>) -> Result<(), StateError> {
        let path = self.dir.join("schedule.json");
        let text = serde_json::to_string(&ScheduleState { last_due: due }).expect("serializes");
        write_atomically(&path, &text).map_err(io("write", &path))
    }

    /// Records which scheduled time the run now starting is for (`None`: unscheduled), so
    /// that a stopped or killed run resumes as that run.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn set_running(&self, scheduled_for: Option<DateTime<Utc>>) -> Result<(), StateError> {
        self.write_json(RUNNING_FILE, &Running { scheduled_for })
    }

    /// The scheduled time of the run that stopped without finishing, if one did.
    pub fn running(&self) -> Option<DateTime<Utc>> {
        self.read_json::<Running>(RUNNING_FILE)
            .ok()
            .flatten()
            .and_then(|running| running.scheduled_for)
    }

    /// The run ended (well or not): nothing to resume as it.
    pub fn clear_running(&self) {
        let _ = std::fs::remove_file(self.dir.join(RUNNING_FILE));
    }

    /// Reads a JSON state file of this job, `None` when there is none, or when it was
    /// damaged and has been set aside (see `damaged`).
    ///
    /// # Errors
    ///
    /// When it cannot be read, or is damaged and cannot be set aside.
    pub fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        file: &str,
    ) -> Result<Option<T>, StateError> {
        let path = self.dir.join(file);
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(value) => Ok(Some(value)),
                Err(error) => damaged::set_aside(&path, &error.to_string()).map(|_| None),
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io("read", &path)(error)),
        }
    }

    /// Writes a JSON state file of this job atomically.
    ///
    /// # Errors
    ///
    /// When it cannot be written.
    pub fn write_json<T: Serialize>(&self, file: &str, value: &T) -> Result<(), StateError> {
        let path = self.dir.join(file);
        let text = serde_json::to_string(value).expect("state serializes");
        write_atomically(&path, &text).map_err(io("write", &path))
    }
}
