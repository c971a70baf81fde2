//! One module per subcommand, each a `run` function that takes the parsed arguments and
//! returns the exit code or the [`Failure`] to print; the helpers here map the library's
//! errors to exit codes and hints the same way for every command.

pub(crate) mod cli;
pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod demo_api;
pub(crate) mod demo_cli;
pub(crate) mod finish;
pub(crate) mod history;
pub(crate) mod init;
pub(crate) mod man;
pub(crate) mod merge;
pub(crate) mod plan;
pub(crate) mod plan_shards;
pub(crate) mod plugin;
pub(crate) mod plugin_check;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod run_shard;
pub(crate) mod schedule;
pub(crate) mod schema;
pub(crate) mod shard_cli;
pub(crate) mod validate;

use pagefold::engine::incremental::IncrementalError;
use pagefold::engine::run::RunError;
use pagefold::engine::tracked::TrackedError;
use pagefold::exit;
use pagefold::job::{AlertsSpec, Job, JobError};
use pagefold::observe::{ObserveError, ObserveOptions, Observer};
use pagefold::state::StateError;
use pagefold::terminal::failure::Failure;

/// Loads a job file; an invalid one is exit 2 with its place and hint.
pub(crate) fn load(path: &std::path::Path) -> Result<Job, Failure> {
    Job::load(path).map_err(job_failure)
}

/// Loads an `--alerts` file: as a job file, an invalid one is exit 2 with its place.
pub(crate) fn load_alerts(path: &std::path::Path) -> Result<AlertsSpec, Failure> {
    pagefold::job::load_alerts_file(path).map_err(job_failure)
}

/// The observer of `--metrics-file`, `--pushgateway` and the `--alerts` of every job.
pub(crate) fn observer(
    metrics: &cli::MetricsOutputArgs,
    alerts: Option<AlertsSpec>,
) -> Result<Observer, Failure> {
    if let Some(path) = &metrics.metrics_file
        && !pagefold::observe::textfile::collected(path)
    {
        pagefold::terminal::warn(&format!(
            "`{}` does not end in `.prom`: node_exporter's textfile collector reads only such files",
            path.display()
        ));
    }
    Ok(Observer::new(ObserveOptions {
        metrics_file: metrics.metrics_file.clone(),
        pushgateway: metrics.pushgateway.clone(),
        alerts,
    }))
}

/// The observe layer could not start (the endpoint's address): exit 2, with what to do.
pub(crate) fn observe_failure(error: ObserveError) -> Failure {
    let hint = error.hint();
    Failure::from_error(exit::INVALID_INPUT, &error).with_hint(hint)
}

fn job_failure(error: JobError) -> Failure {
    match error {
        JobError::Invalid(located) => Failure {
            code: exit::INVALID_INPUT,
            message: located.to_string(),
            snippet: Some(located.snippet()),
            causes: Vec::new(),
            hint: located.hint.clone(),
        },
        read @ JobError::Read { .. } => Failure::from_error(exit::INVALID_INPUT, &read),
    }
}

/// Loads a job file with `--set` overrides: the file is checked as it is (its errors name
/// its lines), then with the overrides (their errors name the flag).
pub(crate) fn load_with(path: &std::path::Path, sets: &[String]) -> Result<Job, Failure> {
    let job = load(path)?;
    if sets.is_empty() {
        return Ok(job);
    }
    let refused = |message: String| Failure {
        code: exit::INVALID_INPUT,
        message,
        snippet: None,
        causes: Vec::new(),
        hint: Some(
            "the keys and values of --set are those of the job file (see the README)".into(),
        ),
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::from_error(exit::INVALID_INPUT, &error))?;
    let text = pagefold::job::overrides::apply(&text, sets).map_err(refused)?;
    drop(job);
    Job::parse(path, &text).map_err(|error| match error {
        JobError::Invalid(located) => Failure {
            hint: located.hint.clone(),
            ..refused(format!(
                "--set {}: {}",
                sets.join(" --set "),
                located.message
            ))
        },
        read @ JobError::Read { .. } => Failure::from_error(exit::INVALID_INPUT, &read),
    })
}

/// A state folder problem: exit 1, with what to do.
pub(crate) fn state_failure(error: StateError) -> Failure {
    let hint = error.hint();
    Failure::from_error(exit::RUN_FAILED, &error).with_hint(hint)
}

/// A tracked run that failed: exit codes as for [`run_failure`].
pub(crate) fn tracked_failure(error: TrackedError) -> Failure {
    match error {
        TrackedError::Run(error) => run_failure(error),
        TrackedError::State(error) => state_failure(error),
        identity @ TrackedError::Incremental(IncrementalError::Identity { .. }) => {
            let hint = identity.hint();
            Failure::from_error(exit::INVALID_INPUT, &identity).with_hint(hint)
        }
        other => {
            let hint = other.hint();
            Failure::from_error(exit::RUN_FAILED, &other).with_hint(hint)
        }
    }
}

/// A run that failed: SIGTERM 143, Ctrl-C 130, a checkpoint of another job 2, else 1.
pub(crate) fn run_failure(error: RunError) -> Failure {
    let hint = error.hint();
    let code = match &error {
        RunError::Interrupted {
            signal: "SIGTERM", ..
        } => exit::TERMINATED,
        RunError::Interrupted { .. } => exit::INTERRUPTED,
        RunError::Checkpoint(
            pagefold::engine::checkpoint::CheckpointError::OtherJob { .. }
            | pagefold::engine::checkpoint::CheckpointError::OtherPlugin { .. },
        ) => exit::INVALID_INPUT,
        _ => exit::RUN_FAILED,
    };
    Failure::from_error(code, &error).with_hint(hint)
}
