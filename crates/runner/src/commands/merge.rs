//! `pagefold merge JOB --parts LOCATION`: the parts of a sharded run merged into its result;
//! also what `run --shard … --merge` does once its part is the last.

use std::path::PathBuf;
use std::time::Duration;

use pagefold::engine::run::RunOptions;
use pagefold::engine::tracked::merge_stateless;
use pagefold::exit;
use pagefold::job::Job;
use pagefold::shard::merge::MergeRequest;
use pagefold::shard::{PartsLocation, RUN_ID_ENV};
use pagefold::terminal::failure::Failure;
use pagefold::terminal::summary;

use super::shard_cli::MergeArgs;
use super::{load_with, tracked_failure};

/// `pagefold merge`.
pub(crate) fn run(args: MergeArgs) -> Result<u8, Failure> {
    let job = load_with(&args.job, &args.sets)?;
    let run_id = run_id(args.run_id)?;
    let location = location(&args.parts)?;
    let stdout = args.output.as_deref() == Some(std::path::Path::new("-"));
    let merged = Merge {
        job: &job,
        location: &location,
        run_id: &run_id,
        of: None,
        wait: args.wait,
        output: args.output.filter(|_| !stdout),
        stdout,
    };
    merged.write(args.quiet)
}

/// A merge to make.
pub(crate) struct Merge<'a> {
    pub(crate) job: &'a Job,
    pub(crate) location: &'a PartsLocation,
    pub(crate) run_id: &'a str,
    pub(crate) of: Option<u32>,
    pub(crate) wait: Duration,
    pub(crate) output: Option<PathBuf>,
    pub(crate) stdout: bool,
}

impl Merge<'_> {
    /// Merges, writes the result where the job says (or prints it), and says so.
    pub(crate) fn write(&self, quiet: bool) -> Result<u8, Failure> {
        let options = RunOptions {
            output: self.output.clone(),
            stdout: self.stdout,
            ..RunOptions::default()
        };
        let request = MergeRequest {
            location: self.location,
            run_id: self.run_id,
            of: self.of,
            wait: self.wait,
        };
        let tracked = merge_stateless(self.job, options, &request);
        let report = tracked.result.map_err(tracked_failure)?;
        // The result (when printed), its warnings and skipped pages, as a run's; then the
        // merge's own closing line instead of a run's, whose timings a merge does not have.
        let code = super::finish::finish(&report, self.job.fetch.concurrency(), true)?;
        if !quiet {
            pagefold::terminal::say(&summary::merged_line(&report.document));
            if let Some(path) = &report.written_to {
                pagefold::terminal::say(&format!("result written to `{}`", path.display()));
            }
            if let Some(database) = &report.database {
                pagefold::terminal::say(&format!("result written to `{database}`"));
            }
        }
        Ok(code)
    }
}

/// The run id: the flag, else `$JOB_NAME`.
pub(crate) fn run_id(given: Option<String>) -> Result<String, Failure> {
    let run_id = given
        .or_else(|| std::env::var(RUN_ID_ENV).ok())
        .filter(|id| !id.trim().is_empty());
    run_id.ok_or_else(|| Failure {
        code: exit::INVALID_INPUT,
        message: format!("no run id: give --run-id, or set `{RUN_ID_ENV}`"),
        snippet: None,
        causes: Vec::new(),
        hint: Some(
            "every shard of one run, and its merge, need the same run id (a Kubernetes Job \
             sets it from the Job's name: see deploy/kubernetes)"
                .into(),
        ),
    })
}

/// The `--parts` location.
pub(crate) fn location(text: &str) -> Result<PartsLocation, Failure> {
    PartsLocation::parse(text).map_err(|error| Failure::from_error(exit::INVALID_INPUT, &error))
}
