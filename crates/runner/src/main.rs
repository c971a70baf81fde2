//! `pagefold`: run jobs that pull every page of an HTTP API and reduce the records.
//!
//! The binary is the edge: it parses the command line, runs a command, and turns every error
//! into one printed message and one exit code (see [`exit`]).

mod cli;
mod history_command;
mod report;
mod schedule_command;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use pagefold::history::Trigger;
use pagefold::job::{Job, JobError};
use pagefold::run::{RunError, RunOptions, RunReport};
use pagefold::state::{StateDir, StateError};
use pagefold::tracked::{TrackedError, run_tracked};
use pagefold::{demo, exit, plugin_new, progress, run};

use crate::cli::{Cli, Command, PluginCommand};
use crate::report::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match execute(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprint!("{}", failure.render());
            ExitCode::from(failure.code)
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // Only our crates log at the chosen level: hyper and reqwest at debug print headers,
    // which may hold credentials.
    let filter = format!("warn,pagefold={level},pagefold_fetch={level},pagefold_demo_api={level}");
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(|| pagefold::secrets::RedactingStderr)
        .with_target(false)
        .init();
}

/// Runs a command; the exit code on success (see [`exit`]).
fn execute(command: Command) -> Result<u8, Failure> {
    let interactive = std::io::stderr().is_terminal();
    match command {
        Command::Validate { job } => {
            let job = load(&job)?;
            eprintln!(
                "`{}` is a valid job: `{}`, {} reducer{}",
                job.path.display(),
                job.name,
                job.reduce.len(),
                if job.reduce.len() == 1 { "" } else { "s" }
            );
            if let Some(schedule) = &job.schedule {
                println!(
                    "schedule `{}` in {}; the next five runs:",
                    schedule.expression, schedule.timezone
                );
                for time in schedule.upcoming(chrono::Utc::now(), 5) {
                    println!(
                        "  {}  ({})",
                        time.format("%a %Y-%m-%d %H:%M:%S %Z"),
                        time.with_timezone(&chrono::Utc)
                            .format("%Y-%m-%dT%H:%M:%SZ")
                    );
                }
            }
            Ok(exit::SUCCESS)
        }
        Command::Schedule(args) => schedule_command::schedule(args),
        Command::History {
            job,
            state,
            limit,
            json,
        } => history_command::history(&job, state.as_deref(), limit, json),
        Command::Plan { job, probe } => {
            let job = load(&job)?;
            let text = pagefold::plan::plan(&job, probe).map_err(|error| {
                Failure::from_error(exit::RUN_FAILED, &error).with_hint(Some(
                    "the first page of a chain could not be fetched".into(),
                ))
            })?;
            print!("{text}");
            Ok(exit::SUCCESS)
        }
        Command::Run(args) => {
            let job = load(&args.job)?;
            let options = RunOptions {
                workers: args.workers.map(usize::from),
                output: args.output,
                progress: !args.quiet && interactive,
                checkpoint: args.checkpoint,
                checkpoint_every: args.checkpoint_every,
                ..RunOptions::default()
            };
            let report = match StateDir::open(args.state.as_deref()) {
                Ok(state) => {
                    let tracked =
                        run_tracked(&job, options, &state.job(&job.name), Trigger::Manual, None);
                    if let Some(error) = tracked.history_error {
                        eprintln!("warning: the run history could not be written: {error}");
                    }
                    tracked.result.map_err(tracked_failure)?
                }
                // History is a convenience; only an incremental job needs its state.
                Err(error) if job.source.incremental.is_none() => {
                    tracing::info!("no run history: {error}");
                    run::run(&job, &options).map_err(run_failure)?
                }
                Err(error) => return Err(state_failure(error)),
            };
            finish(&report, job.fetch.concurrency.get_ref(), args.quiet)
        }
        Command::Demo(args) => {
            let report = demo::demo(&args.options(), interactive).map_err(|error| match error {
                demo::DemoError::Run(error) => run_failure(error),
                other => Failure::from_error(exit::RUN_FAILED, &other),
            })?;
            finish(&report, &32, false)
        }
        Command::Plugin(PluginCommand::New {
            name,
            dir,
            sdk_version,
        }) => {
            let folder =
                plugin_new::new_plugin(&name, &dir, sdk_version.as_deref()).map_err(|error| {
                    Failure::from_error(exit::INVALID_INPUT, &error).with_hint(error.hint())
                })?;
            eprintln!(
                "wrote the plugin crate `{}`; build it with `cargo build --release` there, then see its README.md for the job snippet",
                folder.display()
            );
            Ok(exit::SUCCESS)
        }
        Command::DemoApi(args) => {
            demo::demo_api(args.config(), args.host, args.port).map_err(|error| {
                Failure::from_error(exit::RUN_FAILED, &error).with_hint(Some(
                    "choose another port with --port, or --port 0 for any free one".into(),
                ))
            })?;
            Ok(exit::SUCCESS)
        }
    }
}

pub(crate) fn load(path: &std::path::Path) -> Result<Job, Failure> {
    Job::load(path).map_err(|error| match error {
        JobError::Invalid(located) => Failure {
            code: exit::INVALID_INPUT,
            message: located.to_string(),
            snippet: Some(located.snippet()),
            causes: Vec::new(),
            hint: located.hint.clone(),
        },
        read @ JobError::Read { .. } => Failure::from_error(exit::INVALID_INPUT, &read),
    })
}

pub(crate) fn state_failure(error: StateError) -> Failure {
    let hint = error.hint();
    Failure::from_error(exit::RUN_FAILED, &error).with_hint(hint)
}

fn tracked_failure(error: TrackedError) -> Failure {
    match error {
        TrackedError::Run(error) => run_failure(error),
        TrackedError::State(error) => state_failure(error),
        identity @ TrackedError::Identity { .. } => {
            let hint = identity.hint();
            Failure::from_error(exit::INVALID_INPUT, &identity).with_hint(hint)
        }
        other => {
            let hint = other.hint();
            Failure::from_error(exit::RUN_FAILED, &other).with_hint(hint)
        }
    }
}

fn run_failure(error: RunError) -> Failure {
    let hint = error.hint();
    let code = match &error {
        RunError::Interrupted {
            signal: "SIGTERM", ..
        } => exit::TERMINATED,
        RunError::Interrupted { .. } => exit::INTERRUPTED,
        RunError::Checkpoint(pagefold::checkpoint::CheckpointError::OtherJob { .. }) => {
            exit::INVALID_INPUT
        }
        _ => exit::RUN_FAILED,
    };
    Failure::from_error(code, &error).with_hint(hint)
}

/// Prints the result (when it went to no file), the warnings and the closing line.
fn finish(report: &RunReport, concurrency: &usize, quiet: bool) -> Result<u8, Failure> {
    if report.written_to.is_none() {
        let mut stdout = std::io::stdout().lock();
        let written = stdout
            .write_all(report.document.render(report.format).as_bytes())
            .and_then(|()| stdout.flush());
        if let Err(error) = written
            && error.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(Failure::from_error(exit::RUN_FAILED, &error));
        }
    }
    for warning in &report.document.warnings {
        eprintln!("warning: {}", pagefold::secrets::redact(warning));
    }
    let skipped = report.document.skipped.len();
    if skipped > 0 {
        eprintln!(
            "warning: {skipped} page{} skipped (on_error = \"skip\"): the result lacks their records; {}",
            if skipped == 1 { " was" } else { "s were" },
            if report.format == pagefold::output::OutputFormat::Json {
                "see \"skipped\"".to_owned()
            } else {
                // csv and ndjson hold values only: the pages are listed here instead.
                report
                    .document
                    .skipped
                    .iter()
                    .map(|page| {
                        format!(
                            "`{}` ({})",
                            pagefold::secrets::redact(&page.url),
                            page.reason
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    if !quiet {
        eprintln!(
            "{}",
            progress::summary_line(&report.summary, report.wall, *concurrency)
        );
        if let Some(path) = &report.written_to {
            eprintln!("result written to `{}`", path.display());
        }
    }
    Ok(if skipped > 0 {
        exit::PARTIAL
    } else {
        exit::SUCCESS
    })
}
