//! `pagefold validate JOB`: a dry run of everything but the fetching. The job file is checked;
//! each plugin is loaded (file, symbol, ABI) and built with its `config`, as a run would; the
//! output folder is checked to exist or be creatable, and writable, without leaving anything
//! behind. For a scheduled job, its next five run times.

use std::path::{Path, PathBuf};

use pagefold::engine::reduce::{PluginError, PluginLibrary};
use pagefold::exit;
use pagefold::job::{Job, ReduceSpec, ReducerUse};
use pagefold::output::RunStamp;
use pagefold::terminal::failure::Failure;
use pagefold::terminal::{print, say, warn};

use super::load;

/// `pagefold validate`.
pub(crate) fn run(path: &Path) -> Result<u8, Failure> {
    let job = load(path)?;
    for spec in &job.reduce {
        if let ReducerUse::Plugin { path, config } = &spec.reducer {
            check_plugin(spec, path, config)?;
        }
    }
    if let Some(folder) = output_folder(&job) {
        check_writable(&folder)?;
    }
    say(&format!(
        "`{}` is a valid job: `{}`, {} reducer{}",
        job.path.display(),
        job.name,
        job.reduce.len(),
        if job.reduce.len() == 1 { "" } else { "s" }
    ));
    if let Some(schedule) = &job.schedule {
        print(&format!(
            "schedule `{}` in {}; the next five runs:\n",
            schedule.expression, schedule.timezone
        ));
        for time in schedule.upcoming(chrono::Utc::now(), 5) {
            print(&format!(
                "  {}  ({})\n",
                time.format("%a %Y-%m-%d %H:%M:%S %Z"),
                time.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
    }
    Ok(exit::SUCCESS)
}

/// Loads the plugin and builds it with its config, as a run does before its first request.
fn check_plugin(
    spec: &ReduceSpec,
    library: &Path,
    config: &serde_json::Value,
) -> Result<(), Failure> {
    let refused = |problem: PluginError| {
        let message = format!("reducer `{}`: {problem}", spec.name);
        let hint = problem.hint();
        // A config it rejects is the config's fault; anything else, the library's.
        let place = match &problem {
            PluginError::Setup { .. } => spec.places.config.as_ref(),
            _ => None,
        }
        .or(spec.places.plugin.as_ref());
        match place {
            Some(place) => Failure {
                code: exit::INVALID_INPUT,
                message: format!(
                    "{}:{}:{}: {message}",
                    place.path.display(),
                    place.line,
                    place.column
                ),
                snippet: Some(place.snippet()),
                causes: Vec::new(),
                hint,
            },
            None => Failure {
                code: exit::INVALID_INPUT,
                message,
                snippet: None,
                causes: Vec::new(),
                hint,
            },
        }
    };
    writable_by_others(spec, library);
    let loaded = PluginLibrary::load(library).map_err(refused)?;
    // A plugin built without optimisations runs several times slower: said before a run.
    if let Some(warning) = loaded.info().build_warning() {
        warn(&format!("reducer `{}`: {warning}", spec.name));
    }
    loaded.reducer(config).map_err(refused)?;
    Ok(())
}

/// A library anyone on the machine may rewrite is code anyone may have pagefold run.
#[cfg(unix)]
fn writable_by_others(spec: &ReduceSpec, library: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(library)
        && meta.permissions().mode() & 0o002 != 0
    {
        warn(&format!(
            "reducer `{}`: plugin `{}` is writable by every user of this machine (mode {:o}): \
             anyone could change the code pagefold runs; `chmod o-w` it",
            spec.name,
            library.display(),
            meta.permissions().mode() & 0o7777
        ));
    }
}

#[cfg(not(unix))]
fn writable_by_others(_: &ReduceSpec, _: &Path) {}

/// The folder the job's `[output]` writes into, its placeholders filled in as a run now
/// would.
fn output_folder(job: &Job) -> Option<PathBuf> {
    let output = job.output.as_ref()?;
    let stamp = RunStamp::new(&job.name, chrono::Utc::now(), job.timezone);
    let file = output.path_for(&stamp)?;
    Some(match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    })
}

/// Whether a run could write into `folder`: it exists, or the nearest folder that does would
/// let it be created; proved by creating a file there and removing it at once.
fn check_writable(folder: &Path) -> Result<(), Failure> {
    let unusable = |why: String| Failure {
        code: exit::INVALID_INPUT,
        message: format!(
            "the output folder `{}` cannot be written: {why}",
            folder.display()
        ),
        snippet: None,
        causes: Vec::new(),
        hint: Some(
            "point `[output] path` at a folder this user may write, or create it with the \
             right permissions"
                .into(),
        ),
    };
    let mut existing = folder;
    while !existing.exists() {
        existing = match existing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
    }
    if !existing.is_dir() {
        return Err(unusable(format!(
            "`{}` is a file, not a folder",
            existing.display()
        )));
    }
    // The probe is removed when dropped: validating leaves nothing behind.
    tempfile::Builder::new()
        .prefix(".pagefold-validate-")
        .tempfile_in(existing)
        .map(drop)
        .map_err(|error| {
            unusable(if existing == folder {
                error.to_string()
            } else {
                format!(
                    "it does not exist, and `{}` refuses a new entry: {error}",
                    existing.display()
                )
            })
        })
}
