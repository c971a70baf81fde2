//! `pagefold run JOB --shard I/N --parts LOCATION`: one shard of a run; its part written,
//! then with `--merge`, if it was the last, every part merged into the job's output.

use std::sync::Arc;

use pagefold::engine::run::RunOptions;
use pagefold::engine::tracked::run_stateless;
use pagefold::exit;
use pagefold::job::Job;
use pagefold::shard::merge::all_parts_written;
use pagefold::shard::{PartsLocation, ShardRun};
use pagefold::terminal::failure::Failure;
use pagefold::terminal::summary;

use super::cli::RunArgs;
use super::merge::{Merge, location, run_id};
use super::{observer, tracked_failure};

/// Runs the shard `args.shard` names.
pub(crate) fn run(job: &Job, args: RunArgs, interactive: bool) -> Result<u8, Failure> {
    let invalid = |message: String, hint: &str| Failure {
        code: exit::INVALID_INPUT,
        message,
        snippet: None,
        causes: Vec::new(),
        hint: Some(hint.to_owned()),
    };
    if job.source.incremental.is_some() {
        return Err(invalid(
            format!(
                "`{}` is incremental (`[source.incremental]`), and incremental jobs cannot be \
                 split into shards yet",
                job.name
            ),
            "run it without --shard: each run of an incremental job fetches only what is new",
        ));
    }
    let (Some(shard), Some(parts)) = (args.shard.shard, args.shard.parts.as_deref()) else {
        unreachable!("clap requires --parts with --shard");
    };
    let shard = shard
        .resolve(|name| std::env::var(name).ok())
        .map_err(|error| {
            invalid(
                error.to_string(),
                "Kubernetes sets it in every pod of a Job with `completionMode: Indexed` \
                 (deploy/kubernetes/job.yaml)",
            )
        })?;
    let run_id = run_id(args.shard.run_id.clone())?;
    let location = Arc::new(location(parts)?);
    let options = RunOptions {
        workers: args.workers.map(usize::from),
        progress: !args.quiet && interactive,
        checkpoint_every: args.checkpoint_every,
        trace: args.trace.clone(),
        shard: Some(ShardRun {
            shard,
            run_id: run_id.clone(),
            location: location.clone(),
        }),
        ..RunOptions::default()
    };
    let observer = observer(&args.metrics, None)?;
    // A shard keeps no history: its part is its result, and the merge is the run's end.
    let tracked = run_stateless(job, options);
    observer.one_run(job, None, &tracked.entry);
    observer.finish(pagefold::observe::FINISH_WITHIN);
    let report = tracked.result.map_err(tracked_failure)?;
    if !args.quiet {
        pagefold::terminal::say(&format!(
            "shard {shard}: {}",
            summary::summary_line(
                &report.document,
                &report.summary,
                report.wall,
                job.fetch.concurrency()
            )
        ));
        if let Some(part) = &report.part {
            pagefold::terminal::say(&format!("part written to `{part}`"));
        }
    }
    let skipped = if report.document.skipped.is_empty() {
        exit::SUCCESS
    } else {
        exit::PARTIAL
    };
    if !args.shard.merge {
        return Ok(skipped);
    }
    merge_if_last(job, &location, &run_id, shard.of, &args, skipped)
}

/// With `--merge`: merges when every part is there (the last shard to finish does; two that
/// finish together both do, and write the same result).
fn merge_if_last(
    job: &Job,
    location: &PartsLocation,
    run_id: &str,
    of: u32,
    args: &RunArgs,
    skipped: u8,
) -> Result<u8, Failure> {
    let all = all_parts_written(
        location,
        job,
        run_id,
        pagefold::shard::Shard { index: 0, of },
    )
    .map_err(|error| Failure::from_error(exit::RUN_FAILED, &error))?;
    if !all {
        if !args.quiet {
            pagefold::terminal::say("other shards are still running: the last to finish merges");
        }
        return Ok(skipped);
    }
    let stdout = args.output.as_deref() == Some(std::path::Path::new("-"));
    Merge {
        job,
        location,
        run_id,
        of: Some(of),
        wait: std::time::Duration::ZERO,
        output: args.output.clone().filter(|_| !stdout),
        stdout,
    }
    .write(args.quiet)
}
