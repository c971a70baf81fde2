//! Where the parts of a sharded run go: a folder (a volume every shard mounts), or
//! S3-compatible object storage by URL (`s3://bucket/prefix`), through `object_store`.
//!
//! Object storage is configured from the environment as AWS tools read it:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` for another S3-compatible store (MinIO, Ceph, R2, moto), and
//! `AWS_ALLOW_HTTP=true` for an endpoint without TLS. Names inside a location are
//! `/`-separated relative paths (`orders/RUN/part-0-of-4.json`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as StorePath;

/// A place parts can be written to and read from.
pub struct PartsLocation {
    place: Place,
    /// As the user wrote it, for messages.
    shown: String,
}

enum Place {
    Folder(PathBuf),
    Store {
        store: Arc<dyn ObjectStore>,
        prefix: StorePath,
        /// Object storage is asynchronous; parts are written from threads that may belong to
        /// another runtime (a checkpoint is saved from the run's), so its requests run on a
        /// small runtime of their own and are waited for over a channel.
        runtime: Option<tokio::runtime::Runtime>,
    },
}

/// The location cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    /// A URL of a scheme pagefold does not write to.
    #[error("`{0}`: parts go to a folder or to `s3://BUCKET/PREFIX`")]
    Scheme(String),
    /// The object store could not be set up from the URL and the environment.
    #[error("cannot use `{location}`: {message}")]
    Setup {
        /// The location.
        location: String,
        /// Why.
        message: String,
    },
    /// A file or object could not be read, written, listed or removed.
    #[error("cannot {action} `{name}`: {message}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or object.
        name: String,
        /// Why.
        message: String,
    },
}

impl PartsLocation {
    /// The location named by `text`: `s3://bucket/prefix`, or a folder.
    ///
    /// # Errors
    ///
    /// For another URL scheme, or when the object store cannot be configured.
    pub fn parse(text: &str) -> Result<Self, LocationError> {
        let shown = text.trim_end_matches('/').to_owned();
        if let Some((scheme, _)) = text.split_once("://") {
            if scheme != "s3" {
                return Err(LocationError::Scheme(text.to_owned()));
            }
            let setup = |message: String| LocationError::Setup {
                location: shown.clone(),
                message,
            };
            let url = url::Url::parse(text).map_err(|e| setup(e.to_string()))?;
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(|e| setup(e.to_string()))?;
            let prefix = StorePath::from(url.path().trim_matches('/'));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("pagefold-parts")
                .enable_all()
                .build()
                .map_err(|e| setup(e.to_string()))?;
            return Ok(Self {
                place: Place::Store {
                    store: Arc::new(store),
                    prefix,
                    runtime: Some(runtime),
                },
                shown,
            });
        }
        Ok(Self {
            place: Place::Folder(PathBuf::from(text)),
            shown,
        })
    }

    /// Where `name` is, as shown to the user: a path or a URL.
    pub fn show(&self, name: &str) -> String {
        format!("{}/{name}", self.shown)
    }

    /// The local folder of `name`, when the location is a folder.
    pub fn folder(&self, name: &str) -> Option<PathBuf> {
        match &self.place {
            Place::Folder(root) => Some(root.join(name)),
            Place::Store { .. } => None,
        }
    }

    /// Writes `bytes` to `name`, replacing what is there, atomically: a reader sees the old
    /// content or the new, never a part of it.
    ///
    /// # Errors
    ///
    /// When it cannot be written.
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<(), LocationError> {
        let failed = |message: String| LocationError::Io {
            action: "write",
            name: self.show(name),
            message,
        };
        match &self.place {
            Place::Folder(root) => {
                let path = root.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| failed(e.to_string()))?;
                }
                crate::output::write_file(
                    &path,
                    bytes,
                    crate::output::NewFile::Private,
                    crate::output::Durability::Synced,
                    &temporary_prefix(&path),
                )
                .map_err(|e| failed(e.to_string()))
            }
            Place::Store { store, .. } => {
                let (store, path) = (store.clone(), self.object(name));
                let payload = object_store::PutPayload::from(bytes.to_vec());
                self.block_on(async move { store.put(&path, payload).await.map(drop) })
                    .map_err(|e| failed(e.to_string()))
            }
        }
    }

    /// The bytes of `name`; `None` when there is no such file or object.
    ///
    /// # Errors
    ///
    /// When it exists but cannot be read.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>, LocationError> {
        let failed = |message: String| LocationError::Io {
            action: "read",
            name: self.show(name),
            message,
        };
        match &self.place {
            Place::Folder(root) => match std::fs::read(root.join(name)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(failed(error.to_string())),
            },
            Place::Store { store, .. } => {
                let (store, path) = (store.clone(), self.object(name));
                let got = self.block_on(async move {
                    match store.get(&path).await {
                        Ok(found) => found.bytes().await.map(|bytes| Some(bytes.to_vec())),
                        Err(object_store::Error::NotFound { .. }) => Ok(None),
                        Err(error) => Err(error),
                    }
                });
                got.map_err(|e| failed(e.to_string()))
            }
        }
    }

    /// The names of the files directly in `folder` (not in folders below it), sorted.
    ///
    /// # Errors
    ///
    /// When the folder exists but cannot be listed.
    pub fn list(&self, folder: &str) -> Result<Vec<String>, LocationError> {
        let failed = |message: String| LocationError::Io {
            action: "list",
            name: self.show(folder),
            message,
        };
        let mut names = match &self.place {
            Place::Folder(root) => match std::fs::read_dir(root.join(folder)) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|entry| entry.file_name().into_string().ok())
                    .collect(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(error) => return Err(failed(error.to_string())),
            },
            Place::Store { store, .. } => {
                let (store, path) = (store.clone(), self.object(folder));
                let listed = self
                    .block_on(async move { store.list_with_delimiter(Some(&path)).await })
                    .map_err(|e| failed(e.to_string()))?;
                listed
                    .objects
                    .into_iter()
                    .filter_map(|object| object.location.filename().map(str::to_owned))
                    .collect()
            }
        };
        names.sort();
        Ok(names)
    }

    /// Removes `name`, if it is there.
    ///
    /// # Errors
    ///
    /// When it is there and cannot be removed.
    pub fn remove(&self, name: &str) -> Result<(), LocationError> {
        let failed = |message: String| LocationError::Io {
            action: "remove",
            name: self.show(name),
            message,
        };
        match &self.place {
            Place::Folder(root) => match std::fs::remove_file(root.join(name)) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(failed(error.to_string()))
                }
                _ => Ok(()),
            },
            Place::Store { store, .. } => {
                let (store, path) = (store.clone(), self.object(name));
                self.block_on(async move {
                    match store.delete(&path).await {
                        Err(object_store::Error::NotFound { .. }) => Ok(()),
                        other => other,
                    }
                })
                .map_err(|e| failed(e.to_string()))
            }
        }
    }

    fn object(&self, name: &str) -> StorePath {
        let Place::Store { prefix, .. } = &self.place else {
            return StorePath::from(name);
        };
        name.split('/')
            .filter(|part| !part.is_empty())
            .fold(prefix.clone(), |path, part| path.child(part))
    }

    fn block_on<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, object_store::Error>> + Send + 'static,
    ) -> Result<T, object_store::Error> {
        let Place::Store {
            runtime: Some(runtime),
            ..
        } = &self.place
        else {
            unreachable!("only object storage is asynchronous");
        };
        let (done, outcome) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = done.send(work.await);
        });
        outcome.recv().unwrap_or_else(|_| {
            Err(object_store::Error::Generic {
                store: "S3",
                source: "the request was dropped before it finished".into(),
            })
        })
    }
}

impl Drop for PartsLocation {
    fn drop(&mut self) {
        if let Place::Store { runtime, .. } = &mut self.place
            && let Some(runtime) = runtime.take()
        {
            // Dropping a runtime waits for its threads, which a runtime's own thread must
            // not do: this never blocks, wherever the location is dropped.
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for PartsLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartsLocation({})", self.shown)
    }
}

fn temporary_prefix(path: &Path) -> String {
    format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}
