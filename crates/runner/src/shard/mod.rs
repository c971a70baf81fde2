//! Sharded runs: one job split across processes or machines that share nothing but a place
//! to put their parts, merged into the very result one process would have produced.
//!
//! `pagefold run JOB --shard I/N --parts LOCATION` runs shard `I` of `N` (its share of the
//! work: see [`deal`]) and writes its [`Part`] to `LOCATION/JOB/RUN/part-I-of-N.json`;
//! `pagefold merge JOB --parts LOCATION` merges the `N` parts ([`merge`]). The reducers'
//! states merge exactly, as worker threads and resumed runs already merge them, so the
//! merged reducers, pages and records are a single run's.
//!
//! ```
//! use pagefold::shard::{Shard, ShardArg, part};
//!
//! let shard: ShardArg = "1/4".parse().unwrap();
//! assert_eq!(shard.resolve(|_| None), Ok(Shard { index: 1, of: 4 }));
//! assert_eq!(part::part_name("orders", "nightly-1", 1, 4), "orders/nightly-1/part-1-of-4.json");
//! ```

pub mod deal;
mod location;
pub mod merge;
pub mod part;
mod spec;

pub use location::{LocationError, PartsLocation};
pub use part::{Part, PartError};
pub use spec::{COMPLETION_INDEX_ENV, MAX_SHARDS, Shard, ShardArg, ShardError};

/// The environment variable a shard's run id comes from when `--run-id` is not given: the
/// manifests of `deploy/kubernetes` set it to the Job's name with the downward API, so every
/// pod of one Job (and every retry of a pod) agrees, and each run of a CronJob differs.
pub const RUN_ID_ENV: &str = "JOB_NAME";

/// A shard's run: which shard, of which run, and where its part goes.
#[derive(Debug, Clone)]
pub struct ShardRun {
    /// Which shard.
    pub shard: Shard,
    /// The run every shard's part is tied to.
    pub run_id: String,
    /// Where the parts and the shards' checkpoints go.
    pub location: std::sync::Arc<PartsLocation>,
}
