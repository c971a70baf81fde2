//! `pagefold schema`: the job file's JSON Schema on stdout, for editors.

use pagefold::exit;
use pagefold::terminal::failure::Failure;

/// `pagefold schema`.
pub(crate) fn run() -> Result<u8, Failure> {
    let mut text = serde_json::to_string_pretty(&pagefold::job::job_schema())
        .expect("a JSON value serializes");
    text.push('\n');
    pagefold::terminal::print(&text);
    Ok(exit::SUCCESS)
}
