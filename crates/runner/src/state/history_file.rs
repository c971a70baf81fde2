//! The history file of a job: one JSON line a run, appended whole under the file's lock,
//! rotated past 8 MiB; read back line by line, whatever a crash, a full disk or a stray byte
//! left in it.
//!
//! * A torn last line (a write cut short: a full disk, a crash) is set aside, into
//!   `history.torn-TIME.jsonl` beside it, before the next line is appended: otherwise the
//!   next line would be glued to it, and both lost to every reader.
//! * An append that fails half-way is taken back: the file is cut to its length before.
//! * Reading skips the lines that are not an entry (bad JSON, bytes that are not UTF-8), and
//!   counts them, so that `pagefold history` says how many it skipped rather than failing.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{JobState, StateError, io};
use crate::state::history::HistoryEntry;

/// The history is rotated past this size (about 25 000 runs); `history.1.jsonl` keeps the
/// generation before.
const HISTORY_ROTATE_BYTES: u64 = 8 << 20;
const HISTORY_ROTATED: &str = "history.1.jsonl";

/// What reading a job's history found.
#[derive(Debug, Default)]
pub struct HistoryRead {
    /// The runs recorded, oldest first.
    pub entries: Vec<HistoryEntry>,
    /// Lines that are not an entry (torn, damaged, not UTF-8), skipped.
    pub unreadable: usize,
}

impl JobState {
    /// The run history file.
    pub fn history_path(&self) -> PathBuf {
        self.dir.join("history.jsonl")
    }

    /// Appends a run to the history, flushed to disk: one line, written with one call under
    /// the file's lock, after a torn last line is set aside; a write that fails half-way is
    /// taken back (see the module's documentation).
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn append(&self, entry: &HistoryEntry) -> Result<(), StateError> {
        std::fs::create_dir_all(&self.dir).map_err(io("create", &self.dir))?;
        let path = self.history_path();
        let mut line = serde_json::to_string(entry).expect("a history entry serializes");
        line.push('\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io("open", &path))?;
        // Every appender takes it (the scheduler, its children, `pagefold run`): setting a
        // torn line aside and cutting a failed write back must not cut another's line.
        file.lock().map_err(io("lock", &path))?;
        self.set_aside_torn_line(&mut file, &path)?;
        let before = file.metadata().map_err(io("read", &path))?.len();
        let written = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data());
        if let Err(error) = written {
            // A full disk: no half line stays behind for the next append to glue onto.
            let _ = file.set_len(before);
            return Err(io("append to", &path)(error));
        }
        // Rotated by size, one generation kept: a job every minute does not grow its history
        // without end. A rename is atomic, and a process appending at that moment writes into
        // the renamed file, so no line is lost.
        let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
        if size > HISTORY_ROTATE_BYTES {
            // The result documents and traces go with the generation of the history that
            // names them.
            let dropped = self.run_ids_of(&self.dir.join(HISTORY_ROTATED));
            std::fs::rename(&path, self.dir.join(HISTORY_ROTATED)).map_err(io("rotate", &path))?;
            for run_id in dropped {
                let _ = std::fs::remove_file(self.result_path(&run_id));
                let _ = std::fs::remove_file(self.trace_path(&run_id));
            }
        }
        Ok(())
    }

    /// Moves a last line without its newline out of the history, into a file of its own.
    fn set_aside_torn_line(&self, file: &mut File, path: &Path) -> Result<(), StateError> {
        let length = file.metadata().map_err(io("read", path))?.len();
        let Some(start) = torn_line_start(file, length).map_err(io("read", path))? else {
            return Ok(());
        };
        let mut torn = Vec::new();
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_to_end(&mut torn))
            .map_err(io("read", path))?;
        let aside = self.dir.join(format!(
            "history.torn-{}.jsonl",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.fZ")
        ));
        torn.push(b'\n');
        std::fs::write(&aside, &torn).map_err(io("write", &aside))?;
        file.set_len(start)
            .map_err(io("cut the torn line of", path))?;
        tracing::warn!(
            "the history `{}` ended in a torn line (a write cut short by a crash or a full disk): set aside in `{}`",
            path.display(),
            aside.display()
        );
        Ok(())
    }

    fn run_ids_of(&self, path: &Path) -> Vec<String> {
        read_lines(path)
            .unwrap_or_default()
            .entries
            .into_iter()
            .map(|entry| entry.run_id)
            .collect()
    }

    /// The runs recorded, oldest first; lines that cannot be read are skipped (see
    /// [`JobState::history_read`] to count them).
    ///
    /// # Errors
    ///
    /// When the file exists but cannot be read.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        self.history_read().map(|read| read.entries)
    }

    /// The runs recorded, oldest first, and how many lines could not be read.
    ///
    /// # Errors
    ///
    /// When the file exists but cannot be read.
    pub fn history_read(&self) -> Result<HistoryRead, StateError> {
        let mut read = HistoryRead::default();
        for path in [self.dir.join(HISTORY_ROTATED), self.history_path()] {
            let mut generation = read_lines(&path)?;
            read.entries.append(&mut generation.entries);
            read.unreadable += generation.unreadable;
        }
        Ok(read)
    }
}

/// Where a last line without a newline starts, if the file ends in one.
fn torn_line_start(file: &mut File, length: u64) -> std::io::Result<Option<u64>> {
    if length == 0 {
        return Ok(None);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(length - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    // Backwards, a block at a time, to the newline before it (or the file's start).
    let mut end = length;
    let mut block = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let size = usize::try_from(end - start).expect("a block fits");
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..size])?;
        if let Some(at) = block[..size].iter().rposition(|byte| *byte == b'\n') {
            return Ok(Some(start + at as u64 + 1));
        }
        end = start;
    }
    Ok(Some(0))
}

/// The entries of one history file, and its lines that are not one.
fn read_lines(path: &Path) -> Result<HistoryRead, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(HistoryRead::default());
        }
        Err(error) => return Err(io("read", path)(error)),
    };
    let mut read = HistoryRead::default();
    for line in bytes.split(|byte| *byte == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<HistoryEntry>(line) {
            Ok(entry) => read.entries.push(entry),
            Err(_) => read.unreadable += 1,
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDir;
    use crate::state::history::Status;
    use chrono::Utc;

    #[test]
    fn the_history_rotates_and_reads_both_generations() {
        let root = tempfile::tempdir().unwrap();
        let job = StateDir::open(Some(root.path())).unwrap().job("j");
        let at = Utc::now();
        let mut entry = HistoryEntry::not_run("j", at, at, Status::Skipped, String::new());
        // Long entries, so that few make the rotation size.
        entry.error = Some("x".repeat(1 << 20));
        for _ in 0..10 {
            job.append(&entry).unwrap();
        }
        let rotated = std::fs::read_to_string(job.dir().join(HISTORY_ROTATED))
            .unwrap()
            .lines()
            .count();
        assert_eq!(rotated, 8, "rotated once past 8 MiB");
        assert_eq!(
            job.history().unwrap().len(),
            10,
            "both generations are read"
        );
        // A torn last line (a crash mid-write) is skipped.
        std::fs::write(job.history_path(), "{\"run_id\": \"torn").unwrap();
        assert_eq!(job.history().unwrap().len(), rotated);
    }

    #[test]
    fn results_and_traces_go_with_their_generation_of_the_history() {
        let root = tempfile::tempdir().unwrap();
        let job = StateDir::open(Some(root.path())).unwrap().job("j");
        let at = Utc::now();
        let mut first = None;
        for number in 0..20 {
            let mut entry = HistoryEntry::not_run("j", at, at, Status::Skipped, String::new());
            entry.run_id = format!("run-{number}");
            entry.error = Some("x".repeat(1 << 20));
            if number == 0 {
                job.save_result(&entry.run_id, "{}").unwrap();
                crate::output::write_atomically(&job.trace_path(&entry.run_id), "{}").unwrap();
                assert_eq!(job.latest_trace(), Some(job.trace_path(&entry.run_id)));
                first = Some(entry.run_id.clone());
            }
            job.append(&entry).unwrap();
        }
        let first = first.unwrap();
        assert!(job.history().unwrap().iter().all(|e| e.run_id != first));
        assert!(!job.result_path(&first).exists());
        assert!(!job.trace_path(&first).exists());
        assert_eq!(job.latest_trace(), None);
    }

    #[test]
    fn a_torn_line_is_set_aside_before_the_next_append_and_bad_lines_are_counted() {
        let root = tempfile::tempdir().unwrap();
        let job = StateDir::open(Some(root.path())).unwrap().job("j");
        let at = Utc::now();
        let entry = HistoryEntry::not_run("j", at, at, Status::Skipped, String::new());
        job.append(&entry).unwrap();
        // A line with a stray byte that is not UTF-8, then a line a full disk cut short.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(job.history_path())
            .unwrap();
        file.write_all(b"{\"run_id\": \"bad\xff\"}\n{\"run_id\": \"torn")
            .unwrap();
        job.append(&entry).unwrap();
        let read = job.history_read().unwrap();
        assert_eq!(read.entries, [entry.clone(), entry]);
        assert_eq!(
            read.unreadable, 1,
            "the bad line; the torn one is set aside"
        );
        let aside: Vec<PathBuf> = std::fs::read_dir(job.dir())
            .unwrap()
            .map(|file| file.unwrap().path())
            .filter(|path| {
                path.file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with("history.torn-"))
            })
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(
            std::fs::read_to_string(&aside[0]).unwrap(),
            "{\"run_id\": \"torn\n"
        );
    }
}
