//! The [`Observer`]: the one handle on metrics, their files and pushes, and webhooks that
//! the scheduler and `pagefold run` hold (see the module above).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

use super::background::Background;
use super::error;
use super::metrics::{Live, Metrics};
use super::pushgateway::Pushgateway;
use super::textfile;
use super::webhooks::Webhooks;
use crate::job::{AlertsSpec, Job};
use crate::state::JobState;
use crate::state::history::HistoryEntry;

/// How long a process about to exit waits for alerts and pushes still under way.
pub const FINISH_WITHIN: Duration = Duration::from_secs(30);

/// Where the metrics and alerts go, besides the `/metrics` endpoint (which serves
/// [`Observer::metrics`]).
#[derive(Debug, Clone, Default)]
pub struct ObserveOptions {
    /// Write the metrics to this file (textfile collector), whenever they change.
    pub metrics_file: Option<PathBuf>,
    /// Push the metrics to this Pushgateway, whenever they change.
    pub pushgateway: Option<Url>,
    /// The alerts of every job, where its own `[alerts]` says nothing (`--alerts FILE`).
    pub alerts: Option<AlertsSpec>,
}

/// See the module's documentation. Clones share everything.
#[derive(Clone, Default)]
pub struct Observer {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    metrics: Arc<Metrics>,
    metrics_file: Option<PathBuf>,
    pushgateway: Option<Arc<Pushgateway>>,
    webhooks: Webhooks,
    background: Arc<Background>,
    /// The metrics' version last written and pushed.
    published: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("jobs", &self.inner.metrics.jobs())
            .field("metrics_file", &self.inner.metrics_file)
            .field("pushgateway", &self.inner.pushgateway.is_some())
            .field("background", &self.inner.background)
            .finish()
    }
}

impl Observer {
    /// An observer that sends where `options` say.
    pub fn new(options: ObserveOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                metrics: Arc::default(),
                metrics_file: options.metrics_file,
                pushgateway: options
                    .pushgateway
                    .map(|url| Arc::new(Pushgateway::new(url))),
                webhooks: Webhooks::new(options.alerts),
                background: Arc::default(),
                published: Mutex::default(),
            }),
        }
    }

    /// The metrics, for the `/metrics` endpoint and tests.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Starts a job's metrics from its history, unless they are known already (a job read
    /// again after an edit goes on from where it was).
    pub fn seed(&self, job: &str, state: &JobState) {
        if self.inner.metrics.knows(job) {
            return;
        }
        let history = state.history().unwrap_or_else(|error| {
            crate::terminal::warn(&format!(
                "the metrics of `{job}` start from zero: its history cannot be read: {}",
                error::describe(&error)
            ));
            Vec::new()
        });
        self.inner.metrics.seed(job, &history);
    }

    /// A run (or a scheduled run not run) that its history recorded: counted, and alerted if
    /// the job wants it told.
    pub fn record(&self, job: &Job, entry: &HistoryEntry) {
        self.inner.metrics.record(entry);
        self.alert(job, entry);
    }

    /// The run of a process that runs one job (`pagefold run`): the job's metrics from its
    /// history (`state`, when there is one), which holds the run unless it could not be
    /// appended, when they go to a file or a Pushgateway; and its alert.
    pub fn one_run(&self, job: &Job, state: Option<&JobState>, entry: &HistoryEntry) {
        self.alert(job, entry);
        if self.inner.metrics_file.is_none() && self.inner.pushgateway.is_none() {
            return;
        }
        let history = state
            .and_then(|state| state.history().ok())
            .unwrap_or_default();
        self.inner.metrics.seed(&job.name, &history);
        if !history
            .iter()
            .any(|seen| seen.run_id == entry.run_id && seen.job == entry.job)
        {
            self.inner.metrics.record(entry);
        }
    }

    /// Posts the alert of a run, if the job (or the scheduler's `--alerts`) wants it told;
    /// returns at once.
    pub fn alert(&self, job: &Job, entry: &HistoryEntry) {
        self.inner
            .webhooks
            .alert(&self.inner.background, job, entry);
    }

    /// What the scheduler knows of its jobs now (see [`Metrics::set_live`]).
    pub fn set_live(&self, live: Vec<Live>) {
        self.inner.metrics.set_live(live);
    }

    /// Writes the metrics file and pushes to the Pushgateway, if the metrics changed since
    /// the last time. The file is written now; the push goes on the background thread.
    pub fn publish(&self) {
        let version = self.inner.metrics.version();
        {
            let mut published = self
                .inner
                .published
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *published == Some(version) {
                return;
            }
            *published = Some(version);
        }
        if let Some(path) = &self.inner.metrics_file
            && let Err(error) = textfile::write(path, &self.inner.metrics.render())
        {
            crate::terminal::warn(&error::describe(&error));
        }
        if let Some(gateway) = &self.inner.pushgateway {
            let groups = self
                .inner
                .metrics
                .jobs()
                .into_iter()
                .filter_map(|job| {
                    let text = self.inner.metrics.render_job(&job)?;
                    Some((job, text))
                })
                .collect();
            gateway.push(&self.inner.background, groups);
        }
    }

    /// Deliveries (alerts, pushes) handed over and not yet ended.
    pub fn pending(&self) -> usize {
        self.inner.background.pending()
    }

    /// Publishes what changed, then waits until every delivery has ended or `within` has
    /// passed, for a process about to exit; warns of those it leaves behind.
    pub fn finish(&self, within: Duration) {
        self.publish();
        let left = self.inner.background.wait(within);
        if left > 0 {
            crate::terminal::warn(&format!(
                "{left} deliver{} (alerts, metrics pushes) still under way after {within:?}: given up",
                if left == 1 { "y" } else { "ies" },
            ));
        }
    }
}
