//! A part: what one shard of a sharded run reduced, written where every shard and the merge
//! can read it, and checked before it is merged.
//!
//! It holds the reducers' merged saved states (built-ins and plugins, saved as checkpoints
//! save them), the pages, records, chains, warnings, skipped pages and costs of the shard, the
//! job's identity, the run id, the shard's index and count, and each plugin's identity. It is
//! sealed like a checkpoint (`{"pagefold":"part","format":1,"sha256":…,"content":…}`), so a
//! part cut short or edited is refused for what it is.

use serde::{Deserialize, Serialize};

use crate::engine::checkpoint::sealed;
use crate::engine::checkpoint::{Mismatch, SavedBy, hex, unhex};
use crate::engine::reduce::PluginIdentity;
use crate::identity::{Change, Fingerprint};
use crate::output::{ParentResult, RunStats, Skipped};

use super::LocationError;

/// What a part's envelope says it is.
const KIND: &str = "part";
/// The format written; a part of another format is refused.
const FORMAT: u32 = 1;

/// One shard's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    /// The job's name.
    pub job: String,
    /// The job's identity, keyed by the run id (see [`crate::identity::IdentityKey::for_run`]).
    pub identity: Fingerprint,
    /// The run the part belongs to.
    pub run_id: String,
    /// The shard that wrote it.
    pub shard: u32,
    /// The number of shards of the run.
    pub of: u32,
    /// The reducers' names, in job order.
    pub reducers: Vec<String>,
    /// Per reducer, the plugin that saved its state (none for a built-in).
    pub plugins: Vec<Option<PluginIdentity>>,
    /// Every reducer's merged state (hidden ones included), hex-encoded.
    pub states: Vec<String>,
    /// Pages reduced.
    pub pages: u64,
    /// Records reduced.
    pub records: u64,
    /// The chains the shard fetched (all or a share of their pages).
    pub chains: Vec<PartChain>,
    /// With `[child]`: what the parents gave (every shard pages through them all).
    pub parent: Option<ParentResult>,
    /// What fetching warned of.
    pub warnings: Vec<String>,
    /// Pages given up on.
    pub skipped: Vec<Skipped>,
    /// What the shard cost (per key too, when the job has several).
    pub stats: RunStats,
}

/// What a shard got of one chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartChain {
    /// The chain's number (its position among the job's chains).
    pub chain: u32,
    /// Pages reduced.
    pub pages: u64,
    /// Records reduced.
    pub records: u64,
    /// How the chain ended, as the result says it.
    pub ended: Option<String>,
    /// Whether the end was found by a page that repeated the one before it.
    pub ended_by_repeat: bool,
    /// The number of records the API reported for the chain, if it did.
    pub reported_records: Option<u64>,
}

/// A part that cannot be merged, or parts that are not all there.
#[derive(Debug, thiserror::Error)]
pub enum PartError {
    /// The location could not be read.
    #[error(transparent)]
    Location(#[from] LocationError),
    /// Cut short, damaged, edited, or not a part this pagefold reads.
    #[error("the part `{part}` cannot be merged: {reason}")]
    Damaged {
        /// Where it is.
        part: String,
        /// What is wrong.
        reason: String,
    },
    /// Written by another job, or by this one before it was edited.
    #[error("the part `{part}` was written by a different job: {}", change.describe())]
    OtherJob {
        /// Where it is.
        part: String,
        /// What differs.
        change: Change,
    },
    /// Written for another run id.
    #[error("the part `{part}` belongs to run `{found}`, not `{expected}`")]
    OtherRun {
        /// Where it is.
        part: String,
        /// Its run id.
        found: String,
        /// The run being merged.
        expected: String,
    },
    /// Written by a run split into another number of shards.
    #[error("the part `{part}` is one of {found} shards, not {expected}")]
    OtherSplit {
        /// Where it is.
        part: String,
        /// Its number of shards.
        found: u32,
        /// The number expected.
        expected: u32,
    },
    /// A plugin's state saved by another plugin or state format.
    #[error("the part `{part}` cannot be merged into reducer `{reducer}`: {reason}")]
    OtherPlugin {
        /// Where it is.
        part: String,
        /// The reducer.
        reducer: String,
        /// Who saved the state and who would read it.
        reason: String,
    },
    /// No part of the run at all.
    #[error("no part of run `{run_id}` in `{folder}`")]
    NoParts {
        /// Where parts were looked for.
        folder: String,
        /// The run.
        run_id: String,
    },
    /// Some shards have not written their part.
    #[error(
        "run `{run_id}` is missing the part{} of shard{} {} of {of} (in `{folder}`)",
        plural(missing.len()), plural(missing.len()), list(missing)
    )]
    Missing {
        /// Where parts were looked for.
        folder: String,
        /// The run.
        run_id: String,
        /// The shards whose parts are missing.
        missing: Vec<u32>,
        /// The number of shards.
        of: u32,
    },
    /// A chain split across shards ended with a repeated page: shards cannot tell where it
    /// ended, so pages past the end may have been folded.
    #[error(
        "shard {shard} found the end of the data by a page that repeated the one before it: \
         split across shards, such a chain may have had pages past its end folded as data"
    )]
    RepeatedEnd {
        /// The shard that saw it.
        shard: u32,
    },
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn list(indexes: &[u32]) -> String {
    let mut shown: Vec<String> = indexes.iter().take(20).map(u32::to_string).collect();
    if indexes.len() > 20 {
        shown.push(format!("… ({} in all)", indexes.len()));
    }
    shown.join(", ")
}

impl PartError {
    /// The error for states this job cannot read back, naming the part.
    fn refused(part: &str, mismatch: Mismatch) -> Self {
        match mismatch {
            Mismatch::Job(change) => Self::OtherJob {
                part: part.to_owned(),
                change,
            },
            Mismatch::Plugin { reducer, reason } => Self::OtherPlugin {
                part: part.to_owned(),
                reducer,
                reason,
            },
        }
    }

    /// What to do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Missing { of, missing, .. } => Some(format!(
                "run the missing shard{} (`pagefold run JOB --shard {}/{of} …` with the same \
                 --parts and --run-id), or wait for {} with `--wait 10m`",
                plural(missing.len()),
                missing.first().copied().unwrap_or(0),
                if missing.len() == 1 { "it" } else { "them" }
            )),
            Self::NoParts { .. } => {
                Some("check --parts and --run-id: they must be those the shards ran with".into())
            }
            Self::OtherJob { part, .. } | Self::Damaged { part, .. } => Some(format!(
                "run that shard again with this job file (it replaces the part), or remove \
                 `{part}`"
            )),
            Self::OtherRun { part, .. } | Self::OtherSplit { part, .. } => Some(format!(
                "a run's parts must all come from one run split one way: remove `{part}` or \
                 run that shard again"
            )),
            Self::OtherPlugin { .. } => {
                Some("run every shard with the same plugin build, then merge again".into())
            }
            Self::RepeatedEnd { .. } => Some(
                "give the job a total (`total_records` or `total_pages`) so shards know where \
                 the data ends, or run it in one shard"
                    .into(),
            ),
            Self::Location(_) => None,
        }
    }
}

/// The folder of a run's parts inside the location: `JOB/RUN`.
pub fn run_folder(job: &str, run_id: &str) -> String {
    format!("{}/{}", safe(job), safe(run_id))
}

/// The name of shard `index`'s part of a run split into `of`.
pub fn part_name(job: &str, run_id: &str, index: u32, of: u32) -> String {
    format!("{}/part-{index}-of-{of}.json", run_folder(job, run_id))
}

/// The folder of shard `index`'s checkpoint, beside the parts: a pod retried on another
/// node resumes where the first stopped.
pub fn checkpoint_folder(job: &str, run_id: &str, index: u32) -> String {
    format!("{}/checkpoint/{index}", run_folder(job, run_id))
}

/// `(index, of)` of a part's file name, `part-I-of-N.json`.
pub fn parse_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("part-")?.strip_suffix(".json")?;
    let (index, of) = rest.split_once("-of-")?;
    Some((index.parse().ok()?, of.parse().ok()?))
}

/// Letters, digits, `-`, `_` and `.` kept; anything else (a `/` above all) becomes `_`.
fn safe(name: &str) -> String {
    let kept: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if kept.starts_with('.') {
        format!("_{kept}")
    } else {
        kept
    }
}

impl Part {
    /// The part as written: sealed.
    pub fn seal(&self) -> String {
        sealed::seal(
            KIND,
            FORMAT,
            &serde_json::to_string(self).expect("a part serializes"),
        )
    }

    /// Reads the part at `shown` (where it is, for messages) from its bytes.
    ///
    /// # Errors
    ///
    /// When it is not a sealed part this pagefold reads.
    pub fn open(shown: &str, bytes: &[u8]) -> Result<Self, PartError> {
        let damaged = |reason: String| PartError::Damaged {
            part: shown.to_owned(),
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| damaged("it is not text".into()))?;
        let content = sealed::open(KIND, FORMAT, text).map_err(|e| damaged(e.to_string()))?;
        serde_json::from_str(content)
            .map_err(|e| damaged(format!("its content is not a part's ({e})")))
    }

    /// Keeps the states, hex-encoded.
    pub fn set_states(&mut self, states: &[Vec<u8>]) {
        self.states = states.iter().map(|state| hex(state)).collect();
    }

    /// The states, decoded.
    ///
    /// # Errors
    ///
    /// When one is not hex.
    pub fn states(&self, shown: &str) -> Result<Vec<Vec<u8>>, PartError> {
        self.states
            .iter()
            .map(|state| unhex(state))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| PartError::Damaged {
                part: shown.to_owned(),
                reason: "a saved state is not hex".into(),
            })
    }

    /// Checks that the part is of this job, run, split and plugins.
    ///
    /// # Errors
    ///
    /// What differs, naming the part.
    pub fn check(&self, shown: &str, expected: &Expected<'_>) -> Result<(), PartError> {
        if self.run_id != expected.run_id {
            return Err(PartError::OtherRun {
                part: shown.to_owned(),
                found: self.run_id.clone(),
                expected: expected.run_id.to_owned(),
            });
        }
        if self.of != expected.of {
            return Err(PartError::OtherSplit {
                part: shown.to_owned(),
                found: self.of,
                expected: expected.of,
            });
        }
        let saved = SavedBy {
            identity: &self.identity,
            reducers: &self.reducers,
            plugins: &self.plugins,
        };
        let now = SavedBy {
            identity: expected.identity,
            reducers: expected.reducers,
            plugins: expected.plugins,
        };
        if let Some(mismatch) = now.refuses(&saved) {
            return Err(PartError::refused(shown, mismatch));
        }
        Ok(())
    }
}

/// What every part of a run must agree with.
pub struct Expected<'a> {
    /// The job's identity, keyed by the run id.
    pub identity: &'a Fingerprint,
    /// The run id.
    pub run_id: &'a str,
    /// The number of shards.
    pub of: u32,
    /// The reducers' names.
    pub reducers: &'a [String],
    /// Their plugins.
    pub plugins: &'a [Option<PluginIdentity>],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_stay_inside_the_location() {
        assert_eq!(
            part_name("orders", "nightly-29", 2, 4),
            "orders/nightly-29/part-2-of-4.json"
        );
        assert_eq!(parse_name("part-2-of-4.json"), Some((2, 4)));
        assert_eq!(parse_name(".part-2-of-4.json.x.tmp"), None);
        assert_eq!(run_folder("a/b", "../x"), "a_b/_.._x");
    }
}
