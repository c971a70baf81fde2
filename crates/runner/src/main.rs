//! `pagefold`: run jobs that pull every page of an HTTP API and reduce the records.
//!
//! The binary is the edge: it parses the command line and hands it to the command's module in
//! [`commands`], which turns every error into one printed message and one exit code (see
//! [`pagefold::exit`]).

mod commands;

/// See the workspace's Cargo.toml for why (and `cargo run -p pagefold-bench` for how much).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::cli::{Cli, Command, PluginCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    pagefold::terminal::init_logging(cli.verbose);
    let outcome = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Validate { job } => commands::validate::run(&job),
        Command::Schedule(args) => commands::schedule::run(args, cli.verbose),
        Command::History {
            job,
            state,
            limit,
            json,
            show,
        } => match (job, show) {
            (Some(job), Some(run_id)) => commands::history::show(&job, state.as_deref(), &run_id),
            (Some(job), None) => commands::history::run(&job, state.as_deref(), limit, json),
            (None, _) => commands::history::list(state.as_deref()),
        },
        Command::Report(args) => commands::report::run(&args),
        Command::Plan { job, probe, shards } => commands::plan::run(&job, probe, shards),
        Command::Merge(args) => commands::merge::run(args),
        Command::Demo(args) => commands::demo::run(&args),
        Command::DemoApi(args) => commands::demo_api::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::Completions { shell } => commands::completions::run(shell),
        Command::Man { dir } => commands::man::run(&dir),
        Command::Schema => commands::schema::run(),
        Command::ScheduledRun(args) => commands::schedule::child(args),
        Command::Plugin(PluginCommand::New { name, dir }) => commands::plugin::new(&name, &dir),
        Command::Plugin(PluginCommand::Check { library, config }) => {
            commands::plugin_check::run(&library, config.as_deref())
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            failure.print();
            ExitCode::from(failure.code)
        }
    }
}
