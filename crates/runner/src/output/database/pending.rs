//! Results the database did not take: a run whose rows could not be written (the database
//! down past the retries) leaves its [`RunRecord`] in
//! `STATE/jobs/NAME/pending-db/RUN_ID.json`; the job's next run writes those first, oldest
//! first, and removes each once it is in. Nothing is lost, and a record written late is the
//! same rows it would have been on time (writing a run id again replaces, never doubles).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{DatabaseError, DatabaseSpec, RunRecord, Writer};
use crate::output::write_atomically;

/// The folder of a job's state that holds them.
pub const FOLDER: &str = "pending-db";

/// The format of a kept record's file.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Kept {
    format: u32,
    record: RunRecord,
}

/// What writing a run to the database came to.
#[derive(Debug)]
pub struct Delivery {
    /// Runs whose kept results were written now, late, oldest first.
    pub late: Vec<String>,
    /// Why this run's result was not written (then it is kept, if it could be).
    pub failure: Option<DeliveryError>,
}

/// A run's result that the database did not take.
#[derive(Debug, thiserror::Error)]
#[error("the result was not written to the database{}", kept_text(.kept))]
pub struct DeliveryError {
    /// Why.
    #[source]
    pub error: DatabaseError,
    /// Where the result waits for the next run, or why it could not be kept.
    pub kept: Result<PathBuf, String>,
}

fn kept_text(kept: &Result<PathBuf, String>) -> String {
    match kept {
        Ok(path) => format!(
            "; it is kept in `{}` and the job's next run writes it",
            path.display()
        ),
        Err(why) => format!(", and could not be kept: {why}"),
    }
}

impl DeliveryError {
    /// What to do.
    pub fn hint(&self) -> String {
        self.error.hint()
    }
}

/// Writes the results kept in `folder` (the job's [`FOLDER`] in its state folder) by earlier
/// runs of the job, then `record`; keeps `record` there when the database does not take it.
/// Without a state folder nothing was kept before, and nothing can be kept now.
pub fn deliver(spec: &DatabaseSpec, folder: Option<&Path>, record: &RunRecord) -> Delivery {
    let mut writer = Writer::new(spec);
    let mut late = Vec::new();
    if let Some(folder) = folder {
        for (path, kept) in read_kept(folder) {
            match writer.write(&kept) {
                Ok(()) => {
                    // Two runs of a job that take no lock may both write a kept record: the
                    // same rows again (replaced, not doubled), and one of them removes it.
                    match std::fs::remove_file(&path) {
                        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                            // Written again by the next run: the same rows again.
                            tracing::warn!("cannot remove `{}`: {error}", path.display());
                        }
                        _ => {}
                    }
                    late.push(kept.run_id);
                }
                Err(error) => {
                    return Delivery {
                        late,
                        failure: Some(keep(Some(folder), record, error)),
                    };
                }
            }
        }
    }
    let failure = writer
        .write(record)
        .err()
        .map(|error| keep(folder, record, error));
    Delivery { late, failure }
}

fn keep(folder: Option<&Path>, record: &RunRecord, error: DatabaseError) -> DeliveryError {
    let Some(folder) = folder else {
        return DeliveryError {
            error,
            kept: Err("there is no state folder".into()),
        };
    };
    let path = folder.join(format!("{}.json", file_stem(&record.run_id)));
    let text = serde_json::to_string(&Kept {
        format: FORMAT,
        record: record.clone(),
    })
    .expect("a record serializes");
    let kept = write_atomically(&path, &text)
        .map(|()| path.clone())
        .map_err(|io| format!("cannot write `{}`: {io}", path.display()));
    DeliveryError { error, kept }
}

/// The kept records, oldest first (run ids start with their time). A file of another format
/// is left where it is, with a warning: it may be from a newer pagefold. One that is not
/// what pagefold wrote (cut short, not JSON) is set aside as damaged, with a warning, so that
/// it does not warn again at every run.
fn read_kept(folder: &Path) -> Vec<(PathBuf, RunRecord)> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let parsed = std::fs::read(&path)
                .map_err(|error| error.to_string())
                .map(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes));
            let read = match parsed {
                // Not JSON at all: cut short or overwritten, not another version's file.
                Ok(Err(damage)) => {
                    if let Err(error) = crate::state::damaged::set_aside(&path, &damage.to_string())
                    {
                        tracing::warn!("{error}");
                    }
                    return None;
                }
                Ok(Ok(json)) => serde_json::from_value::<Kept>(json).map_err(|e| e.to_string()),
                Err(error) => Err(error),
            };
            let read = read.and_then(|kept| {
                if kept.format == FORMAT {
                    Ok(kept.record)
                } else {
                    Err(format!(
                        "format {} (this pagefold reads {FORMAT})",
                        kept.format
                    ))
                }
            });
            match read {
                Ok(record) => Some((path, record)),
                Err(error) => {
                    tracing::warn!("skipping the kept result `{}`: {error}", path.display());
                    None
                }
            }
        })
        .collect()
}

/// A run id as a file name: anything but letters, digits, `-` and `_` as `_`.
fn file_stem(run_id: &str) -> String {
    run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
