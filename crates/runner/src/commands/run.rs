//! `pagefold run JOB`: one run, tracked in the job's state folder, its result written or
//! printed, then its warnings and the summary line.

use std::io::IsTerminal;

use pagefold::engine::run::RunOptions;
use pagefold::engine::tracked::{run_stateless, run_tracked};
use pagefold::exit;
use pagefold::observe::{FINISH_WITHIN, Observer};
use pagefold::state::StateDir;
use pagefold::state::history::Trigger;
use pagefold::terminal::failure::Failure;
use pagefold::terminal::summary;

use super::cli::RunArgs;
use super::{load_with, observer, state_failure, tracked_failure};

/// `pagefold run`.
pub(crate) fn run(args: RunArgs) -> Result<u8, Failure> {
    let interactive = std::io::stderr().is_terminal();
    let job = load_with(&args.job, &args.sets)?;
    if args.shard.shard.is_some() {
        return super::run_shard::run(&job, args, interactive);
    }
    // `-o -`: the result on stdout, as the usual tools take `-`.
    let stdout = args.output.as_deref() == Some(std::path::Path::new("-"));
    let options = RunOptions {
        workers: args.workers.map(usize::from),
        output: args.output.filter(|_| !stdout),
        stdout,
        progress: !args.quiet && interactive,
        checkpoint: args.checkpoint,
        checkpoint_every: args.checkpoint_every,
        trace: args.trace,
        ..RunOptions::default()
    };
    let observer: Observer = observer(&args.metrics, None)?;
    let (tracked, state) = match StateDir::open(args.state.as_deref()) {
        Ok(state) => {
            let state = state.job(&job.name);
            let tracked = run_tracked(&job, options, &state, Trigger::Manual, None);
            for run in &tracked.abandoned {
                pagefold::terminal::warn(&summary::abandoned_line(run));
            }
            if let Some(error) = &tracked.history_error {
                pagefold::terminal::warn(&format!("the run history could not be written: {error}"));
            }
            (tracked, Some(state))
        }
        // History is a convenience; only an incremental job needs its state.
        Err(error) if job.source.incremental.is_none() => {
            tracing::info!("no run history: {error}");
            (run_stateless(&job, options), None)
        }
        Err(error) => return Err(state_failure(error)),
    };
    // Told before the run's own lines: a failed run's alert is on its way while they print.
    observer.one_run(&job, state.as_ref(), &tracked.entry);
    observer.finish(FINISH_WITHIN);
    let report = tracked.result.map_err(tracked_failure)?;
    let code = super::finish::finish(&report, job.fetch.concurrency(), args.quiet)?;
    let denied = args.deny_warnings || job.deny_warnings;
    Ok(
        if code == exit::SUCCESS && denied && !report.document.warnings.is_empty() {
            exit::WARNINGS
        } else {
            code
        },
    )
}
