//! The command line of sharded runs: `run --shard`, and `merge`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// `run --shard I/N --parts LOCATION`: one shard of the job.
#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Run shard I (0-based) of N and write its part to --parts instead of the result;
    /// `auto/N` takes I from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job).
    #[arg(long, value_name = "I/N", requires = "parts")]
    pub shard: Option<pagefold::shard::ShardArg>,
    /// Where the parts go: a folder every shard can reach, or s3://BUCKET/PREFIX.
    #[arg(long, value_name = "LOCATION", requires = "shard")]
    pub parts: Option<String>,
    /// The id that ties the parts of one run together (default: $JOB_NAME).
    #[arg(long, value_name = "ID", requires = "shard")]
    pub run_id: Option<String>,
    /// The last shard to finish merges every part into the job's output.
    #[arg(long, requires = "shard")]
    pub merge: bool,
}

/// `merge JOB --parts LOCATION`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The job file the shards ran.
    pub job: PathBuf,
    /// Replace a job-file value, as the shards did (`--set KEY=VALUE`, repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Where the parts are: a folder, or s3://BUCKET/PREFIX.
    #[arg(long, value_name = "LOCATION")]
    pub parts: String,
    /// The run whose parts to merge (default: $JOB_NAME).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Write the result here instead of the job's `[output]` or stdout (`-`: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Wait this long for parts not yet written (e.g. 10m), instead of failing at once.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub wait: Duration,
    /// No summary line.
    #[arg(short, long)]
    pub quiet: bool,
}
