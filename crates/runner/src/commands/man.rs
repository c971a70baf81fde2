//! `pagefold man DIR`: a man page for pagefold and one for each command (`pagefold-run.1`, …),
//! generated from the command line's own definition.

use std::path::Path;

use clap::CommandFactory;
use pagefold::exit;
use pagefold::terminal::failure::Failure;

use super::cli::Cli;

/// `pagefold man`.
pub(crate) fn run(dir: &Path) -> Result<u8, Failure> {
    let failed = |error: std::io::Error| Failure::from_error(exit::RUN_FAILED, &error);
    std::fs::create_dir_all(dir).map_err(failed)?;
    let command = Cli::command();
    let mut written = Vec::new();
    write_pages(&command, "pagefold", dir, &mut written).map_err(failed)?;
    pagefold::terminal::say(&format!(
        "wrote {} man pages into `{}`; read one with `man -l {}`",
        written.len(),
        dir.display(),
        dir.join("pagefold.1").display()
    ));
    Ok(exit::SUCCESS)
}

/// Writes `name.1` for `command` and, for each subcommand, `name-sub.1`.
fn write_pages(
    command: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<String>,
) -> std::io::Result<()> {
    let page = command.clone().name(name.to_owned());
    let mut text = Vec::new();
    clap_mangen::Man::new(page).render(&mut text)?;
    pagefold::output::write_output(
        &dir.join(format!("{name}.1")),
        &String::from_utf8_lossy(&text),
    )?;
    written.push(name.to_owned());
    for sub in command
        .get_subcommands()
        // Hidden commands (`scheduled-run`, which the scheduler starts) are not the user's.
        .filter(|sub| sub.get_name() != "help" && !sub.is_hide_set())
    {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
