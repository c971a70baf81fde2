//! The live progress bar on stderr (hidden when stderr is not a terminal) and the closing line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pagefold_fetch::{FetchObserver, SafeUrl};

/// Shows pages, records, requests per second and the ETA while a job runs.
pub struct Progress {
    bar: ProgressBar,
    records: AtomicU64,
    /// Pages per chain, where known: the bar's length is their sum.
    totals: std::sync::Mutex<std::collections::HashMap<u32, u64>>,
    /// The job's keys, when it has several: each one's requests, retries and waits are shown.
    keys: Option<std::sync::Arc<pagefold_fetch::KeyRing>>,
    /// Long waits are said on stderr when it is not a terminal (a log, a service's journal),
    /// where no bar shows them: a run asleep for minutes must not look hung.
    log_waits: bool,
    /// When the last wait said ends: waits that end within it are not said again (every
    /// request held back by one pause reports the same pause).
    said_until: std::sync::Mutex<Option<std::time::Instant>>,
}

/// Waits longer than this are said when stderr is not a terminal.
const SAID_WAIT: Duration = Duration::from_secs(5);

impl Progress {
    /// A bar on stderr; `visible: false` (or a stderr that is not a terminal) hides it.
    pub fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(style("{spinner} {pos} pages · {msg} · {rate} · {elapsed}"));
        bar.enable_steady_tick(Duration::from_millis(100));
        Self {
            bar,
            records: AtomicU64::new(0),
            totals: Default::default(),
            keys: None,
            log_waits: !std::io::IsTerminal::is_terminal(&std::io::stderr()),
            said_until: std::sync::Mutex::new(None),
        }
    }

    /// Shows each of `keys`' requests, retries and waits beside the records.
    pub fn with_keys(mut self, keys: Option<std::sync::Arc<pagefold_fetch::KeyRing>>) -> Self {
        self.keys = keys;
        self
    }

    /// `app-1 41 req (2 retries, 1.5s waited), …`, or nothing with one key.
    fn keys_line(&self) -> String {
        let Some(ring) = &self.keys else {
            return String::new();
        };
        let keys: Vec<String> = ring
            .stats()
            .iter()
            .map(|key| {
                format!(
                    "{} {} req{}{}",
                    key.label,
                    key.requests,
                    if key.retries > 0 {
                        format!(" ({} retries)", key.retries)
                    } else {
                        String::new()
                    },
                    if key.waited.as_secs_f64() >= 0.1 {
                        format!(" {:.1}s waited", key.waited.as_secs_f64())
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        format!(" · {}", keys.join(", "))
    }

    /// Says a wait longer than [`SAID_WAIT`] on stderr, once per pause, when no bar shows it.
    fn say_wait(&self, wait: Duration, what: &str) {
        if !self.log_waits || wait <= SAID_WAIT {
            return;
        }
        let until = std::time::Instant::now() + wait;
        let mut said = self
            .said_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if said.is_some_and(|said| until <= said + Duration::from_secs(1)) {
            return;
        }
        *said = Some(until);
        super::say(&format!(
            "waiting {}s {what}",
            wait.as_secs_f64().ceil() as u64
        ));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl FetchObserver for Progress {
    fn total_pages(&self, chain: u32, pages: u64) {
        let mut totals = self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        totals.insert(chain, pages);
        self.bar.set_length(totals.values().sum());
        self.bar.set_style(
            style("{spinner} [{bar:30}] {pos}/{len} pages · {msg} · {rate} · ETA {eta}")
                .progress_chars("=> "),
        );
    }

    fn page(&self, records: usize, _bytes: usize) {
        let total = self.records.fetch_add(records as u64, Ordering::Relaxed) + records as u64;
        self.bar.inc(1);
        self.bar
            .set_message(format!("{} records{}", thousands(total), self.keys_line()));
    }

    fn waiting(&self, reason: &str, wait: Duration) {
        self.say_wait(wait, &format!("({reason})"));
        self.bar.set_message(format!(
            "{reason}: waiting {:.0}s",
            wait.as_secs_f64().ceil()
        ));
    }

    fn retry(&self, _chain: u32, url: &SafeUrl, reason: &str, wait: Duration, _asked: bool) {
        self.say_wait(wait, &format!("before retrying `{url}` ({reason})"));
        // The URL is in the log at -v: the bar keeps to one line.
        let message = format!("retrying in {:.1}s: {reason}", wait.as_secs_f64());
        let message: String = crate::secrets::redact(&message).chars().take(60).collect();
        self.bar.set_message(message);
    }
}

/// A bar style with `{rate}`: pages a second, whole.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the template is valid")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{} pages/s", thousands(state.per_sec().round() as u64));
            },
        )
}

/// `643600` as `643,600`.
pub fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(643_600), "643,600");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_000_000), "1,000,000");
    }
}
