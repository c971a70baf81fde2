//! `pagefold history JOB`: a job's runs, as a table or JSON Lines.

use pagefold::exit;
use pagefold::job::JobError;
use pagefold::job::ScheduleSpec;
use pagefold::state::{JobState, StateDir};

use super::{load, state_failure};
use pagefold::terminal::failure::Failure;

/// A job file's name and time zone, read without the rest of the job: `history` needs
/// neither its `${env.…}` secrets nor a valid source.
pub(crate) fn job_identity(path: &std::path::Path) -> Result<(String, chrono_tz::Tz), Failure> {
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

/// The state of the job that `job` (a job file or a name) names, or an error listing the
/// jobs the state folder does hold.
fn job_state(
    job: &str,
    state: Option<&std::path::Path>,
) -> Result<(String, chrono_tz::Tz, JobState), Failure> {
    let path = std::path::Path::new(job);
    let (name, timezone) = if path.is_file() {
        job_identity(path)?
    } else {
        (job.to_owned(), chrono_tz::Tz::UTC)
    };
    let state = StateDir::open(state).map_err(state_failure)?;
    let job_state = state.job(&name);
    if !job_state.dir().exists() {
        let known = state.job_names().map_err(state_failure)?;
        return Err(Failure::from_error(
            exit::RUN_FAILED,
            &std::io::Error::other(format!(
                "no job `{name}` in the state folder `{}`",
                state.root().display()
            )),
        )
        .with_hint(Some(if known.is_empty() {
            "no job has run with this state folder yet; is it the one (--state, PAGEFOLD_STATE)?"
                .into()
        } else {
            format!("the jobs it holds: {}", known.join(", "))
        })));
    }
    Ok((name, timezone, job_state))
}

/// The job's history; lines that cannot be read are skipped, with one warning that counts
/// them: one damaged line must not hide the others.
fn read_history(
    job_state: &pagefold::state::JobState,
) -> Result<Vec<pagefold::state::history::HistoryEntry>, Failure> {
    let read = job_state.history_read().map_err(state_failure)?;
    if read.unreadable > 0 {
        pagefold::terminal::warn(&format!(
            "skipped {} unreadable line{} of the history in `{}` (damaged, or not written by pagefold)",
            read.unreadable,
            if read.unreadable == 1 { "" } else { "s" },
            job_state.dir().display()
        ));
    }
    Ok(read.entries)
}

/// `pagefold history JOB`.
pub(crate) fn run(
    job: &str,
    state: Option<&std::path::Path>,
    limit: usize,
    json: bool,
) -> Result<u8, Failure> {
    let (name, timezone, job_state) = job_state(job, state)?;
    let entries = read_history(&job_state)?;
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

/// `pagefold history JOB --show RUN_ID`: that run's result document, as it was written.
pub(crate) fn show(
    job: &str,
    state: Option<&std::path::Path>,
    run_id: &str,
) -> Result<u8, Failure> {
    let (name, _, job_state) = job_state(job, state)?;
    let entries = read_history(&job_state)?;
    let not_found = |message: String, hint: String| {
        Err(
            Failure::from_error(exit::RUN_FAILED, &std::io::Error::other(message))
                .with_hint(Some(hint)),
        )
    };
    let Some(entry) = entries.iter().rev().find(|entry| entry.run_id == run_id) else {
        let recent: Vec<&str> = entries
            .iter()
            .rev()
            .take(5)
            .map(|entry| entry.run_id.as_str())
            .collect();
        return not_found(
            format!("no run `{run_id}` in the history of `{name}`"),
            if recent.is_empty() {
                "the job has no runs recorded yet".into()
            } else {
                format!("its latest runs: {}", recent.join(", "))
            },
        );
    };
    // A document there that does not come back was damaged, and set aside with a warning.
    let was_there = job_state.result_path(run_id).exists();
    match job_state.result(run_id).map_err(state_failure)? {
        Some(document) => {
            pagefold::terminal::print(&document);
            Ok(exit::SUCCESS)
        }
        None => not_found(
            format!(
                "run `{run_id}` of `{name}` has no result document ({})",
                entry.status.as_str()
            ),
            match &entry.error {
                _ if was_there => {
                    "its document was damaged and is set aside (see the warning above)".into()
                }
                Some(error) => format!(
                    "it ended with: {}",
                    error.lines().next().unwrap_or_default()
                ),
                None => "runs recorded before pagefold kept result documents have none".into(),
            },
        ),
    }
}

/// `pagefold history` with no job: every job of the state folder, with its last run.
pub(crate) fn list(state: Option<&std::path::Path>) -> Result<u8, Failure> {
    let state = StateDir::open(state).map_err(state_failure)?;
    let names = state.job_names().map_err(state_failure)?;
    if names.is_empty() {
        pagefold::terminal::say(&format!(
            "no job has run with the state folder `{}`",
            state.root().display()
        ));
        return Ok(exit::SUCCESS);
    }
    let mut rows = vec![[
        "job".to_owned(),
        "runs".to_owned(),
        "last start (UTC)".to_owned(),
        "status".to_owned(),
        "records".to_owned(),
        "next run (UTC)".to_owned(),
    ]];
    let now = chrono::Utc::now();
    for name in names {
        let job_state = state.job(&name);
        let entries = read_history(&job_state)?;
        let last = entries.iter().max_by_key(|entry| entry.started);
        rows.push([
            name,
            entries.len().to_string(),
            last.map_or("-".into(), |entry| {
                entry.started.format("%Y-%m-%d %H:%M:%S").to_string()
            }),
            last.map_or("-".into(), |entry| entry.status.as_str().to_owned()),
            last.map_or("-".into(), |entry| entry.records.to_string()),
            next_run(&job_state, now).unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    pagefold::terminal::print(&text);
    Ok(exit::SUCCESS)
}

/// The next scheduled time of the job recorded under this name, if it has a schedule.
fn next_run(job_state: &JobState, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let record = job_state.job_record()?;
    let timezone = record
        .timezone
        .as_deref()
        .and_then(|zone| zone.parse().ok())
        .unwrap_or(chrono_tz::Tz::UTC);
    let schedule = ScheduleSpec::from_recorded(record.cron.as_deref()?, timezone)?;
    let next = schedule.next_after(now)?;
    Some(next.format("%Y-%m-%d %H:%M:%S").to_string())
}
