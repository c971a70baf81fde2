//! What the scheduler tells its observer besides the runs: each job's next scheduled time, the
//! interval around now (alert rules compare the last success with it), and whether a run of it
//! runs; then the metrics are published if they changed.

use std::time::Duration;

use super::Scheduler;
use crate::observe::Live;

impl Scheduler {
    /// Tells the observer the jobs' times and running runs, and publishes the metrics.
    pub(super) fn observe(&self) {
        let now = self.clock.now();
        let live = self
            .entries
            .values()
            .map(|entry| {
                let schedule = entry.job.schedule.as_ref();
                let interval = entry.next_due.zip(schedule).and_then(|(next, schedule)| {
                    // From the scheduled time before now to the next one; for a job whose
                    // first time is still to come, from the next to the one after it.
                    let (from, to) = match schedule.last_at_or_before(now) {
                        Some(last) if last < next => (last, next),
                        _ => (next, schedule.next_after(next)?),
                    };
                    (to - from)
                        .to_std()
                        .ok()
                        .filter(|gap| *gap > Duration::ZERO)
                });
                Live {
                    job: entry.job.name.clone(),
                    running: entry.running,
                    next: entry.next_due,
                    interval,
                }
            })
            .collect();
        self.options.observer.set_live(live);
        self.options.observer.publish();
    }
}
