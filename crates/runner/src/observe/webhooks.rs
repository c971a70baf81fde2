//! Webhooks: each run's alert, posted to the URL its job's `[alerts]` names for how it ended
//! (or, for a key the job leaves out, the scheduler's `--alerts` file), on the background
//! thread so that the scheduler never waits for a receiver. One alert a run: a run already
//! alerted (by job and run id) is never alerted again, and every attempt of one alert carries
//! the same `Idempotency-Key`.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use reqwest::header::HeaderName;

use super::background::Background;
use super::delivery::{Request, deliver};
use super::error::describe;
use super::payload::{Payload, kind_of};
use crate::job::{AlertKind, AlertsSpec, Delivery, Job};
use crate::state::history::HistoryEntry;

/// Runs remembered as alerted: far more than can be in flight at once.
const REMEMBERED: usize = 10_000;

/// The scheduler's webhooks: its defaults, and the runs alerted.
#[derive(Debug, Default)]
pub(crate) struct Webhooks {
    defaults: Option<AlertsSpec>,
    alerted: Mutex<Alerted>,
}

#[derive(Debug, Default)]
struct Alerted {
    runs: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

impl Alerted {
    /// Remembers the run; whether it is new.
    fn first(&mut self, job: &str, run_id: &str) -> bool {
        let key = (job.to_owned(), run_id.to_owned());
        if !self.runs.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.runs.remove(&oldest);
        }
        true
    }
}

impl Webhooks {
    /// Webhooks with the scheduler's defaults (`--alerts FILE`).
    pub(crate) fn new(defaults: Option<AlertsSpec>) -> Self {
        Self {
            defaults,
            alerted: Mutex::default(),
        }
    }

    /// The URL and delivery for `kind`: the job's, else the defaults'.
    fn target(&self, job: &Job, kind: AlertKind) -> Option<(url::Url, Delivery)> {
        [job.alerts.as_ref(), self.defaults.as_ref()]
            .into_iter()
            .flatten()
            .find_map(|spec| Some((spec.url(kind)?.clone(), spec.delivery)))
    }

    /// Posts the alert of `entry`, if its job wants one of that kind and the run was not
    /// alerted yet; returns at once. Whether one was handed over.
    pub(crate) fn alert(
        &self,
        background: &Arc<Background>,
        job: &Job,
        entry: &HistoryEntry,
    ) -> bool {
        let Some(kind) = kind_of(entry) else {
            return false;
        };
        let Some((url, delivery)) = self.target(job, kind) else {
            return false;
        };
        let first = self
            .alerted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .first(&entry.job, &entry.run_id);
        if !first {
            return false;
        }
        let key: String = url::form_urlencoded::byte_serialize(entry.job.as_bytes())
            .chain(["/", entry.run_id.as_str()])
            .collect();
        let request = Request {
            method: reqwest::Method::POST,
            url,
            content_type: "application/json",
            headers: vec![(HeaderName::from_static("idempotency-key"), key)],
            body: Payload::new(kind, entry).to_json(),
        };
        let (job_name, run_id) = (entry.job.clone(), entry.run_id.clone());
        let this = background.clone();
        background.spawn(async move {
            if let Err(error) = deliver(this.client(), &request, delivery).await {
                crate::terminal::warn(&format!(
                    "the {} webhook of `{job_name}` did not take the alert of run {run_id}: it {}",
                    kind.key(),
                    describe(&error)
                ));
            }
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_alerted_once() {
        let mut alerted = Alerted::default();
        assert!(alerted.first("a", "r1"));
        assert!(!alerted.first("a", "r1"));
        assert!(alerted.first("b", "r1"), "another job's run of the same id");
        for index in 0..REMEMBERED {
            alerted.first("c", &index.to_string());
        }
        assert!(alerted.order.len() <= REMEMBERED);
        assert!(alerted.first("a", "r1"), "forgotten long after");
    }
}
