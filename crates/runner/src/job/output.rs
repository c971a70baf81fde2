//! `[output]`: where the result document goes.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The result file; a relative path is relative to the job file's folder, so a scheduled
    /// job writes to the same place whatever directory it is started from.
    pub path: PathBuf,
}

impl OutputSpec {
    pub(crate) fn resolved(self, base: &Path) -> Self {
        Self {
            path: base.join(self.path),
        }
    }
}
