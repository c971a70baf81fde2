//! The metrics of scheduled jobs, kept per job: what its history says (runs by status, the
//! last success and failure, run durations, pages, records, requests, retries, time waited),
//! and what the scheduler knows now (its next time, its interval, whether it runs).
//!
//! The history is the source of truth: a job's counters start from its whole history (so
//! they go on across restarts of the scheduler and across `pagefold run` and `--once`
//! processes, as the textfile collector and the Pushgateway need), then grow with each run
//! this process records. When the history rotates past a generation the counters of the
//! next process start lower: Prometheus takes that as a counter reset, as after any restart.
//!
//! Every metric is labelled `job_name`, not `job`: Prometheus gives `job` to the scrape job,
//! and the Pushgateway to its grouping key.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::exposition::{Exposition, Kind};
use crate::state::history::{HistoryEntry, Status};

/// Upper bounds of the run duration histogram's buckets, in seconds: from half a second to
/// six hours, since jobs range from one page to millions.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0,
];

/// Every metric's name, type and help, in the order they are written. The README's table and
/// the dashboard's queries are checked against this list.
pub const FAMILIES: [(&str, Kind, &str); 13] = [
    (
        "pagefold_build_info",
        Kind::Gauge,
        "The pagefold version that wrote these metrics, as a label; always 1.",
    ),
    (
        "pagefold_runs_total",
        Kind::Counter,
        "Runs of the job by how they ended (ok, warnings, partial, failed, interrupted), and scheduled runs not run (skipped, missed), as its history records them.",
    ),
    (
        "pagefold_last_success_timestamp_seconds",
        Kind::Gauge,
        "When the job's last ok run ended, in seconds since the Unix epoch.",
    ),
    (
        "pagefold_last_failure_timestamp_seconds",
        Kind::Gauge,
        "When the job's last failed run ended, in seconds since the Unix epoch.",
    ),
    (
        "pagefold_next_run_timestamp_seconds",
        Kind::Gauge,
        "The job's next scheduled time, in seconds since the Unix epoch.",
    ),
    (
        "pagefold_schedule_interval_seconds",
        Kind::Gauge,
        "Seconds from the job's last scheduled time to its next one.",
    ),
    (
        "pagefold_running",
        Kind::Gauge,
        "1 while a run of the job runs in this scheduler, else 0.",
    ),
    (
        "pagefold_run_duration_seconds",
        Kind::Histogram,
        "How long the job's runs took (ok, partial, failed and interrupted ones).",
    ),
    (
        "pagefold_pages_total",
        Kind::Counter,
        "Pages the job's runs reduced.",
    ),
    (
        "pagefold_records_total",
        Kind::Counter,
        "Records the job's runs reduced.",
    ),
    (
        "pagefold_requests_total",
        Kind::Counter,
        "HTTP requests the job's runs made, retries included.",
    ),
    (
        "pagefold_retries_total",
        Kind::Counter,
        "Requests the job's runs retried.",
    ),
    (
        "pagefold_waited_seconds_total",
        Kind::Counter,
        "Seconds the job's runs waited on the API's behalf: backoff, Retry-After, rate limits.",
    ),
];

/// What the scheduler knows of a job now.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// The job.
    pub job: String,
    /// Whether a run of it runs.
    pub running: bool,
    /// Its next scheduled time.
    pub next: Option<DateTime<Utc>>,
    /// From its last scheduled time to its next.
    pub interval: Option<Duration>,
}

/// One job's metrics.
#[derive(Debug, Clone, Default)]
struct JobMetrics {
    runs: [u64; Status::ALL.len()],
    last_success: Option<DateTime<Utc>>,
    last_failure: Option<DateTime<Utc>>,
    /// Runs a duration bucket, the last one above every bound.
    durations: [u64; DURATION_BUCKETS.len() + 1],
    seconds: f64,
    pages: u64,
    records: u64,
    requests: u64,
    retries: u64,
    waited_seconds: f64,
    live: Option<Live>,
}

impl JobMetrics {
    fn add(&mut self, entry: &HistoryEntry) {
        let index = Status::ALL
            .iter()
            .position(|status| *status == entry.status)
            .expect("every status is in ALL");
        self.runs[index] += 1;
        let latest = |last: &mut Option<DateTime<Utc>>| {
            *last = Some(last.map_or(entry.ended, |last| last.max(entry.ended)));
        };
        match entry.status {
            // A run with warnings wrote its result all the same.
            Status::Ok | Status::Warnings => latest(&mut self.last_success),
            Status::Failed => latest(&mut self.last_failure),
            _ => {}
        }
        if matches!(
            entry.status,
            Status::Ok | Status::Warnings | Status::Partial | Status::Failed | Status::Interrupted
        ) {
            let seconds = entry.seconds();
            let bucket = DURATION_BUCKETS
                .iter()
                .position(|bound| seconds <= *bound)
                .unwrap_or(DURATION_BUCKETS.len());
            self.durations[bucket] += 1;
            self.seconds += seconds;
        }
        self.pages += entry.pages;
        self.records += entry.records;
        self.requests += entry.requests;
        self.retries += entry.retries;
        self.waited_seconds += entry.waited_seconds;
    }
}

/// The metrics of every job this process observes; shared by the scheduler, the `/metrics`
/// endpoint and the writers of files and pushes.
#[derive(Debug, Default)]
pub struct Metrics {
    registry: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    jobs: BTreeMap<String, JobMetrics>,
    /// Goes up with every change, so that writers know whether there is news.
    version: u64,
}

impl Metrics {
    fn with<T>(&self, action: impl FnOnce(&mut Registry) -> T) -> T {
        let mut registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        action(&mut registry)
    }

    /// Whether `job` is known.
    pub fn knows(&self, job: &str) -> bool {
        self.with(|registry| registry.jobs.contains_key(job))
    }

    /// Sets the history-based metrics of `job` from its whole history (what the scheduler
    /// knows of it now stays).
    pub fn seed(&self, job: &str, history: &[HistoryEntry]) {
        let mut seeded = JobMetrics::default();
        for entry in history.iter().filter(|entry| entry.job == job) {
            seeded.add(entry);
        }
        self.with(|registry| {
            seeded.live = registry.jobs.remove(job).and_then(|old| old.live);
            registry.jobs.insert(job.to_owned(), seeded);
            registry.version += 1;
        });
    }

    /// Adds a run (or a scheduled run not run) that its history just recorded.
    pub fn record(&self, entry: &HistoryEntry) {
        self.with(|registry| {
            registry
                .jobs
                .entry(entry.job.clone())
                .or_default()
                .add(entry);
            registry.version += 1;
        });
    }

    /// What the scheduler knows now, of every job it schedules: jobs it no longer schedules
    /// are dropped.
    pub fn set_live(&self, live: Vec<Live>) {
        self.with(|registry| {
            let before = registry.jobs.len();
            registry
                .jobs
                .retain(|job, _| live.iter().any(|known| known.job == *job));
            let mut changed = registry.jobs.len() != before;
            for known in live {
                let metrics = registry.jobs.entry(known.job.clone()).or_default();
                if metrics.live.as_ref() != Some(&known) {
                    metrics.live = Some(known);
                    changed = true;
                }
            }
            if changed {
                registry.version += 1;
            }
        });
    }

    /// A number that changes whenever the metrics do.
    pub fn version(&self) -> u64 {
        self.with(|registry| registry.version)
    }

    /// The jobs known, by name.
    pub fn jobs(&self) -> Vec<String> {
        self.with(|registry| registry.jobs.keys().cloned().collect())
    }

    /// Every job's metrics in the text exposition format.
    pub fn render(&self) -> String {
        self.with(|registry| render(registry.jobs.iter()))
    }

    /// One job's metrics (for its Pushgateway group), if it is known.
    pub fn render_job(&self, job: &str) -> Option<String> {
        self.with(|registry| {
            let metrics = registry.jobs.get_key_value(job)?;
            Some(render(std::iter::once(metrics)))
        })
    }
}

fn unix_seconds(time: DateTime<Utc>) -> f64 {
    time.timestamp_millis() as f64 / 1000.0
}

/// The families of [`FAMILIES`] with the samples of `jobs`; a family without a sample is
/// left out.
fn render<'a>(jobs: impl Iterator<Item = (&'a String, &'a JobMetrics)> + Clone) -> String {
    let mut text = Exposition::default();
    for (name, kind, help) in FAMILIES {
        let mut samples = Exposition::default();
        let mut any = false;
        for (job, metrics) in jobs.clone() {
            any |= samples_of(&mut samples, name, job, metrics);
        }
        if name == "pagefold_build_info" {
            samples.sample(name, &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
            any = true;
        }
        if any {
            text.family(name, kind, help);
            text.append(samples);
        }
    }
    text.finish()
}

/// Writes the samples of family `name` for `job`; whether there were any.
fn samples_of(out: &mut Exposition, name: &str, job: &str, metrics: &JobMetrics) -> bool {
    let labels = [("job_name", job)];
    let live = metrics.live.as_ref();
    let gauge = |out: &mut Exposition, value: Option<f64>| match value {
        Some(value) => {
            out.sample(name, &labels, value);
            true
        }
        None => false,
    };
    match name {
        "pagefold_runs_total" => {
            for (status, count) in Status::ALL.iter().zip(metrics.runs) {
                out.sample(
                    name,
                    &[("job_name", job), ("status", status.as_str())],
                    count as f64,
                );
            }
            true
        }
        "pagefold_last_success_timestamp_seconds" => {
            gauge(out, metrics.last_success.map(unix_seconds))
        }
        "pagefold_last_failure_timestamp_seconds" => {
            gauge(out, metrics.last_failure.map(unix_seconds))
        }
        "pagefold_next_run_timestamp_seconds" => {
            gauge(out, live.and_then(|live| live.next).map(unix_seconds))
        }
        "pagefold_schedule_interval_seconds" => gauge(
            out,
            live.and_then(|live| live.interval)
                .map(|interval| interval.as_secs_f64()),
        ),
        "pagefold_running" => gauge(out, live.map(|live| if live.running { 1.0 } else { 0.0 })),
        "pagefold_run_duration_seconds" => {
            out.histogram(
                name,
                &labels,
                &DURATION_BUCKETS,
                &metrics.durations,
                metrics.seconds,
            );
            true
        }
        "pagefold_pages_total" => gauge(out, Some(metrics.pages as f64)),
        "pagefold_records_total" => gauge(out, Some(metrics.records as f64)),
        "pagefold_requests_total" => gauge(out, Some(metrics.requests as f64)),
        "pagefold_retries_total" => gauge(out, Some(metrics.retries as f64)),
        "pagefold_waited_seconds_total" => gauge(out, Some(metrics.waited_seconds)),
        _ => false,
    }
}
