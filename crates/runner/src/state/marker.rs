//! The trace a run leaves while it runs, so that a run killed (`kill -9`, the OOM killer, a
//! power cut) does not vanish from the history: `STATE/jobs/NAME/running/RUN.json`, written
//! at the start of every run that has a state folder and removed at its end, whatever the end.
//!
//! The marker is held locked (an advisory file lock) for the run's length. The operating
//! system drops the lock when the process ends however it ends, so a marker that can be locked
//! is one whose run is gone without removing it: the next run of the job (or the scheduler's)
//! records it in the history as `interrupted`. A lock, rather than a process id, because ids
//! are reused and because the scheduler runs several jobs in one process.
//!
//! Races, and why they are harmless: a marker is written under another name, locked, and only
//! then renamed into place, so no one ever sees an unlocked marker of a live run; a run
//! removes its marker *before* unlocking it, and the run that finds a marker it can lock
//! claims it by renaming it, which fails if the marker was removed meanwhile; of two runs that
//! find the same dead marker, one rename succeeds.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::history::{HistoryEntry, Status, Trigger};
use super::{JobState, StateError, io};

const RUNNING_DIR: &str = "running";

/// What a marker says of its run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    run_id: String,
    job: String,
    trigger: Trigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheduled_for: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    /// For a reader's benefit only: liveness is the lock's business.
    pid: u32,
}

/// A run's marker, removed (then unlocked) when dropped: at the run's end, or as a panic
/// unwinds through it.
#[derive(Debug)]
pub struct RunMarker {
    path: PathBuf,
    _file: File,
}

impl Drop for RunMarker {
    fn drop(&mut self) {
        // Removed while still locked: see the module's documentation.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A run whose process ended without ending the run.
#[derive(Debug, Clone)]
pub struct Abandoned {
    /// The history entry recorded for it.
    pub entry: HistoryEntry,
    /// The process that ran it.
    pub pid: u32,
}

impl JobState {
    fn running_dir(&self) -> PathBuf {
        self.dir.join(RUNNING_DIR)
    }

    /// Marks the run `run_id` as under way, until the returned marker is dropped.
    ///
    /// # Errors
    ///
    /// When the marker cannot be written or locked.
    pub fn mark_running(
        &self,
        run_id: &str,
        job: &str,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
        started: DateTime<Utc>,
    ) -> Result<RunMarker, StateError> {
        let dir = self.running_dir();
        std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let path = dir.join(format!("{run_id}.json"));
        let writing = dir.join(format!("{run_id}.json.new"));
        let marker = Marker {
            run_id: run_id.to_owned(),
            job: job.to_owned(),
            trigger,
            scheduled_for,
            started,
            pid: std::process::id(),
        };
        let file = File::create(&writing).map_err(io("create", &writing))?;
        file.lock().map_err(io("lock", &writing))?;
        std::io::Write::write_all(
            &mut &file,
            serde_json::to_string(&marker)
                .expect("a marker serializes")
                .as_bytes(),
        )
        .map_err(io("write", &writing))?;
        std::fs::rename(&writing, &path).map_err(io("rename", &writing))?;
        Ok(RunMarker { path, _file: file })
    }

    /// Forgets the marker of the run `run_id`, whose end was recorded by someone else than its
    /// process (a scheduler whose child died): it is not to be recorded again as interrupted.
    pub fn forget_run(&self, run_id: &str) {
        let _ = std::fs::remove_file(self.running_dir().join(format!("{run_id}.json")));
    }

    /// Finds the markers of runs whose process is gone, claims them, and returns what the
    /// history is to record of each (not yet appended).
    pub fn abandoned_runs(&self) -> Vec<Abandoned> {
        let Ok(entries) = std::fs::read_dir(self.running_dir()) else {
            return Vec::new();
        };
        let mut abandoned: Vec<Abandoned> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .filter_map(|path| claim(&path))
            .collect();
        abandoned.sort_by_key(|run| run.entry.started);
        abandoned
    }
}

/// The abandoned run of the marker at `path`, if its run is gone and this process is the one
/// that claims it.
fn claim(path: &Path) -> Option<Abandoned> {
    let file = File::open(path).ok()?;
    // Locked: its run is alive (in this process or another).
    file.try_lock().ok()?;
    let claimed = path.with_extension("json.claimed");
    // Gone meanwhile: its run ended well, or another run claimed it.
    std::fs::rename(path, &claimed).ok()?;
    let text = std::fs::read_to_string(&claimed).ok();
    let _ = std::fs::remove_file(&claimed);
    // An empty or torn marker: its run died while writing it, before any request.
    let marker: Marker = serde_json::from_str(&text?).ok()?;
    let found = Utc::now();
    Some(Abandoned {
        pid: marker.pid,
        entry: HistoryEntry {
            // When it died is not known; only that it was gone when found.
            ended: found,
            error: Some(format!(
                "the run's process (pid {}) ended before the run did: killed or crashed; found \
                 by the next run of the job at {}\nhint: a checkpoint, if the job keeps one, \
                 lets the next run resume what it had reduced",
                marker.pid,
                found.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
            ..HistoryEntry::begun(
                marker.run_id,
                marker.job,
                marker.trigger,
                marker.scheduled_for,
                marker.started,
                Status::Interrupted,
            )
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_marker_is_left_alone_and_a_dead_one_is_claimed_once() {
        let root = tempfile::tempdir().unwrap();
        let state = super::super::StateDir::open(Some(root.path()))
            .unwrap()
            .job("orders");
        let now = Utc::now();
        let live = state
            .mark_running("live", "orders", Trigger::Manual, None, now)
            .unwrap();
        assert!(
            state.abandoned_runs().is_empty(),
            "a live run is not abandoned"
        );
        // A dead run's marker: written, never locked again (as after `kill -9`).
        let dead = Marker {
            run_id: "dead".into(),
            job: "orders".into(),
            trigger: Trigger::Schedule,
            scheduled_for: Some(now),
            started: now,
            pid: 1,
        };
        std::fs::write(
            state.running_dir().join("dead.json"),
            serde_json::to_string(&dead).unwrap(),
        )
        .unwrap();
        let found = state.abandoned_runs();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].entry.run_id, "dead");
        assert_eq!(found[0].entry.status, Status::Interrupted);
        assert!(state.abandoned_runs().is_empty(), "claimed once");
        drop(live);
        assert!(
            state.abandoned_runs().is_empty(),
            "a run that ended removed its marker"
        );
    }
}
