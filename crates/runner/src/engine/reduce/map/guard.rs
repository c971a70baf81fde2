//! The watch over a running jq program: its stack and its time.
//!
//! jaq has no limits of its own: `def f: [f]; f` recurses until the stack overflows (an
//! abort no handler can catch), and `last(range(1e15))` runs for days. jaq does, however,
//! ask its data for the program's look-up table before it evaluates each term; our data
//! answers after checking how much stack the program has used and how long it has run, and
//! when either is past its limit it unwinds out of jaq (a panic payload of its own, raised
//! with `resume_unwind` so that no panic message is printed), which [`watched`] turns back
//! into an error.
//!
//! A native filter's own loop is not watched here: `last(range(1e15))` drains a native
//! generator in a native filter, and jaq asks for nothing meanwhile; the `watchdog` ends the
//! process for it. Outputs are counted (see [`super::MAX_OUTPUTS`]), so `range(1e15)` alone is
//! stopped.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::{Duration, Instant};

use jaq_core::Lut;
use jaq_core::data::{DataT, HasLut};
use jaq_json::Val;

/// The stack of a thread that runs `map` (reduce workers are started with it): the memory
/// is reserved, not used, until a program recurses.
pub const MAP_STACK: usize = 64 * 1024 * 1024;

/// What a program may use of a [`MAP_STACK`] stack, measured from where it started; the rest
/// is margin for what runs between two checks (jaq's native filters, reading and writing
/// values).
pub(super) const STACK_BUDGET: usize = MAP_STACK - 16 * 1024 * 1024;

/// What a program may use of a stack of unknown size: a quarter of the standard library's
/// default for a thread (2 MiB).
pub(super) const SMALL_STACK_BUDGET: usize = 512 * 1024;

/// How deep a record (or an output) may nest for `map`: jaq reads and writes values
/// recursively, so a record of 5 000 levels must be refused before it reaches jaq.
pub const MAX_INPUT_DEPTH: usize = 512;

/// How long a program may run on one record.
pub const MAX_TIME: Duration = Duration::from_secs(5);

/// Terms evaluated between two looks at the clock (the stack is checked at each).
const CLOCK_EVERY: u32 = 1024;

/// The data kind of a watched program: jaq's JSON values, with [`Watch`] as global data.
pub(super) struct Watched;

impl DataT for Watched {
    type V<'a> = Val;
    type Data<'a> = Watch<'a>;
}

/// What a watched program carries: the look-up table, and the limits it is checked against.
#[derive(Clone)]
pub(super) struct Watch<'a> {
    lut: &'a Lut<Watched>,
    limits: &'a Limits,
}

impl<'a> HasLut<'a, Watched> for Watch<'a> {
    fn lut(&self) -> &'a Lut<Watched> {
        self.limits.check();
        self.lut
    }
}

/// Which limit a program went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exceeded {
    /// It recursed too deep (about [`STACK_BUDGET`] bytes of stack).
    Stack,
    /// It ran longer than [`MAX_TIME`] on one record.
    Time,
}

/// The limits of one run of a program on one record.
pub(super) struct Limits {
    /// The address of a local variable where the run started: the stack used since is the
    /// distance from it (whichever way the stack grows).
    base: usize,
    budget: usize,
    deadline: Instant,
    steps: Cell<u32>,
}

impl Limits {
    fn check(&self) {
        let here = 0u8;
        let address = std::ptr::addr_of!(here) as usize;
        if address.abs_diff(self.base) > self.budget {
            resume_unwind(Box::new(Exceeded::Stack));
        }
        let steps = self.steps.get().wrapping_add(1);
        self.steps.set(steps);
        if steps.is_multiple_of(CLOCK_EVERY) && Instant::now() > self.deadline {
            resume_unwind(Box::new(Exceeded::Time));
        }
    }
}

/// Runs `body` with a [`Watch`] over `lut` that allows `budget` bytes of stack: `Err` when
/// the program went past a limit.
pub(super) fn watched<T>(
    lut: &Lut<Watched>,
    budget: usize,
    body: impl FnOnce(Watch<'_>) -> T,
) -> Result<T, Exceeded> {
    let here = 0u8;
    let limits = Limits {
        base: std::ptr::addr_of!(here) as usize,
        budget,
        deadline: Instant::now() + MAX_TIME,
        steps: Cell::new(0),
    };
    let watch = Watch {
        lut,
        limits: &limits,
    };
    // Unwind safety: what `body` touches is the program's own values, all dropped while
    // unwinding; the look-up table is only read.
    catch_unwind(AssertUnwindSafe(|| body(watch))).map_err(|payload| {
        match payload.downcast::<Exceeded>() {
            Ok(exceeded) => *exceeded,
            // Not ours: a bug in jaq or here, carried on as the panic it is.
            Err(other) => resume_unwind(other),
        }
    })
}
