//! `pagefold history JOB`: a job's runs, as a table or JSON Lines.

use pagefold::exit;
use pagefold::job::JobError;
use pagefold::state::StateDir;

use super::{load, state_failure};
use pagefold::terminal::failure::Failure;

/// A job file's name and time zone, read without the rest of the job: `history` needs
/// neither its `${env.…}` secrets nor a valid source.
fn job_identity(path: &std::path::Path) -> Result<(String, chrono_tz::Tz), Failure> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        Failure::from_error(
            exit::INVALID_INPUT,
            &JobError::Read {
                path: path.to_owned(),
                source: error,
            },
        )
    })?;
    let table: toml::Table = match toml::from_str(&text) {
        Ok(table) => table,
        // Not TOML at all: the full check says where.
        Err(_) => {
            let job = load(path)?;
            return Ok((job.name, job.timezone));
        }
    };
    let name = match table.get("name").and_then(toml::Value::as_str) {
        Some(name) => name.to_owned(),
        None => path
            .file_stem()
            .map_or_else(|| "job".into(), |stem| stem.to_string_lossy().into_owned()),
    };
    let timezone = table
        .get("timezone")
        .and_then(toml::Value::as_str)
        .and_then(|zone| zone.parse().ok())
        .unwrap_or(chrono_tz::Tz::UTC);
    Ok((name, timezone))
}

/// `pagefold history JOB`.
pub(crate) fn run(
    job: &str,
    state: Option<&std::path::Path>,
    limit: usize,
    json: bool,
) -> Result<u8, Failure> {
    let path = std::path::Path::new(job);
    let (name, timezone) = if path.is_file() {
        job_identity(path)?
    } else {
        (job.to_owned(), chrono_tz::Tz::UTC)
    };
    let state = StateDir::open(state).map_err(state_failure)?;
    let job_state = state.job(&name);
    let entries = job_state.history().map_err(state_failure)?;
    if entries.is_empty() {
        pagefold::terminal::say(&format!(
            "no runs of `{name}` recorded in `{}`",
            job_state.history_path().display()
        ));
        return Ok(exit::SUCCESS);
    }
    let shown = &entries[entries.len().saturating_sub(limit)..];
    if json {
        for entry in shown {
            pagefold::terminal::print(&format!(
                "{}\n",
                serde_json::to_string(entry).expect("serializes")
            ));
        }
    } else {
        pagefold::terminal::print(&pagefold::state::history::table(shown, timezone));
    }
    Ok(exit::SUCCESS)
}
