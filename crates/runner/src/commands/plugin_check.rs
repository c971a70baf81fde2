//! `pagefold plugin check LIB [--config JSON]`: loads a plugin as a run would, shows what it
//! is (name, version, SDK, ABI, build, state format) and, given a config, builds its reducer.
//! Exits 0 when the plugin would load (and accept the config), 1 when not.

use std::path::Path;

use pagefold::engine::reduce::PluginLibrary;
use pagefold::exit;
use pagefold::terminal::failure::Failure;
use pagefold::terminal::{print, say, warn};
use pagefold_reducer::abi::{ABI_MAJOR, ABI_MINOR};

/// `pagefold plugin check`.
pub(crate) fn run(library: &Path, config: Option<&str>) -> Result<u8, Failure> {
    let config: Option<serde_json::Value> = config
        .map(|text| {
            serde_json::from_str(text).map_err(|e| {
                let mut failure = Failure::from_error(exit::INVALID_INPUT, &e);
                failure.message = format!("--config is not JSON: {}", failure.message);
                failure.with_hint(Some(
                    "pass the reducer's `config` as JSON, e.g. --config '{\"field\": \"/amount\"}'"
                        .into(),
                ))
            })
        })
        .transpose()?;
    let plugin = PluginLibrary::load(library)
        .map_err(|error| Failure::from_error(exit::RUN_FAILED, &error).with_hint(error.hint()))?;
    let info = plugin.info();
    let (major, minor) = info.abi;
    let build = info.build.as_ref().map_or_else(
        || "unknown (ABI 1.0 plugins do not say)".to_owned(),
        ToString::to_string,
    );
    print(&format!(
        "plugin `{}` {}\n  library:       {}\n  SDK:           pagefold-reducer {}\n  ABI:           {major}.{minor} (this pagefold speaks {ABI_MAJOR}.{ABI_MINOR})\n  build:         {build}\n  state format:  {}\n",
        info.name,
        info.version,
        library.display(),
        info.sdk_version,
        info.state_format,
    ));
    if let Some(warning) = info.build_warning() {
        warn(&warning);
    }
    if let Some(config) = config {
        let reducer = plugin.reducer(&config).map_err(|error| {
            Failure::from_error(exit::RUN_FAILED, &error).with_hint(error.hint())
        })?;
        drop(reducer);
        say(&format!("the reducer builds with the config {config}"));
    }
    Ok(exit::SUCCESS)
}
