//! The end of a run on the terminal: the result printed (when it went to no file), then its
//! warnings and the closing line; the exit code that says how it went.

use std::io::Write;

use pagefold::engine::run::RunReport;
use pagefold::exit;
use pagefold::terminal::failure::Failure;
use pagefold::terminal::summary;

/// Prints the result (when it went to no file), then the warnings and the closing line.
pub(crate) fn finish(report: &RunReport, concurrency: usize, quiet: bool) -> Result<u8, Failure> {
    // A result that went to a file or a database is not printed too.
    if report.written_to.is_none() && report.database.is_none() {
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
    let ended = summary::RunEnd {
        document: &report.document,
        summary: &report.summary,
        wall: report.wall,
        concurrency,
        written_to: report.written_to.as_deref(),
        format: report.format,
        database: report.database.as_deref(),
    };
    summary::print_run_end(&ended, quiet);
    Ok(if report.document.skipped.is_empty() {
        exit::SUCCESS
    } else {
        exit::PARTIAL
    })
}
