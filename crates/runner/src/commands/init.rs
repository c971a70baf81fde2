//! `pagefold init URL`: a job file from one look at an API, on stdout or in a file; what was
//! guessed on stderr.

use pagefold::exit;
use pagefold::init::{InitError, InitOptions, init};
use pagefold::terminal::failure::Failure;
use pagefold::terminal::{print, say};

use super::cli::InitArgs;

/// `pagefold init`.
pub(crate) fn run(args: InitArgs) -> Result<u8, Failure> {
    if let Some(path) = &args.output
        && path.exists()
        && !args.force
    {
        return Err(Failure::from_error(
            exit::INVALID_INPUT,
            &InitError::Argument(format!("`{}` exists already", path.display())),
        )
        .with_hint(Some(
            "choose another file with -o, or --force to replace it".into(),
        )));
    }
    let options = InitOptions {
        url: args.url,
        bearer_env: args.bearer_env,
        headers: args.headers,
    };
    let written = init(&options).map_err(|error| {
        let code = match error {
            InitError::Argument(_) => exit::INVALID_INPUT,
            _ => exit::RUN_FAILED,
        };
        Failure::from_error(code, &error)
    })?;
    for note in &written.notes {
        say(&format!("note: {note}"));
    }
    match &args.output {
        None => print(&written.text),
        Some(path) => {
            pagefold::output::write_output(path, &written.text)
                .map_err(|error| Failure::from_error(exit::RUN_FAILED, &error))?;
            say(&format!(
                "wrote `{}`; try it with `pagefold plan --probe {}`, then `pagefold run {}`",
                path.display(),
                path.display(),
                path.display()
            ));
        }
    }
    Ok(exit::SUCCESS)
}
