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
    /// A shard's checkpoint in object storage: each one saved locally is copied there, and
    /// read from there before the run starts, so a pod retried on another node resumes.
    mirror: Option<Mirror>,
}

/// Where a local checkpoint file is copied to.
#[derive(Clone)]
struct Mirror {
    location: std::sync::Arc<crate::shard::PartsLocation>,
    name: String,
}

impl Mirror {
    fn upload(&self, path: &std::path::Path) -> Result<(), RunError> {
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.to_owned(),
            source,
        })?;
        self.location
            .put(&self.name, &bytes)
            .map_err(|error| RunError::Parts(crate::shard::PartError::from(error).into()))
    }
}

impl Checkpoints {
    pub(crate) fn open(
        job: &Job,
        options: &RunOptions,
        reducers: &Reducers,
        run_id: &str,
    ) -> Result<Self, RunError> {
        let mut dir = options
            .checkpoint
            .clone()
            .or_else(|| job.checkpoint.as_ref().map(|c| c.dir.clone()));
        let mut mirror = None;
        if let Some(shard) = &options.shard {
            // Beside the parts, whatever the job says: where a retried shard finds it.
            let folder =
                crate::shard::part::checkpoint_folder(&job.name, &shard.run_id, shard.shard.index);
            dir = Some(match shard.location.folder(&folder) {
                Some(local) => local,
                None => {
                    let local =
                        std::env::temp_dir().join(format!("pagefold-{}", folder.replace('/', "-")));
                    let path = super::path_for(&local, &job.name);
                    let name = format!(
                        "{folder}/{}",
                        path.file_name().unwrap_or_default().to_string_lossy()
                    );
                    let saved = shard.location.get(&name).map_err(|error| {
                        RunError::Parts(crate::shard::PartError::from(error).into())
                    })?;
                    match saved {
                        Some(bytes) => {
                            std::fs::create_dir_all(&local)
                                .and_then(|()| std::fs::write(&path, bytes))
                                .map_err(|source| CheckpointError::Io {
                                    path: path.clone(),
                                    source,
                                })?;
                        }
                        None => {
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                    mirror = Some(Mirror {
                        location: shard.location.clone(),
                        name,
                    });
                    local
                }
            });
        }
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
                mirror: None,
            });
        };
        let path = super::path_for(&dir, &job.name);
        let names = reducers.names();
        let key = match &options.shard {
            // The same on every node a shard may be retried on.
            Some(shard) => IdentityKey::for_run(&shard.run_id),
            None => IdentityKey::in_folder(&dir).map_err(CheckpointError::from)?,
        };
        let identity = job.identity.fingerprint(&key);
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
            mirror,
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
        let mirror = self.mirror.clone();
        tokio::task::spawn_blocking(move || {
            checkpoint.write(&path)?;
            match &mirror {
                Some(mirror) => mirror.upload(&path),
                None => Ok(()),
            }
        })
        .await
        .expect("the writer does not panic")?;
        Ok(())
    }

    /// The run is complete: its checkpoint is no longer needed.
    pub(crate) fn finished(&self) -> Result<(), RunError> {
        if let Some(mirror) = &self.mirror {
            mirror
                .location
                .remove(&mirror.name)
                .map_err(|error| RunError::Parts(crate::shard::PartError::from(error).into()))?;
        }
        if self.enabled() && self.path.exists() {
            std::fs::remove_file(&self.path).map_err(|source| CheckpointError::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}
