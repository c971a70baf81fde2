//! A job's identity: what a checkpoint or an incremental state was made by, so that a resume
//! never mixes the results of two different jobs.
//!
//! The identity is the job file's text as written (with `${env.NAME}` unexpanded) and the
//! values of the environment variables that shape the data: those used in the URL, the query,
//! the headers that are not credentials, partitions, `map` and the reducers. A value used only
//! as a credential (an auth token, a password, a secret query parameter, an `Authorization`
//! header) stays out, so that a rotated token is still the same job.
//!
//! The values are never written down: each is put through HMAC-SHA256 with a random key kept
//! in a file of its own beside the state it protects ([`IdentityKey`]). A checkpoint shared
//! in a bug report says nothing about them, not even for a short value such as `paid`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a job is, in memory: the hash of its text and the real values that shape its data.
#[derive(Clone, Default)]
pub struct Identity {
    text: String,
    /// `(NAME, value)` of every `${env.NAME}` that shapes the data.
    shaping: Vec<(String, String)>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the values.
        let names: Vec<&str> = self.shaping.iter().map(|(name, _)| name.as_str()).collect();
        write!(f, "Identity({}, env {names:?})", self.text)
    }
}

impl Identity {
    /// The identity of a job file whose text (as written) is `text` and whose data is shaped
    /// by the environment variables `shaping` (name and value).
    pub fn new(text: &str, shaping: Vec<(String, String)>) -> Self {
        let mut shaping = shaping;
        shaping.sort();
        shaping.dedup();
        Self {
            text: text_hash(text),
            shaping,
        }
    }

    /// The names of the environment variables that shape the data.
    pub fn shaping_names(&self) -> impl Iterator<Item = &str> {
        self.shaping.iter().map(|(name, _)| name.as_str())
    }

    /// What is written down: the text's hash and each value's keyed hash.
    pub fn fingerprint(&self, key: &IdentityKey) -> Fingerprint {
        let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key.0);
        let env = self
            .shaping
            .iter()
            .map(|(name, value)| {
                let mut message = Vec::with_capacity(name.len() + 1 + value.len());
                message.extend_from_slice(name.as_bytes());
                message.push(0);
                message.extend_from_slice(value.as_bytes());
                let tag = ring::hmac::sign(&hmac_key, &message);
                (name.clone(), hex(&tag.as_ref()[..16]))
            })
            .collect();
        Fingerprint {
            text: self.text.clone(),
            env,
        }
    }
}

/// A job's identity as saved in a checkpoint or an incremental state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// A hash of the job file's text as written.
    pub text: String,
    /// Per environment variable that shapes the data, a keyed hash of its value.
    pub env: BTreeMap<String, String>,
}

/// How a job differs from the one that saved a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The job file was edited.
    Text,
    /// These `${env.NAME}` have other values (or are used, or no longer used).
    Env(Vec<String>),
}

impl Fingerprint {
    /// How `self` (now) differs from `saved`; `None` when it is the same job. Only the
    /// environment is compared when `text` is false.
    pub fn change_from(&self, saved: &Fingerprint, text: bool) -> Option<Change> {
        let mut names: Vec<String> = self
            .env
            .iter()
            .filter(|(name, value)| saved.env.get(*name) != Some(value))
            .map(|(name, _)| name.clone())
            .chain(
                saved
                    .env
                    .keys()
                    .filter(|name| !self.env.contains_key(*name))
                    .cloned(),
            )
            .collect();
        names.sort();
        names.dedup();
        if !names.is_empty() {
            Some(Change::Env(names))
        } else if text && self.text != saved.text {
            Some(Change::Text)
        } else {
            None
        }
    }
}

impl Change {
    /// The change in words, after "the job changed since …: ".
    pub fn describe(&self) -> String {
        match self {
            Self::Text => "the job file was edited".into(),
            Self::Env(names) => {
                let names: Vec<String> = names.iter().map(|n| format!("`${{env.{n}}}`")).collect();
                format!(
                    "{} {} another value",
                    names.join(", "),
                    if names.len() == 1 { "has" } else { "have" }
                )
            }
        }
    }
}

/// The secret key of the keyed hashes: 32 random bytes in `identity.key` (mode 0600) in the
/// folder of the state it protects, made on first use.
pub struct IdentityKey([u8; 32]);

impl IdentityKey {
    /// The file's name.
    pub const FILE: &'static str = "identity.key";

    /// Reads the key of `dir`, making it (and the folder) if there is none yet.
    ///
    /// # Errors
    ///
    /// When the folder or the file cannot be made or read, or the file is not a key.
    pub fn in_folder(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(Self::FILE);
        let failed = |source| KeyError {
            path: path.clone(),
            source,
        };
        match std::fs::read(&path) {
            Ok(bytes) => return Self::from_bytes(&bytes).ok_or_else(|| failed(damaged())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(failed(error)),
        }
        std::fs::create_dir_all(dir).map_err(failed)?;
        let mut key = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
            .map_err(|_| failed(std::io::Error::other("no random numbers")))?;
        // Written aside, then linked into place only if no other process made one meanwhile:
        // two processes starting together agree on one key.
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
        file.write_all(hex(&key).as_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(failed)?;
        match file.persist_noclobber(&path) {
            Ok(_) => Ok(Self(key)),
            Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => {
                let bytes = std::fs::read(&path).map_err(failed)?;
                Self::from_bytes(&bytes).ok_or_else(|| failed(damaged()))
            }
            Err(error) => Err(failed(error.error)),
        }
    }

    /// The key of a sharded run's parts and checkpoints, the same on every machine that runs
    /// a shard of run `run_id`: derived from it, since shards share no folder where a random
    /// key could be agreed on. It still keeps the values out of the files as written, but
    /// whoever knows the run id can test a guess of a value against a part.
    pub fn for_run(run_id: &str) -> Self {
        let mut message = b"pagefold shard identity\0".to_vec();
        message.extend_from_slice(run_id.as_bytes());
        let digest = ring::digest::digest(&ring::digest::SHA256, &message);
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        Self(key)
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?.trim();
        let mut key = [0u8; 32];
        if text.len() != 64 {
            return None;
        }
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(key))
    }
}

fn damaged() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "it does not hold 64 hex digits",
    )
}

/// The identity key could not be had.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the identity key `{}`", path.display())]
pub struct KeyError {
    /// The key's file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// SHA-256 of the job file's text, as hex: stable across runs, builds and machines.
pub fn text_hash(text: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(status: &str, token: &str) -> Identity {
        let _ = token; // a credential never enters the identity
        Identity::new(
            "query = { status = \"${env.STATUS}\" }",
            vec![("STATUS".into(), status.into())],
        )
    }

    #[test]
    fn a_changed_value_is_named_and_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let key = IdentityKey::in_folder(dir.path()).unwrap();
        let paid = identity("paid", "t1").fingerprint(&key);
        assert_eq!(identity("paid", "t2").fingerprint(&key), paid);
        let open = identity("open", "t1").fingerprint(&key);
        assert_eq!(
            open.change_from(&paid, true),
            Some(Change::Env(vec!["STATUS".into()]))
        );
        let written = serde_json::to_string(&paid).unwrap();
        assert!(!written.contains("paid"), "{written}");
        assert_eq!(
            Change::Env(vec!["STATUS".into()]).describe(),
            "`${env.STATUS}` has another value"
        );
    }

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = IdentityKey::in_folder(&dir.path().join("new")).unwrap();
        let again = IdentityKey::in_folder(&dir.path().join("new")).unwrap();
        assert_eq!(first.0, again.0);
        let other = IdentityKey::in_folder(&dir.path().join("other")).unwrap();
        assert_ne!(first.0, other.0);
        std::fs::write(dir.path().join("other").join(IdentityKey::FILE), "x").unwrap();
        assert!(IdentityKey::in_folder(&dir.path().join("other")).is_err());
    }
}
