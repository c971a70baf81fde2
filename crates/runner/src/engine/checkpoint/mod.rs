//! Checkpoints: what a run has reduced so far, saved so that a killed run can resume exactly.
//!
//! A checkpoint holds every worker's saved reducer states and the pages those states cover
//! (each worker saves its own states and the pages it folded at the same moment, so the two
//! always agree). Resuming merges the states into one worker's starting states and skips the
//! pages: none is lost, none is counted twice. It is written like the result (temporary
//! file, flushed, renamed), so a crash leaves the old checkpoint or the new one; it is sealed
//! ([`sealed`]: what it is, its format, a checksum), so that a file cut short, damaged or
//! edited is refused for what it is, and a temporary file a crash left behind is removed when
//! the next run starts.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) mod during_run;
mod leftovers;
mod saved_by;
pub mod sealed;

pub use saved_by::{Mismatch, SavedBy};

use crate::engine::reduce::{PluginIdentity, WorkerSnapshot};
use crate::identity::{Change, Fingerprint, KeyError};

/// The format written; a checkpoint of another format is refused. Format 3 is sealed with a
/// checksum; format 2 held the job's [`Fingerprint`] (format 1 a hash of its redacted text).
const FORMAT: u32 = 3;

/// What a checkpoint's envelope says it is.
const KIND: &str = "checkpoint";

/// A checkpoint on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The job's identity: a checkpoint of another job, of this one edited, or of this one
    /// with another value of a `${env.…}` that shapes the data is refused.
    identity: Fingerprint,
    /// The reducers' names, in job order.
    reducers: Vec<String>,
    /// Per reducer, the plugin that saved its states (none for a built-in): a state is read
    /// back only by the plugin, and the state format, that wrote it.
    #[serde(default)]
    plugins: Vec<Option<PluginIdentity>>,
    /// `(chain, first, last)`: inclusive ranges of the pages reduced.
    done: Vec<(u32, u64, u64)>,
    /// Pages and records reduced.
    pub pages: u64,
    /// Records in those pages.
    pub records: u64,
    /// Per worker, per reducer: the saved state, hex-encoded.
    states: Vec<Vec<String>>,
    /// The id of the run that saved it: the run that resumes it is the same run, and keeps
    /// the id (its database rows are then written once, under one id). Absent in
    /// checkpoints of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// A checkpoint that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("cannot use the checkpoint `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is cut short, damaged, edited, or not a checkpoint this pagefold reads.
    #[error("the checkpoint `{}` cannot be resumed: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint belongs to another job, to this job before it was edited, or to this
    /// job run with other values of its environment.
    #[error("the checkpoint `{}` was saved by a different job: {}", path.display(), change.describe())]
    OtherJob {
        /// The file.
        path: PathBuf,
        /// What differs.
        change: Change,
    },
    /// The key of the job's identity could not be had.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A plugin's saved states were written by another plugin or state format.
    #[error("the checkpoint `{}` cannot resume reducer `{reducer}`: {reason}", path.display())]
    OtherPlugin {
        /// The file.
        path: PathBuf,
        /// The reducer.
        reducer: String,
        /// Who saved the states and who would read them.
        reason: String,
    },
}

impl CheckpointError {
    /// The error for states this job cannot read back, naming the checkpoint.
    fn refused(path: &Path, mismatch: Mismatch) -> Self {
        match mismatch {
            Mismatch::Job(change) => Self::OtherJob {
                path: path.to_owned(),
                change,
            },
            Mismatch::Plugin { reducer, reason } => Self::OtherPlugin {
                path: path.to_owned(),
                reducer,
                reason,
            },
        }
    }

    /// What to do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::OtherJob {
                path,
                change: Change::Env(names),
            } => Some(format!(
                "resuming would mix results of two different jobs: set {} back to the value{} of the stopped run, or delete `{}` to start over",
                names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if names.len() == 1 { "" } else { "s" },
                path.display()
            )),
            Self::OtherJob { path, .. } => Some(format!(
                "resuming would mix results of two different jobs: restore the job file, or delete `{}` to start over",
                path.display()
            )),
            Self::Corrupt { path, .. } => Some(format!(
                "what it holds cannot be trusted: start over with `rm {}` (the run then fetches everything again)",
                path.display()
            )),
            Self::OtherPlugin { path, .. } => Some(format!(
                "start over with `rm {}` (the run then fetches everything again), or use the plugin that saved it",
                path.display()
            )),
            Self::Io { .. } | Self::Key(_) => None,
        }
    }
}

/// The id of the run that saved the checkpoint at `path`, if there is one that says: the
/// scheduler names a resumed run by it before it starts.
pub fn saved_run_id(path: &Path) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        run_id: Option<String>,
    }
    let text = std::fs::read_to_string(path).ok()?;
    let content = sealed::open(KIND, FORMAT, &text).ok()?;
    serde_json::from_str::<Id>(content).ok()?.run_id
}

/// Where a job's checkpoint lives: `DIR/NAME.checkpoint.json`.
pub fn path_for(dir: &Path, job_name: &str) -> PathBuf {
    let safe: String = job_name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.checkpoint.json"))
}

/// FNV-1a of a text: stable across runs, builds and machines. For fingerprints of settings
/// that are not secret (a job's identity is [`crate::identity`]'s).
pub fn job_hash(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016x}")
}

impl Checkpoint {
    /// Reads the checkpoint at `path`, if there is one, and checks it belongs to this job.
    ///
    /// # Errors
    ///
    /// When it cannot be read, is not a checkpoint, or is another job's.
    pub fn load(
        path: &Path,
        identity: &Fingerprint,
        reducers: &[String],
        plugins: &[Option<PluginIdentity>],
    ) -> Result<Option<Self>, CheckpointError> {
        leftovers::remove_leftovers(path);
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CheckpointError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let corrupt = |reason: String| CheckpointError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let content = sealed::open(KIND, FORMAT, &text).map_err(|e| corrupt(e.to_string()))?;
        let checkpoint: Checkpoint = serde_json::from_str(content)
            .map_err(|e| corrupt(format!("its content is not a checkpoint's ({e})")))?;
        if let Some(reason) = checkpoint.inconsistency() {
            return Err(corrupt(reason));
        }
        let saved = SavedBy {
            identity: &checkpoint.identity,
            reducers: &checkpoint.reducers,
            plugins: &checkpoint.plugins,
        };
        let now = SavedBy {
            identity,
            reducers,
            plugins,
        };
        if let Some(mismatch) = now.refuses(&saved) {
            return Err(CheckpointError::refused(path, mismatch));
        }
        Ok(Some(checkpoint))
    }

    /// A checkpoint of `snapshots` on top of what `before` (the checkpoint this run resumed)
    /// already covered.
    pub fn new(
        identity: &Fingerprint,
        reducers: &[String],
        plugins: &[Option<PluginIdentity>],
        before: Option<&Checkpoint>,
        snapshots: &[WorkerSnapshot],
    ) -> Self {
        let mut done: BTreeSet<(u32, u64)> = before.map(Checkpoint::done_pages).unwrap_or_default();
        let mut records = before.map_or(0, |c| c.records);
        for snapshot in snapshots {
            done.extend(snapshot.folded.iter().copied());
            records += snapshot.records;
        }
        let states = snapshots
            .iter()
            .map(|s| s.states.iter().map(|state| hex(state)).collect())
            .collect();
        Self {
            identity: identity.clone(),
            plugins: plugins.to_vec(),
            reducers: reducers.to_vec(),
            pages: done.len() as u64,
            done: ranges(&done),
            records,
            states,
            run_id: before.and_then(|before| before.run_id.clone()),
        }
    }

    /// Why its parts disagree, if they do: a count of pages that does not match the pages
    /// listed. A sealed file disagrees only if the pagefold
    /// that wrote it was wrong; checked anyway, since resuming would put its numbers in a
    /// result.
    fn inconsistency(&self) -> Option<String> {
        let mut listed: u64 = 0;
        for &(_, first, last) in &self.done {
            if last < first {
                return Some(format!(
                    "a range of pages runs backwards ({first} to {last})"
                ));
            }
            listed = listed.saturating_add(last - first + 1);
        }
        if listed != self.pages {
            return Some(format!("it counts {} pages but lists {listed}", self.pages));
        }
        None
    }

    /// Every `(chain, page)` reduced.
    pub fn done_pages(&self) -> BTreeSet<(u32, u64)> {
        self.done
            .iter()
            .flat_map(|&(chain, first, last)| (first..=last).map(move |page| (chain, page)))
            .collect()
    }

    /// The pages reduced, by chain: built once, looked up per chain.
    pub fn done_by_chain(&self) -> std::collections::BTreeMap<u32, BTreeSet<u64>> {
        let mut by_chain: std::collections::BTreeMap<u32, BTreeSet<u64>> =
            std::collections::BTreeMap::new();
        for &(chain, first, last) in &self.done {
            by_chain.entry(chain).or_default().extend(first..=last);
        }
        by_chain
    }

    /// Per worker, per reducer, the saved states.
    ///
    /// # Errors
    ///
    /// When a state is not valid hex.
    pub fn states(&self, path: &Path) -> Result<Vec<Vec<Vec<u8>>>, CheckpointError> {
        self.states
            .iter()
            .map(|worker| {
                worker
                    .iter()
                    .map(|state| unhex(state))
                    .collect::<Option<Vec<_>>>()
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| CheckpointError::Corrupt {
                path: path.to_owned(),
                reason: "a saved state is not hex".into(),
            })
    }

    /// Writes the checkpoint atomically (temporary file, flushed, renamed, folder flushed).
    ///
    /// # Errors
    ///
    /// When the folder cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), CheckpointError> {
        let text = sealed::seal(
            KIND,
            FORMAT,
            &serde_json::to_string(self).expect("a checkpoint serializes"),
        );
        let io = |source| CheckpointError::Io {
            path: path.to_owned(),
            source,
        };
        crate::output::write_file(
            path,
            text.as_bytes(),
            crate::output::NewFile::Private,
            crate::output::Durability::Synced,
            &leftovers::temporary_prefix(path),
        )
        .map_err(io)?;
        #[cfg(unix)]
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename itself is only durable once the folder is flushed.
            std::fs::File::open(folder)
                .and_then(|f| f.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }
}

fn ranges(pages: &BTreeSet<(u32, u64)>) -> Vec<(u32, u64, u64)> {
    let mut ranges: Vec<(u32, u64, u64)> = Vec::new();
    for &(chain, page) in pages {
        match ranges.last_mut() {
            Some((c, _, last)) if *c == chain && *last + 1 == page => *last = page,
            _ => ranges.push((chain, page, page)),
        }
    }
    ranges
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_compress_to_ranges_and_back() {
        let pages: BTreeSet<(u32, u64)> = [(0, 0), (0, 1), (0, 2), (0, 5), (1, 0), (1, 1)].into();
        assert_eq!(ranges(&pages), [(0, 0, 2), (0, 5, 5), (1, 0, 1)]);
        let checkpoint = Checkpoint {
            identity: Fingerprint {
                text: job_hash("x"),
                env: Default::default(),
            },
            reducers: vec![],
            plugins: vec![],
            done: ranges(&pages),
            pages: 6,
            records: 0,
            states: vec![],
            run_id: None,
        };
        assert_eq!(checkpoint.done_pages(), pages);
        assert_eq!(checkpoint.done_by_chain()[&1], [0, 1].into());
    }

    #[test]
    fn hex_round_trips() {
        let bytes = [0u8, 1, 127, 128, 255];
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("abc"), None);
    }
}
