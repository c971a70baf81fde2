//! What an incremental job keeps in its state folder between runs (`incremental.json`): the
//! mark, the carried states and what they are of; read at the start of a run and written at
//! the end of a successful one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{IncrementalStart, MarkState, PreviousMark, since_value};
use crate::engine::checkpoint::{hex, unhex};
use crate::engine::reduce::{PluginIdentity, PluginLibrary};
use crate::job::Job;
use crate::secrets;
use crate::state::{JobState, StateError};

/// The file in the job's state folder.
const INCREMENTAL_FILE: &str = "incremental.json";

/// Why the incremental state could not be used or kept.
#[derive(Debug, thiserror::Error)]
pub enum IncrementalError {
    /// The state folder could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The incremental state does not fit the job.
    #[error("the incremental state of `{job}` cannot be used: {message}")]
    Damaged {
        /// The job.
        job: String,
        /// What is wrong.
        message: String,
    },
    /// The job's environment shapes its data otherwise than when its incremental state was
    /// saved: going on would mix two jobs' results.
    #[error("the incremental state of `{job}` was saved by a different job: {}", change.describe())]
    Identity {
        /// The job.
        job: String,
        /// What differs.
        change: crate::identity::Change,
        /// The state file.
        path: std::path::PathBuf,
    },
    /// The job's identity key could not be had.
    #[error(transparent)]
    Key(#[from] crate::identity::KeyError),
    /// A plugin's carried state was saved by another plugin or state format.
    #[error("the incremental state of `{job}` cannot carry reducer `{reducer}` on: {reason}")]
    OtherPlugin {
        /// The job.
        job: String,
        /// The reducer.
        reducer: String,
        /// Who saved the state and who would read it.
        reason: String,
        /// The state file.
        path: std::path::PathBuf,
    },
    /// The job's `lag` cannot be taken from its mark.
    #[error("[source.incremental] of `{job}`: {message}")]
    Lag {
        /// The job.
        job: String,
        /// What is wrong.
        message: String,
    },
}

impl IncrementalError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::State(error) => error.hint(),
            Self::Damaged { .. } => Some(
                "move the job's incremental.json (in the state directory) away to start afresh"
                    .into(),
            ),
            Self::Identity { change, path, .. } => Some(format!(
                "{}, or move `{}` away to start afresh (the next run fetches everything)",
                match change {
                    crate::identity::Change::Env(names) => format!(
                        "set {} back to the value{} of the last run",
                        names
                            .iter()
                            .map(|name| format!("`{name}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if names.len() == 1 { "" } else { "s" }
                    ),
                    crate::identity::Change::Text => "restore the job file".to_owned(),
                },
                path.display()
            )),
            Self::Key(_) => None,
            Self::OtherPlugin { path, .. } => Some(format!(
                "start over with `rm {}` (the next run fetches everything), or use the plugin that saved it",
                path.display()
            )),
            Self::Lag { .. } => Some(
                "remove `lag`, or choose a `field` that holds RFC 3339 times or numbers".into(),
            ),
        }
    }
}

/// What `incremental.json` in the job's state folder holds after a successful run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    /// What the mark is of (a hash of `field` and `param`).
    #[serde(default)]
    pub mark_of: String,
    /// The reducers the states are of (name and description): states of other reducers are
    /// not carried.
    pub reducers: Vec<String>,
    /// Each reducer's state, hex, the mark's last.
    pub states: Vec<String>,
    /// The mark's raw JSON, for people reading the file and `since`.
    pub mark: Option<String>,
    /// The job's identity when it was saved (states saved before it was kept have none): a
    /// run with another value of a `${env.…}` that shapes the data is refused.
    #[serde(default)]
    pub identity: Option<crate::identity::Fingerprint>,
    /// Per reducer, the plugin that saved its state (none for a built-in): carried states
    /// are read back only by that plugin and state format.
    #[serde(default)]
    pub plugins: Vec<Option<PluginIdentity>>,
}

/// Saves what the next run starts from.
pub fn keep_incremental(
    job: &Job,
    state: &JobState,
    end: &crate::engine::incremental::IncrementalEnd,
) -> Result<(), IncrementalError> {
    let Some(spec) = &job.source.incremental else {
        return Ok(());
    };
    // Checked now, not at the next run: a mark that cannot take `lag` is the job's mistake.
    if let Some(mark) = &end.mark {
        since_value(mark, spec.lag).map_err(|message| IncrementalError::Lag {
            job: job.name.clone(),
            message,
        })?;
    }
    let persisted = Persisted {
        mark_of: mark_fingerprint(job),
        reducers: fingerprint(job),
        states: end.states.iter().map(|state| hex(state)).collect(),
        mark: end.mark.clone(),
        identity: Some(identity_in(job, state)?),
        plugins: plugin_identities(job),
    };
    state.write_json(INCREMENTAL_FILE, &persisted)?;
    // A run the scheduler stopped, taken with the old mark, would mix two `since`s if resumed.
    let stale = crate::engine::checkpoint::path_for(&state.checkpoint_dir(), &job.name);
    if stale.exists() {
        tracing::warn!(
            "dropping `{}`: a later run of `{}` moved its mark on",
            stale.display(),
            job.name
        );
        let _ = std::fs::remove_file(&stale);
    }
    Ok(())
}

/// The job's identity, keyed with the state folder's key.
fn identity_in(
    job: &Job,
    state: &JobState,
) -> Result<crate::identity::Fingerprint, IncrementalError> {
    let key = crate::identity::IdentityKey::in_folder(state.dir())?;
    Ok(job.identity.fingerprint(&key))
}

/// What the mark is of: the field and the parameter. Another field's largest value means
/// nothing to this one.
fn mark_fingerprint(job: &Job) -> String {
    let spec = job
        .source
        .incremental
        .as_ref()
        .map(|spec| format!("{}|{}", spec.field, spec.param));
    crate::engine::checkpoint::job_hash(&format!("{spec:?}"))
}

/// What the reducers' states kept are of: each job reducer, `map`, and `carry`. Carried states
/// of anything else are not used. A hash, so that a secret in a plugin's `config` is never
/// written to the state directory.
fn fingerprint(job: &Job) -> Vec<String> {
    let carry = job
        .source
        .incremental
        .as_ref()
        .is_some_and(|spec| spec.carry);
    let map = job.source.map.clone();
    let reducers: Vec<String> = job
        .reduce
        .iter()
        .map(|spec| {
            let what = match &spec.reducer {
                crate::job::ReducerUse::Builtin {
                    kind,
                    field,
                    k,
                    sketch,
                } => {
                    format!("{kind:?} {field:?} {k}{}", sketch.describe_for(*kind))
                }
                // The library's file name, not its path: moving the job folder is no change.
                crate::job::ReducerUse::Plugin { path, config } => {
                    format!("{:?} {config}", path.file_name())
                }
            };
            format!("{} = {what}", spec.name)
        })
        .collect();
    let text = format!("carry {carry}\n{map:?}\n{}", reducers.join("\n"));
    vec![crate::engine::checkpoint::job_hash(&secrets::redact(&text))]
}

/// What the last successful run left, as the start of this one.
pub fn incremental_start(
    job: &Job,
    state: &JobState,
) -> Result<Option<IncrementalStart>, IncrementalError> {
    let Some(spec) = &job.source.incremental else {
        return Ok(None);
    };
    let first = IncrementalStart {
        since: spec.start.clone(),
        previous: Arc::new(PreviousMark::from_start(spec.start.as_deref())),
        ..IncrementalStart::default()
    };
    let Some(persisted) = state.read_json::<Persisted>(INCREMENTAL_FILE)? else {
        return Ok(Some(first));
    };
    let damaged = |message: String| IncrementalError::Damaged {
        job: job.name.clone(),
        message,
    };
    // Only the environment is compared: an edited file keeps its mark (the `field`, `param`
    // and reducer checks below decide what of it is used).
    if let Some(saved) = &persisted.identity
        && let Some(change) = identity_in(job, state)?.change_from(saved, false)
    {
        return Err(IncrementalError::Identity {
            job: job.name.clone(),
            change,
            path: state.dir().join(INCREMENTAL_FILE),
        });
    }
    let mut states = persisted
        .states
        .iter()
        .map(|text| unhex(text))
        .collect::<Option<Vec<Vec<u8>>>>()
        .ok_or_else(|| damaged("a state is not hex".into()))?;
    let mark_bytes = states
        .pop()
        .ok_or_else(|| damaged("the mark's state is missing".into()))?;
    let mark: MarkState = serde_json::from_slice(&mark_bytes)
        .map_err(|error| damaged(format!("the mark's state is damaged: {error}")))?;
    let afresh = |what: &str| {
        Ok(Some(IncrementalStart {
            note: Some(format!(
                "{what} changed since the last run, so what it kept is not used: this run \
                 fetched everything again"
            )),
            ..first.clone()
        }))
    };
    if persisted.mark_of != mark_fingerprint(job) {
        return afresh("the incremental `field` or `param`");
    }
    if spec.carry && persisted.reducers != fingerprint(job) {
        return afresh("the reducers, `map` or `carry`");
    }
    if spec.carry {
        let now = plugin_identities(job);
        for ((reducer, now), saved) in job.reduce.iter().zip(&now).zip(&persisted.plugins) {
            if let (Some(now), Some(saved)) = (now, saved)
                && let Some(reason) = now.refuses(saved)
            {
                return Err(IncrementalError::OtherPlugin {
                    job: job.name.clone(),
                    reducer: reducer.name.clone(),
                    reason,
                    path: state.dir().join(INCREMENTAL_FILE),
                });
            }
        }
    }
    let since = match &mark.max {
        Some((_, raw)) => {
            Some(
                since_value(raw, spec.lag).map_err(|message| IncrementalError::Lag {
                    job: job.name.clone(),
                    message,
                })?,
            )
        }
        None => spec.start.clone(),
    };
    Ok(Some(IncrementalStart {
        since,
        previous: Arc::new(mark.previous(spec.lag)),
        reducer_states: spec.carry.then_some(states),
        mark_state: Some(mark.for_next_run()),
        note: None,
    }))
}

/// Per reducer, the plugin it is (loaded to ask it), or none for a built-in or a plugin that
/// cannot be loaded (the run says why).
fn plugin_identities(job: &Job) -> Vec<Option<PluginIdentity>> {
    job.reduce
        .iter()
        .map(|spec| match &spec.reducer {
            crate::job::ReducerUse::Plugin { path, .. } => PluginLibrary::load(path)
                .ok()
                .map(|library| library.info().identity()),
            crate::job::ReducerUse::Builtin { .. } => None,
        })
        .collect()
}
