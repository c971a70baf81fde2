//! `pagefold plugin new NAME`: a plugin crate that builds and loads as it is, anywhere.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));

/// Where a generated plugin keeps the SDK's source, relative to its root.
const SDK_FOLDER: &str = "pagefold-sdk";

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
            Self::BadName(_) | Self::Write { .. } => None,
        }
    }
}

/// Writes the crate `name` into `parent`, with the source of the SDK this binary was built
/// with in its `pagefold-sdk/` folder (a path dependency: the crate builds wherever it is,
/// with crates.io alone). Returns the crate's folder.
///
/// # Errors
///
/// See [`NewPluginError`].
pub fn new_plugin(name: &str, parent: &Path) -> Result<PathBuf, NewPluginError> {
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
    let version = pagefold_reducer::SDK_VERSION;
    let sdk = format!("{{ path = \"{SDK_FOLDER}/reducer\", version = \"{version}\" }}");
    let sdk_with_laws = format!(
        "{{ path = \"{SDK_FOLDER}/reducer\", version = \"{version}\", features = [\"laws\"] }}"
    );
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
            .replace(
                "{library_here}",
                library
                    .strip_prefix(&format!("{name}/"))
                    .unwrap_or(&library),
            )
            .replace("{{", "{")
            .replace("}}", "}")
    };
    let mut files = vec![
        ("Cargo.toml".to_owned(), fill(CARGO_TOML)),
        ("src/lib.rs".to_owned(), fill(LIB_RS)),
        ("README.md".to_owned(), fill(README)),
        (".gitignore".to_owned(), "/target\n".to_owned()),
    ];
    for (path, text) in SDK_FILES {
        files.push((format!("{SDK_FOLDER}/{path}"), (*text).to_owned()));
    }
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
pub(crate) fn new(name: &str, dir: &Path) -> Result<u8, pagefold::terminal::failure::Failure> {
    let folder = new_plugin(name, dir).map_err(|error| {
        pagefold::terminal::failure::Failure::from_error(pagefold::exit::INVALID_INPUT, &error)
            .with_hint(error.hint())
    })?;
    pagefold::terminal::say(&format!(
        "wrote the plugin crate `{}` (with pagefold-reducer {} in `{SDK_FOLDER}/`); build it with `cargo build --release` there, then see its README.md for the job snippet",
        folder.display(),
        pagefold_reducer::SDK_VERSION
    ));
    Ok(pagefold::exit::SUCCESS)
}
