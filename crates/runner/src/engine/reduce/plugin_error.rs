//! Why a plugin library could not be used, and what to do about it.

use std::path::PathBuf;

use pagefold_reducer::abi::{ABI_MAJOR, ABI_MINOR};

use super::ReduceFailure;

/// A plugin library that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No file at the path.
    #[error("plugin `{}` does not exist", .0.display())]
    NotFound(PathBuf),
    /// A directory where a library was expected.
    #[error("plugin `{}` is a directory, not a library", .0.display())]
    Directory(PathBuf),
    /// `dlopen` refused the file.
    #[error("`{}` is not a loadable library: {reason}", path.display())]
    NotALibrary {
        /// The file.
        path: PathBuf,
        /// What the system loader said.
        reason: String,
    },
    /// The library has no pagefold entry point.
    #[error("`{}` is a library but not a pagefold plugin: it has no `pagefold_reducer_plugin` symbol", .0.display())]
    MissingSymbol(PathBuf),
    /// Built against another major ABI version.
    #[error(
        "plugin `{}` was built for pagefold plugin ABI {major}.{minor}, but this pagefold speaks ABI {ABI_MAJOR}.{ABI_MINOR}",
        path.display()
    )]
    AbiMismatch {
        /// The file.
        path: PathBuf,
        /// The plugin's major version.
        major: u32,
        /// The plugin's minor version.
        minor: u32,
    },
    /// The plugin's table is smaller than its version promises.
    #[error("plugin `{}` has a malformed entry table ({size} bytes, expected at least {expected})", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The size it reports.
        size: usize,
        /// The size of ABI 1's table.
        expected: usize,
    },
    /// The plugin rejected its config, or failed or panicked while starting.
    #[error("plugin `{plugin}` (`{}`) {}", path.display(), setup_failure(failure))]
    Setup {
        /// The plugin's name.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// What happened.
        failure: ReduceFailure,
    },
}

fn setup_failure(failure: &ReduceFailure) -> String {
    match failure {
        ReduceFailure::Failed(message) => format!("rejected its config: {message}"),
        panicked => panicked.to_string(),
    }
}

impl PluginError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        let sdk = pagefold_reducer::SDK_VERSION;
        match self {
            Self::NotFound(_) | Self::Directory(_) => Some(format!(
                "build the plugin with `cargo build --release` in its crate and point `plugin` at the library, e.g. `target/release/{}`",
                libloading::library_filename("NAME").to_string_lossy()
            )),
            Self::NotALibrary { .. } => Some("point `plugin` at the `cdylib` that `cargo build --release` writes".into()),
            Self::MissingSymbol(_) => {
                Some("a plugin calls `pagefold_reducer::export_reducer!(YourReducer)` once at its crate root".into())
            }
            Self::AbiMismatch { .. } | Self::Malformed { .. } => {
                Some(format!("rebuild the plugin against pagefold-reducer {sdk} (ABI {ABI_MAJOR}.{ABI_MINOR})"))
            }
            Self::Setup { failure: ReduceFailure::Failed(_), .. } => Some("check the reducer's `config` in the job file".into()),
            Self::Setup { .. } => Some("this is a bug in the plugin: report it to its author with the message above".into()),
        }
    }
}
