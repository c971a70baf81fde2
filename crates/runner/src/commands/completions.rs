//! `pagefold completions SHELL`: the completion script, generated from the command line's own
//! definition, so that it never lags behind a new flag.

use clap::CommandFactory;
use pagefold::exit;
use pagefold::terminal::failure::Failure;

use super::cli::Cli;

/// `pagefold completions`.
pub(crate) fn run(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "pagefold", &mut std::io::stdout());
    Ok(exit::SUCCESS)
}
