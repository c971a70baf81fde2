//! Test fixture: a reducer that counts records and crashes the whole process on the record
//! whose `id` is `config.on_id`, in the way `config.how` names: `abort`, `segfault` or
//! `stack_overflow` (or never returns from it: `hang`). No `catch_unwind` can stop these: they show that a scheduler running
//! runs in child processes outlives them.

use pagefold_reducer::{Position, Reducer, ReducerError, export_reducer};
use serde::Deserialize;

/// Counts records; crashes on one.
pub struct Crashy {
    how: How,
    on_id: u64,
}

/// How to crash.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// `std::process::abort()`: SIGABRT.
    Abort,
    /// A write through a null pointer: SIGSEGV.
    Segfault,
    /// Recursion without end: the runtime's stack overflow, then SIGABRT.
    StackOverflow,
    /// Never returns (parked, without burning the CPU): a run that cannot stop by itself.
    Hang,
}

/// The job's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    how: How,
    on_id: u64,
}

/// The one field read.
#[derive(Deserialize)]
pub struct Record {
    id: u64,
}

/// Recurses `depth` times with a frame the optimiser cannot drop: with a depth from the
/// data, never ending before the stack does.
fn deeper(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    if depth == 0 {
        return frame[0];
    }
    deeper(depth - 1).wrapping_add(std::hint::black_box(frame)[1])
}

fn crash(how: How, id: u64) {
    match how {
        How::Abort => std::process::abort(),
        How::Segfault => {
            let null = std::hint::black_box(std::ptr::null_mut::<u64>());
            // SAFETY: none — this write through a null pointer is the fixture's purpose: the
            // kernel ends the process with SIGSEGV, which is what the test needs to see.
            unsafe { null.write_volatile(id) };
        }
        How::StackOverflow => {
            std::hint::black_box(deeper(u64::MAX - id));
        }
        How::Hang => loop {
            // Woken only spuriously, if ever.
            std::thread::park();
        },
    }
}

impl Reducer for Crashy {
    type Config = Config;
    type State = u64;
    type Record<'a> = Record;

    fn new(config: Config) -> Result<Self, ReducerError> {
        Ok(Self {
            how: config.how,
            on_id: config.on_id,
        })
    }

    fn init(&self) -> u64 {
        0
    }

    fn fold(&self, count: &mut u64, record: Record, _: Position) -> Result<(), ReducerError> {
        if record.id == self.on_id {
            crash(self.how, record.id);
        }
        *count += 1;
        Ok(())
    }

    fn merge(&self, into: &mut u64, other: u64) {
        *into += other;
    }

    fn finish(&self, count: u64) -> serde_json::Value {
        count.into()
    }
}

export_reducer!(Crashy);
