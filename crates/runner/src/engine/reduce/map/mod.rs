//! `map`: a jq program (run by jaq, in-process) that turns each record into what reducers
//! see, or drops it (`select(…)`), or makes several of it. JSON Pointers stay the fast path;
//! this is for what they cannot say.
//!
//! A program runs on data an API sends, so nothing it meets may end the process: records are
//! measured before jaq reads them ([`MAX_INPUT_DEPTH`]), the program's own recursion and time
//! are watched while it runs ([`guard`]), and its outputs per record are counted
//! ([`MAX_OUTPUTS`]). Each limit ends the run with an error naming the page and record.
//! A native jq loop that never calls back is the one thing the guard cannot see: the
//! [`watchdog`] ends the process after [`HARD_LIMIT`], as a `kill -9` would, saying why.

mod guard;
mod natives;
mod program;
mod syntax;
mod watchdog;

pub use guard::{MAP_STACK, MAX_INPUT_DEPTH, MAX_TIME};
pub use program::{MAX_OUTPUTS, MapProgram};
pub use syntax::CompileError;
pub use watchdog::HARD_LIMIT;
