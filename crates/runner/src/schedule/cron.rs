//! Run times of a schedule: the cron expression evaluated in the job's time zone, across
//! daylight saving changes (a time that does not exist runs once at the next that does; a
//! fixed time in the repeated hour runs once, an interval runs in both passes).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::job::ScheduleSpec;

/// `at` without its fraction of a second: croner keeps the fraction of the time it starts
/// from, and run times are whole seconds.
fn whole_second(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    at.with_nanosecond(0).unwrap_or(at)
}

impl ScheduleSpec {
    /// The first run time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // croner searches by local time. From inside the hour a fall-back repeats, its answer
        // can be the first of an ambiguous pair (before `after`): its iterator goes on past
        // it. And from the first pass of that hour, local times of the second pass look like
        // the past: they are searched for from the moment the clock falls back.
        let iterate = |iterator: &mut dyn Iterator<Item = DateTime<Tz>>| {
            iterator
                .take(4)
                .map(|time| time.with_timezone(&Utc))
                .find(|time| *time > after)
        };
        let first = iterate(
            &mut self
                .cron
                .iter_after(whole_second(after).with_timezone(&self.timezone)),
        )?;
        let second = self.fall_back_between(after, first).and_then(|transition| {
            iterate(&mut self.cron.iter_from(
                transition.with_timezone(&self.timezone),
                croner::Direction::Forward,
            ))
        });
        Some(second.map_or(first, |second| second.min(first)))
    }

    /// The moment the clock falls back between `from` and `to`, if it does.
    fn fall_back_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
        use chrono::Offset;
        let offset = |at: DateTime<Utc>| {
            at.with_timezone(&self.timezone)
                .offset()
                .fix()
                .local_minus_utc()
        };
        let before = offset(from);
        if offset(to) >= before {
            return None;
        }
        // In whole seconds: offsets change on the second.
        let (mut low, mut high) = (from.timestamp(), to.timestamp());
        let at = |seconds: i64| DateTime::from_timestamp(seconds, 0).unwrap_or(to);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if offset(at(middle)) == before {
                low = middle;
            } else {
                high = middle;
            }
        }
        Some(at(high))
    }

    /// The last run time at or before `at`.
    pub fn last_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = whole_second(at);
        let second = chrono::Duration::seconds(1);
        let previous = |at: DateTime<Utc>| {
            self.cron
                .find_previous_occurrence(&at.with_timezone(&self.timezone), true)
                .ok()
                .map(|time| time.with_timezone(&Utc))
        };
        // croner's backward search can land on a time that is no run time next to a
        // daylight saving change (it gives 01:59:59 for a 02:30 that does not exist): step
        // back to a real run time, then forward to the last one, which forward search finds
        // exactly.
        let mut guess = previous(at)?;
        for _ in 0..8 {
            if self.next_after(guess - second) == Some(guess) {
                break;
            }
            guess = previous(guess - second)?;
        }
        while let Some(next) = self.next_after(guess).filter(|next| *next <= at) {
            guess = next;
        }
        Some(guess)
    }

    /// The next `count` run times after `after`, in the job's time zone.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut times = Vec::with_capacity(count);
        let mut cursor = after;
        while times.len() < count {
            let Some(next) = self.next_after(cursor) else {
                break;
            };
            times.push(next.with_timezone(&self.timezone));
            cursor = next;
        }
        times
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn runs_in_the_job_time_zone_across_daylight_saving_changes() {
        // 02:30 every day in Berlin: on 2026-03-29 clocks jump from 02:00 to 03:00, so that
        // day's run is at 03:00 local (01:00 UTC) — it is neither lost nor run twice.
        let spec = ScheduleSpec::new("30 2 * * *", "Europe/Berlin").unwrap();
        let times: Vec<String> = spec
            .upcoming(utc("2026-03-27T12:00:00Z"), 4)
            .iter()
            .map(|t| t.with_timezone(&Utc).to_rfc3339())
            .collect();
        assert_eq!(
            times,
            [
                "2026-03-28T01:30:00+00:00",
                "2026-03-29T01:00:00+00:00",
                "2026-03-30T00:30:00+00:00",
                "2026-03-31T00:30:00+00:00",
            ]
        );
        assert_eq!(
            spec.last_at_or_before(utc("2026-03-29T01:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            spec.last_at_or_before(utc("2026-03-29T00:59:59Z")),
            Some(utc("2026-03-28T01:30:00Z"))
        );
        // Started inside the repeated hour, after the 02:30 that came first: next day.
        assert_eq!(
            spec.next_after(utc("2026-10-25T01:10:00Z")),
            Some(utc("2026-10-26T01:30:00Z"))
        );
        // An interval job runs in both passes of the repeated hour.
        let every_half_hour = ScheduleSpec::new("*/30 * * * *", "Europe/Berlin").unwrap();
        let times: Vec<_> = every_half_hour
            .upcoming(utc("2026-10-24T23:50:00Z"), 5)
            .iter()
            .map(|t| t.with_timezone(&Utc))
            .collect();
        assert_eq!(
            times,
            [
                utc("2026-10-25T00:00:00Z"),
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-25T01:00:00Z"),
                utc("2026-10-25T01:30:00Z"),
                utc("2026-10-25T02:00:00Z"),
            ]
        );
        assert_eq!(
            every_half_hour.next_after(utc("2026-10-25T00:45:00Z")),
            Some(utc("2026-10-25T01:00:00Z"))
        );
        // On 2026-10-25 02:30 happens twice in Berlin; the job runs once.
        let autumn: Vec<_> = spec.upcoming(utc("2026-10-24T12:00:00Z"), 2);
        assert_eq!(autumn[0].with_timezone(&Utc), utc("2026-10-25T00:30:00Z"));
        assert_eq!(autumn[1].with_timezone(&Utc), utc("2026-10-26T01:30:00Z"));
    }

    #[test]
    fn run_times_are_whole_seconds() {
        let spec = ScheduleSpec::new("* * * * * *", "UTC").unwrap();
        let at = utc("2026-01-01T00:00:05.250Z");
        assert_eq!(
            spec.last_at_or_before(at),
            Some(utc("2026-01-01T00:00:05Z"))
        );
        assert_eq!(spec.next_after(at), Some(utc("2026-01-01T00:00:06Z")));
    }

    #[test]
    fn seconds_are_optional() {
        let spec = ScheduleSpec::new("*/20 * * * * *", "UTC").unwrap();
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 5).unwrap();
        assert_eq!(
            spec.next_after(start),
            Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 20).unwrap())
        );
        assert_eq!(
            spec.last_at_or_before(start),
            Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
        );
    }
}
