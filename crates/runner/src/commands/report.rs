//! `pagefold report JOB`: one self-contained HTML file drawing a run's trace and the job's
//! history (see [`pagefold::report`]).

use std::path::Path;

use pagefold::exit;
use pagefold::output::write_output;
use pagefold::report::{ReportInput, render};
use pagefold::state::StateDir;
use pagefold::terminal::failure::Failure;

use super::cli::ReportArgs;
use super::history::job_identity;

/// `pagefold report`.
pub(crate) fn run(args: &ReportArgs) -> Result<u8, Failure> {
    let (job, _) = job_identity(&args.job)?;
    let state = match StateDir::open(args.state.as_deref()) {
        Ok(state) => Some(state.job(&job)),
        Err(error) => {
            pagefold::terminal::warn(&format!("no history in the report: {error}"));
            None
        }
    };
    // Without --trace, the newest trace that `schedule --trace` kept, if any.
    let trace_path = args.trace.clone().or_else(|| {
        state
            .as_ref()
            .and_then(pagefold::state::JobState::latest_trace)
    });
    let trace = match &trace_path {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|error| {
            Failure::from_error(
                exit::INVALID_INPUT,
                &std::io::Error::new(
                    error.kind(),
                    format!("cannot read the trace `{}`: {error}", path.display()),
                ),
            )
        })?),
        None => None,
    };
    let (history, results) = match &state {
        Some(state) => {
            let history = state.history().unwrap_or_else(|error| {
                pagefold::terminal::warn(&format!("no history in the report: {error}"));
                Vec::new()
            });
            let results = history
                .iter()
                .filter_map(|entry| {
                    let text = state.result(&entry.run_id).ok()??;
                    Some((entry.run_id.clone(), text))
                })
                .collect();
            (history, results)
        }
        None => (Vec::new(), Vec::new()),
    };
    let input = ReportInput {
        job,
        trace,
        history,
        results,
    };
    let html = render(&input).map_err(|error| {
        let path = trace_path.as_deref().unwrap_or(Path::new("?"));
        Failure::from_error(exit::INVALID_INPUT, &error).with_hint(Some(format!(
            "`{}` is not a trace pagefold wrote: make one with `pagefold run JOB --trace FILE`",
            path.display()
        )))
    })?;
    write_output(&args.output, &html)
        .map_err(|error| Failure::from_error(exit::RUN_FAILED, &error))?;
    pagefold::terminal::say(&format!(
        "report written to `{}`{}",
        args.output.display(),
        match &trace_path {
            Some(path) => format!(" (the run of `{}`)", path.display()),
            None => " (no trace: the history only)".into(),
        }
    ));
    Ok(exit::SUCCESS)
}
