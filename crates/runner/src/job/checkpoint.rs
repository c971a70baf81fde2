//! `[checkpoint]`: where and how often a run saves what it has reduced, to resume after a
//! crash, a kill or Ctrl-C.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// `[checkpoint]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSpec {
    /// The folder for checkpoint files (relative to the job file's folder).
    pub dir: PathBuf,
    /// How often to save, e.g. `"5s"`.
    #[serde(default = "default_every", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub every: Duration,
}

fn default_every() -> Duration {
    Duration::from_secs(5)
}

impl CheckpointSpec {
    pub(crate) fn resolved(self, base: &Path) -> Self {
        Self {
            dir: base.join(self.dir),
            ..self
        }
    }
}
