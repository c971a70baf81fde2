//! Checkpointing during a run: when to save, what to resume from, and removing the file of a
//! finished run.

use std::path::PathBuf;
use std::time::Duration;

use super::{Checkpoint, CheckpointError};
use crate::engine::reduce::{Reducers, Work, WorkerPool};
use crate::identity::{Fingerprint, IdentityKey};
use crate::job::Job;

use crate::engine::run::error::RunError;
use crate::engine::run::options::RunOptions;

/// Checkpointing for one run: where, how often, and what it resumed from.
pub(crate) struct Checkpoints {
    pub(crate) path: PathBuf,
    pub(crate) every: Option<Duration>,
    identity: Fingerprint,
    reducers: Vec<String>,
    plugins: Vec<Option<crate::engine::reduce::PluginIdentity>>,
    pub(crate) resumed: Option<Checkpoint>,
    /// The run's id, saved in each checkpoint: the one resumed, else this run's.
    pub(crate) run_id: String,
}

impl Checkpoints {
    pub(crate) fn open(
        job: &Job,
        options: &RunOptions,
        reducers: &Reducers,
        run_id: &str,
    ) -> Result<Self, RunError> {
        let dir = options
            .checkpoint
            .clone()
            .or_else(|| job.checkpoint.as_ref().map(|c| c.dir.clone()));
        let every = options
            .checkpoint_every
            .or_else(|| job.checkpoint.as_ref().map(|c| c.every))
            .unwrap_or(Duration::from_secs(5));
        let Some(dir) = dir else {
            return Ok(Self {
                path: PathBuf::new(),
                every: None,
                identity: Fingerprint {
                    text: String::new(),
                    env: Default::default(),
                },
                reducers: Vec::new(),
                plugins: Vec::new(),
                resumed: None,
                run_id: run_id.to_owned(),
            });
        };
        let path = super::path_for(&dir, &job.name);
        let names = reducers.names();
        let identity = job
            .identity
            .fingerprint(&IdentityKey::in_folder(&dir).map_err(CheckpointError::from)?);
        let plugins = reducers.plugins();
        let resumed = Checkpoint::load(&path, &identity, &names, &plugins)?;
        if let Some(resumed) = &resumed {
            tracing::info!(pages = resumed.pages, path = %path.display(), "resuming from a checkpoint");
        }
        let run_id = resumed
            .as_ref()
            .and_then(|resumed| resumed.run_id.clone())
            .unwrap_or_else(|| run_id.to_owned());
        Ok(Self {
            path,
            every: Some(every),
            identity,
            reducers: names,
            plugins,
            resumed,
            run_id,
        })
    }

    pub(crate) fn enabled(&self) -> bool {
        self.every.is_some()
    }

    /// Takes a snapshot of the workers and writes it; no snapshot when a worker has stopped
    /// (the run is failing and its error says why).
    pub(crate) async fn save(
        &self,
        pool: &WorkerPool,
        work: &async_channel::Sender<Work>,
    ) -> Result<(), RunError> {
        let Some(snapshots) = pool.snapshot(work).await else {
            pool.resume();
            return Ok(());
        };
        let snapshots = match snapshots {
            Ok(snapshots) => snapshots,
            Err(error) => {
                pool.resume();
                return Err(error.into());
            }
        };
        let mut checkpoint = Checkpoint::new(
            &self.identity,
            &self.reducers,
            &self.plugins,
            self.resumed.as_ref(),
            &snapshots,
        );
        checkpoint.run_id = Some(self.run_id.clone());
        // The states are copied out: the workers go on while the file is written.
        pool.resume();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || checkpoint.write(&path))
            .await
            .expect("the writer does not panic")?;
        Ok(())
    }

    /// The run is complete: its checkpoint is no longer needed.
    pub(crate) fn finished(&self) -> Result<(), RunError> {
        if self.enabled() && self.path.exists() {
            std::fs::remove_file(&self.path).map_err(|source| CheckpointError::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}
