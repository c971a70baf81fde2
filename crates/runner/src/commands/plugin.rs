//! `pagefold plugin new NAME`: a plugin crate that builds and loads as it is.

use std::path::{Path, PathBuf};

/// Where the SDK this binary was built with lives, for a path dependency.
const SDK_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../reducer");

const LIB_RS: &str = include_str!("plugin_template/lib.rs.txt");
const CARGO_TOML: &str = include_str!("plugin_template/Cargo.toml.txt");
const README: &str = include_str!("plugin_template/README.md.txt");

/// Why no crate was written.
#[derive(Debug, thiserror::Error)]
pub enum NewPluginError {
    /// The name cannot be a crate name.
    #[error(
        "`{0}` cannot be a crate name: use lower-case letters, digits and `_`, starting with a letter"
    )]
    BadName(String),
    /// Something is already there.
    #[error("`{}` already exists", .0.display())]
    Exists(PathBuf),
    /// The SDK source this binary was built from is gone, and no version was given.
    #[error("the pagefold-reducer SDK is not at `{0}` any more")]
    NoSdk(String),
    /// Writing failed.
    #[error("cannot write `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl NewPluginError {
    /// What to do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Exists(_) => Some("choose another name, or --dir for another folder".into()),
            Self::NoSdk(_) => {
                Some("pass --sdk-version X.Y.Z to depend on a published pagefold-reducer".into())
            }
            Self::BadName(_) | Self::Write { .. } => None,
        }
    }
}

/// Writes the crate `name` into `parent`, depending on the SDK by path (default) or on a
/// published `sdk_version`. Returns the crate's folder.
///
/// # Errors
///
/// See [`NewPluginError`].
pub fn new_plugin(
    name: &str,
    parent: &Path,
    sdk_version: Option<&str>,
) -> Result<PathBuf, NewPluginError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(NewPluginError::BadName(name.to_owned()));
    }
    let folder = parent.join(name);
    if folder.exists() {
        return Err(NewPluginError::Exists(folder));
    }
    let sdk = match sdk_version {
        Some(version) => format!("\"{version}\""),
        None => {
            let path = Path::new(SDK_PATH)
                .canonicalize()
                .map_err(|_| NewPluginError::NoSdk(SDK_PATH.into()))?;
            format!("{{ path = {:?} }}", path.display().to_string())
        }
    };
    let sdk_with_laws = match sdk_version {
        Some(version) => format!("{{ version = \"{version}\", features = [\"laws\"] }}"),
        None => format!("{}, features = [\"laws\"] }}", sdk.trim_end_matches(" }")),
    };
    let type_name: String = name
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| part[..1].to_uppercase() + &part[1..])
        .collect();
    let library = format!(
        "{name}/target/release/{}",
        libloading::library_filename(name).to_string_lossy()
    );
    let fill = |template: &str| {
        template
            .replace("{name}", name)
            .replace("{type_name}", &type_name)
            .replace("{sdk}", &sdk)
            .replace("{sdk_with_laws}", &sdk_with_laws)
            .replace("{library}", &library)
            .replace("{{", "{")
            .replace("}}", "}")
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("README.md", fill(README)),
        (".gitignore", "/target\n".to_owned()),
    ];
    for (relative, text) in files {
        let path = folder.join(relative);
        let written =
            std::fs::create_dir_all(path.parent().expect("files are in the crate folder"))
                .and_then(|()| std::fs::write(&path, text));
        written.map_err(|source| NewPluginError::Write { path, source })?;
    }
    Ok(folder)
}

/// `pagefold plugin new`.
pub(crate) fn new(
    name: &str,
    dir: &Path,
    sdk_version: Option<&str>,
) -> Result<u8, pagefold::terminal::failure::Failure> {
    let folder = new_plugin(name, dir, sdk_version).map_err(|error| {
        pagefold::terminal::failure::Failure::from_error(pagefold::exit::INVALID_INPUT, &error)
            .with_hint(error.hint())
    })?;
    pagefold::terminal::say(&format!(
        "wrote the plugin crate `{}`; build it with `cargo build --release` there, then see its README.md for the job snippet",
        folder.display()
    ));
    Ok(pagefold::exit::SUCCESS)
}
