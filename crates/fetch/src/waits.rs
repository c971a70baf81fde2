//! Time spent held back by the API, as wall-clock intervals rather than a sum.
//!
//! Two chains that back off over the same second waited one second of the run, not two: a
//! sum over requests would say two, and with 64 requests throttled at once it would say more
//! than the run lasted. So waits are kept as intervals, merged as they come, and their
//! *union* is what a run reports.

use std::time::{Duration, Instant};

/// Wall-clock intervals during which at least one request was held back by the API (backoff,
/// `Retry-After`, rate limits, pauses the API asked for).
///
/// Invariant: the intervals are sorted, non-empty and pairwise disjoint (touching or
/// overlapping ones are merged on insertion), so [`WaitSpans::total`] is their union's length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitSpans {
    spans: Vec<(Instant, Instant)>,
}

impl WaitSpans {
    /// Adds the interval `start..end`; an empty or upside-down one adds nothing.
    pub fn add(&mut self, start: Instant, end: Instant) {
        if end <= start {
            return;
        }
        // The first span that ends at or after `start`: everything before it stays as it is.
        let from = self.spans.partition_point(|(_, e)| *e < start);
        let mut merged = (start, end);
        let mut to = from;
        while let Some(&(s, e)) = self.spans.get(to) {
            if s > merged.1 {
                break;
            }
            merged = (merged.0.min(s), merged.1.max(e));
            to += 1;
        }
        self.spans.splice(from..to, [merged]);
    }

    /// Adds every interval of `other`.
    pub fn union(&mut self, other: &WaitSpans) {
        for &(start, end) in &other.spans {
            self.add(start, end);
        }
    }

    /// The length of the union: wall-clock time during which something waited.
    pub fn total(&self) -> Duration {
        self.spans.iter().map(|(s, e)| e.duration_since(*s)).sum()
    }

    /// Whether nothing waited.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_waits_count_once() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let mut spans = WaitSpans::default();
        // Two chains back off over the same 100 ms, a third later.
        spans.add(t, t + ms(100));
        spans.add(t + ms(20), t + ms(100));
        spans.add(t + ms(300), t + ms(350));
        assert_eq!(spans.total(), ms(150));
        // One that bridges them joins all three.
        let mut other = WaitSpans::default();
        other.add(t + ms(50), t + ms(320));
        spans.union(&other);
        assert_eq!(spans.total(), ms(350));
        assert_eq!(spans.spans.len(), 1);
        spans.add(t + ms(400), t + ms(400));
        assert_eq!(spans.total(), ms(350));
    }
}
