//! The result document, its formats, output paths with placeholders, writing it so that
//! nobody ever reads half of it, and the database tables that dashboards read it from.

mod atomic;
pub mod database;
pub mod format;
pub mod template;

pub use format::OutputFormat;
pub use template::{PathTemplate, RunStamp};

pub(crate) use atomic::{Durability, NewFile, write_file};

use std::path::Path;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

/// `{"job": …, "pages": …, "records": …, "reducers": {…}, "warnings": […]}`.
#[derive(Debug, Serialize)]
pub struct ResultDocument {
    /// The job's name.
    pub job: String,
    /// Pages whose records were reduced.
    pub pages: u64,
    /// Records reduced.
    pub records: u64,
    /// Each reducer's value, in job order.
    #[serde(serialize_with = "in_order")]
    pub reducers: Vec<(String, serde_json::Value)>,
    /// How the data's one chain ended ("first empty page (page 41)", "HTTP 404 past page
    /// 240"): the evidence that it was all there. With partitions, each says its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// What the user should know about the result (a total that did not match, a cap hit, a
    /// field no record had), each with the chain it comes from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Per reducer that reads a field, in job order: how many records had it (`present`),
    /// had `null`, or lacked it (`missing`).
    #[serde(serialize_with = "in_order", skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<(String, FieldCoverage)>,
    /// With `[child]`: what the parent source gave (its records are not reduced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentResult>,
    /// Pages and records of each partition (`[source.partitions]`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<PartitionResult>,
    /// With `[source.incremental]`: what this run asked for and where it got to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalResult>,
    /// Pages given up on (`on_error = "skip"`), each with its URL and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// For a run split into shards: how many, and the run id that tied their parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<MergedFrom>,
    /// How the run went: requests, retries, time.
    pub stats: RunStats,
}

/// The shards a result was merged from (`pagefold merge`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergedFrom {
    /// The number of shards.
    pub shards: u32,
    /// The run id every part carried.
    pub run_id: String,
}

/// How many records had the field a reducer reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldCoverage {
    /// The field.
    pub field: String,
    /// Records with a value there, not `null`.
    pub present: u64,
    /// Records with `null` there.
    pub null: u64,
    /// Records without the field.
    pub missing: u64,
}

/// What the parent source of a parent → child job gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParentResult {
    /// Parent pages.
    pub pages: u64,
    /// Parent records: each named one child chain.
    pub records: u64,
    /// What to know about the parents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What one partition's chain reduced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionResult {
    /// The partition's values, e.g. `{"repo": "a/b"}`.
    pub values: std::collections::BTreeMap<String, String>,
    /// Pages reduced.
    pub pages: u64,
    /// Records reduced.
    pub records: u64,
    /// How its chain ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
}

/// What an incremental run asked for and where it got to.
#[derive(Debug, Clone, Serialize)]
pub struct IncrementalResult {
    /// The value sent as the job's `param` (none: the run fetched everything).
    pub since: Option<String>,
    /// The largest value of the field seen, so far: the next run's start.
    pub mark: Option<serde_json::Value>,
    /// Records fetched again (within `lag`) that the last run had folded: not folded twice,
    /// and not counted in `records`.
    pub seen_before: u64,
    /// Records older than `since` that came back anyway (an API that ignores the parameter):
    /// not folded, and not counted in `records`.
    pub older_than_since: u64,
    /// Whether the reducers went on from the last run's states (`carry`).
    pub carried: bool,
}

/// A page given up on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    /// Its URL, redacted.
    pub url: String,
    /// What happened on its last attempt.
    pub reason: String,
}

/// What the run cost, so that idle time and retries are never invisible. Each field is
/// defined once, in the README's table under "The result document".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunStats {
    /// Every HTTP request this run made: parents' and children's, retries included (not
    /// those of a run it resumed).
    pub requests: u64,
    /// Of those, the ones that repeated a request that had failed.
    pub retries: u64,
    /// Wall-clock seconds during which at least one request was held back by the API
    /// (backoff, `Retry-After`, rate limits): a union of intervals, so two requests backing
    /// off over the same second count one second.
    pub waited_seconds: f64,
    /// Bytes of page bodies reduced by this run.
    pub bytes: u64,
    /// The run's wall time, in seconds.
    pub seconds: f64,
    /// What fetching the same requests one after another would take, in seconds: their
    /// number times the mean latency of the requests that had the API to themselves; `null`
    /// when none did (no honest basis).
    pub sequential_seconds: Option<f64>,
    /// Wall-clock seconds fetching waited for reducers to make room for a page.
    pub waited_on_reducers_seconds: f64,
    /// Of `pages` and `records`, those a checkpoint held: reduced by the run this one resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed: Option<ResumedStats>,
    /// Per key, when `[source.auth]` has several: named by label or position, never value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyStat>,
}

/// What a resumed run took over from the checkpoint of the run it resumed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ResumedStats {
    /// Pages reduced before the resume.
    pub pages: u64,
    /// Records reduced before the resume.
    pub records: u64,
}

/// What one key did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyStat {
    /// Its label (`key 2`, or the job's `labels`).
    pub key: String,
    /// Requests sent with it, retries included.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Time its requests waited on its budget, in seconds.
    pub waited_seconds: f64,
    /// Whether the API refused it and it was dropped (`on_key_error = "drop"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dropped: bool,
}

fn in_order<S: serde::Serializer, T: Serialize>(
    values: &[(String, T)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(values.len()))?;
    for (name, value) in values {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

impl ResultDocument {
    /// The document as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the result document serializes");
        text.push('\n');
        text
    }
}

/// Writes `text` to `path` atomically for the user to read (a result, a report): a
/// temporary file in the same folder, flushed to disk, then renamed over `path`. A crash or
/// Ctrl-C leaves the old file or the new one, never half of one. Missing parent folders are
/// created; a new file's mode follows the umask, a replaced one keeps its mode; a device, a
/// FIFO or `/dev/stdout` is written into, never replaced; a symlink's target is replaced, in
/// the target's folder; a read-only file is refused (see [`atomic`]).
///
/// # Errors
///
/// When the folder cannot be created or written to, the file is read-only, or the device
/// refuses the bytes (`/dev/full`).
pub fn write_output(path: &Path, text: &str) -> std::io::Result<()> {
    atomic::write_file(
        path,
        text.as_bytes(),
        NewFile::Umask,
        Durability::Synced,
        ".pagefold-",
    )
}

/// Like [`write_output`], for the state folder's own files: a new file is readable by its
/// owner only (`0600`), since it may hold reducer states and the records they summarise.
///
/// # Errors
///
/// When the folder cannot be created or written to.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    atomic::write_file(
        path,
        text.as_bytes(),
        NewFile::Private,
        Durability::Synced,
        ".pagefold-",
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn document() -> ResultDocument {
        ResultDocument {
            job: "j".into(),
            pages: 1,
            records: 2,
            reducers: vec![("z".into(), 1.into()), ("a".into(), 2.into())],
            ended: None,
            warnings: vec![],
            coverage: vec![],
            parent: None,
            partitions: vec![],
            incremental: None,
            skipped: vec![],
            merged_from: None,
            stats: RunStats {
                requests: 1,
                retries: 0,
                waited_seconds: 0.0,
                bytes: 10,
                seconds: 0.5,
                sequential_seconds: Some(0.5),
                resumed: None,
                waited_on_reducers_seconds: 0.0,
                keys: Vec::new(),
            },
        }
    }

    #[test]
    fn keeps_reducer_order_and_hides_empty_warnings() {
        let json = document().to_json();
        assert!(json.find("\"z\"").unwrap() < json.find("\"a\"").unwrap());
        assert!(!json.contains("warnings"));
    }

    #[test]
    fn writes_through_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/er/out.json");
        write_atomically(&path, "{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }
}
