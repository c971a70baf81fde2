//! The last resort against a `map` program that never yields: a native jq loop such as
//! `last(range(1e15))` runs inside jaq without asking for anything, so the [`super::guard`]'s
//! checks never come, and no thread can be stopped from outside in Rust. A watchdog thread
//! notes when each program run began; one that has run [`HARD_LIMIT`] on one record ends
//! the process with an error that says why. That is what `kill -9` does, which a run
//! survives: the last checkpoint stays, no output is half written, the history records the
//! run as interrupted (or, under `pagefold schedule`, its child as failed, with this message).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::guard::MAX_TIME;

/// How long a program may run on one record before the process is ended: twice the limit
/// the guard enforces where it can, so that the guard's clear error comes first whenever it
/// is able to.
pub const HARD_LIMIT: Duration = Duration::from_secs(2 * MAX_TIME.as_secs());

/// How often the watchdog looks.
const EVERY: Duration = Duration::from_millis(500);

/// A slot per thread that runs programs: when its current run began, in ms since [`epoch`]
/// plus one, or 0 while it runs none. Two atomic stores a record, no lock: `map` runs on
/// every record.
type Slot = Arc<AtomicU64>;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Every thread's slot; the watchdog thread is started with the first.
fn slots() -> &'static Mutex<Vec<Slot>> {
    static SLOTS: OnceLock<Mutex<Vec<Slot>>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        epoch();
        let _ = std::thread::Builder::new()
            .name("map-watchdog".into())
            .spawn(watch);
        Mutex::default()
    })
}

fn watch() {
    loop {
        std::thread::sleep(EVERY);
        let now = epoch().elapsed().as_millis() as u64 + 1;
        let stuck = slots()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .any(|began| began != 0 && now.saturating_sub(began) >= HARD_LIMIT.as_millis() as u64);
        if stuck {
            eprintln!(
                "error: the job's `map` has run {}s on one record inside a jq built-in that cannot be interrupted (a loop such as `last(range(…))`); pagefold stops here\n\
                 hint: bound the loop in the program (`limit(n; …)`, `first(…)`); the last checkpoint, if any, is kept and the same command resumes from it",
                HARD_LIMIT.as_secs()
            );
            std::process::exit(i32::from(crate::exit::RUN_FAILED));
        }
    }
}

thread_local! {
    static MINE: Slot = {
        let slot = Slot::default();
        slots().lock().unwrap_or_else(PoisonError::into_inner).push(slot.clone());
        slot
    };
}

/// A program run, watched while this value lives.
pub(super) struct Watching(());

impl Watching {
    /// Notes that a program run begins now on this thread.
    pub(super) fn begin() -> Self {
        let now = epoch().elapsed().as_millis() as u64 + 1;
        MINE.with(|slot| slot.store(now, Ordering::Relaxed));
        Self(())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        // A thread that ended without its slot is a slot that stays 0: never "stuck".
        let _ = MINE.try_with(|slot| slot.store(0, Ordering::Relaxed));
    }
}
