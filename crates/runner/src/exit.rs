//! Exit codes: what scripts and schedulers can rely on.

/// The run finished and wrote its result.
pub const SUCCESS: u8 = 0;
/// The run failed: an HTTP failure after retries, a bad page, a reducer or plugin error (no
/// output file was written); or its result could not be written: to its file, or to the
/// database of `[output] url` (then it is kept in the state folder for the job's next run).
pub const RUN_FAILED: u8 = 1;
/// The job file or the command line is invalid; nothing was fetched.
pub const INVALID_INPUT: u8 = 2;
/// The run finished with `on_error = "skip"` and skipped pages: the result was written and
/// lists them under `"skipped"`.
pub const PARTIAL: u8 = 3;
/// The run finished with warnings (a cap hit, a field no record had, …) and warnings are
/// denied (`--deny-warnings`, `deny_warnings = true`): the result was written all the same.
pub const WARNINGS: u8 = 4;
/// Ctrl-C (SIGINT) stopped the run; with checkpoints on, its progress was saved.
pub const INTERRUPTED: u8 = 130;
/// SIGTERM stopped the run; with checkpoints on, its progress was saved.
pub const TERMINATED: u8 = 143;
