//! The job files a scheduler watches: files named on the command line, and the `*.toml` files
//! of folders named on it (not their subfolders).

use std::path::{Path, PathBuf};

use crate::job::{Job, JobError};

/// A job file found, and whether it was named itself (so it must have a schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub path: PathBuf,
    pub named: bool,
}

/// The files the `paths` hold now, sorted, without duplicates.
pub(super) fn find(paths: &[PathBuf]) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    for path in paths {
        if path.is_dir() {
            let Ok(entries) = std::fs::read_dir(path) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|file| file.extension().is_some_and(|ext| ext == "toml") && file.is_file())
                .collect();
            files.sort();
            found.extend(files.into_iter().map(|path| Found { path, named: false }));
        } else {
            found.push(Found {
                path: path.clone(),
                named: true,
            });
        }
    }
    let mut unique: Vec<Found> = Vec::with_capacity(found.len());
    for file in found {
        match unique.iter_mut().find(|seen| seen.path == file.path) {
            Some(seen) => seen.named |= file.named,
            None => unique.push(file),
        }
    }
    unique
}

/// What reading a job file gave.
pub(super) enum Read {
    /// A job with a schedule.
    Scheduled(Box<Job>),
    /// A valid job without one.
    Unscheduled,
    /// Not a valid job: the message, with the place and the line.
    Invalid(String),
}

/// Reads and parses a job file.
pub(super) fn read(path: &Path) -> std::io::Result<(String, Read)> {
    let text = std::fs::read_to_string(path)?;
    let read = match Job::parse(path, &text) {
        Ok(job) if job.schedule.is_some() => Read::Scheduled(Box::new(job)),
        Ok(_) => Read::Unscheduled,
        Err(error) => Read::Invalid(describe(&error)),
    };
    Ok((text, read))
}

/// A job file error as the command line shows it: the place, the message, the line with a
/// caret, and the hint.
pub fn describe(error: &JobError) -> String {
    match error {
        JobError::Invalid(located) => {
            let mut text = format!("{located}\n{}", located.snippet());
            if let Some(hint) = &located.hint {
                text.push_str(&format!("\nhint: {hint}"));
            }
            text
        }
        other => other.to_string(),
    }
}
