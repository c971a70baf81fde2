//! What a loaded plugin says about itself: name, versions, ABI, build and state format.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a plugin was compiled (ABI 1.1 and later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// Cargo's `opt-level`: `0` to `3`, `s` or `z`.
    pub opt_level: String,
    /// Whether debug assertions were on.
    pub debug_assertions: bool,
}

impl Build {
    /// Whether it was compiled without optimisations (a debug build: several times slower).
    pub fn unoptimised(&self) -> bool {
        self.opt_level == "0"
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.unoptimised() {
            "a debug build, without optimisations"
        } else if self.debug_assertions {
            "optimised, with debug assertions"
        } else {
            "optimised"
        };
        write!(f, "opt-level {} ({kind})", self.opt_level)
    }
}

/// The identity and build of a plugin library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The plugin crate's name.
    pub name: String,
    /// The plugin crate's version.
    pub version: String,
    /// The version of pagefold-reducer it was built with.
    pub sdk_version: String,
    /// The ABI version of its table, `(major, minor)`.
    pub abi: (u32, u32),
    /// How it was compiled; `None` for a plugin of ABI 1.0, which does not say.
    pub build: Option<Build>,
    /// The version of its saved states (`Reducer::STATE_FORMAT`; 1 for ABI 1.0).
    pub state_format: u32,
}

impl PluginInfo {
    /// The warning a plugin built without optimisations deserves, if it does.
    pub fn build_warning(&self) -> Option<String> {
        self.build.as_ref().filter(|b| b.unoptimised()).map(|_| {
            format!(
                "plugin `{}` {} was built without optimisations (a debug build) and runs several times slower: build it with `cargo build --release`",
                self.name, self.version
            )
        })
    }

    /// What checkpoints and incremental states record of the plugin.
    pub fn identity(&self) -> PluginIdentity {
        PluginIdentity {
            name: self.name.clone(),
            version: self.version.clone(),
            state_format: self.state_format,
        }
    }
}

/// A plugin as saved states record it: whose states they are, in which format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginIdentity {
    /// The plugin crate's name.
    pub name: String,
    /// The plugin crate's version (informative: a new version may read older states).
    pub version: String,
    /// The version of its saved states.
    pub state_format: u32,
}

impl PluginIdentity {
    /// Why states saved by `saved` cannot be loaded by `self`, if they cannot.
    pub fn refuses(&self, saved: &PluginIdentity) -> Option<String> {
        if self.name != saved.name {
            Some(format!(
                "they were saved by plugin `{}` {}, and this job now uses plugin `{}` {}",
                saved.name, saved.version, self.name, self.version
            ))
        } else if self.state_format != saved.state_format {
            Some(format!(
                "they were saved by plugin `{}` {} in state format {}, and {} {} reads state format {}",
                saved.name,
                saved.version,
                saved.state_format,
                self.name,
                self.version,
                self.state_format
            ))
        } else {
            None
        }
    }
}
