//! Pushing the metrics to a Prometheus Pushgateway, for runs that no server scrapes (`pagefold
//! run`, `pagefold schedule --once` from cron or a Kubernetes CronJob). Each job is a group of
//! its own, `PUT {URL}/metrics/job/pagefold/job_name/{name}`, so that pushes of different jobs
//! never replace each other; its counters come from its whole history, so they only go up from
//! push to push.
//!
//! Pushes go on the background thread. Only the latest metrics of a job matter: while a push is
//! under way, newer metrics replace older ones still waiting, so a slow gateway never makes a
//! queue.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use url::Url;

use super::background::Background;
use super::delivery::{Request, deliver};
use super::error::describe;
use crate::job::Delivery;

/// The text format the Pushgateway reads.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A push is retried, briefly: the next run pushes again anyway.
const DELIVERY: Delivery = Delivery {
    retries: 3,
    backoff: pagefold_fetch::Backoff {
        base: Duration::from_millis(500),
        max: Duration::from_secs(5),
    },
    timeout: Duration::from_secs(10),
};

/// See the module's documentation.
#[derive(Debug)]
pub(crate) struct Pushgateway {
    base: Url,
    waiting: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    /// The latest metrics of each job not pushed yet.
    groups: BTreeMap<String, String>,
    /// Whether a pusher task runs (it takes what waits until nothing does).
    pushing: bool,
}

impl Pushgateway {
    /// A gateway at `base` (`http://pushgateway:9091`, maybe with a path prefix). A password
    /// in it is a secret.
    pub(crate) fn new(base: Url) -> Self {
        if let Some(password) = base.password() {
            crate::secrets::register(password);
        }
        Self {
            base,
            waiting: Mutex::default(),
        }
    }

    /// The group URL of `job`: `…/metrics/job/pagefold/job_name/NAME`, or
    /// `job_name@base64/…` for a name that is not a plain path segment.
    pub(crate) fn group_url(&self, job: &str) -> Url {
        let mut url = self.base.clone();
        let plain = !job.is_empty()
            && job
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && job != "."
            && job != "..";
        let encoded;
        let (label, value) = if plain {
            ("job_name", job)
        } else {
            encoded = base64::engine::general_purpose::URL_SAFE.encode(job);
            ("job_name@base64", encoded.as_str())
        };
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["metrics", "job", "pagefold", label, value]);
        }
        url
    }

    /// Pushes these groups (job, metrics text) soon, on the background thread.
    pub(crate) fn push(
        self: &Arc<Self>,
        background: &Arc<Background>,
        groups: Vec<(String, String)>,
    ) {
        let mut waiting = self.lock();
        waiting.groups.extend(groups);
        if waiting.pushing || waiting.groups.is_empty() {
            return;
        }
        waiting.pushing = true;
        drop(waiting);
        let (this, pool) = (self.clone(), background.clone());
        background.spawn(async move {
            loop {
                let groups = {
                    let mut waiting = this.lock();
                    if waiting.groups.is_empty() {
                        waiting.pushing = false;
                        return;
                    }
                    std::mem::take(&mut waiting.groups)
                };
                for (job, body) in groups {
                    let request = Request {
                        method: reqwest::Method::PUT,
                        url: this.group_url(&job),
                        content_type: CONTENT_TYPE,
                        headers: Vec::new(),
                        body,
                    };
                    if let Err(error) = deliver(pool.client(), &request, DELIVERY).await {
                        crate::terminal::warn(&format!(
                            "the metrics of `{job}` could not be pushed to `{}`: it {}",
                            crate::secrets::redact(request.url.as_str()),
                            describe(&error)
                        ));
                    }
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_job_is_a_group_and_odd_names_are_base64() {
        let gateway = Pushgateway::new(Url::parse("http://gw:9091/prefix/").unwrap());
        assert_eq!(
            gateway.group_url("orders").as_str(),
            "http://gw:9091/prefix/metrics/job/pagefold/job_name/orders"
        );
        assert_eq!(
            gateway.group_url("a/b c").as_str(),
            "http://gw:9091/prefix/metrics/job/pagefold/job_name@base64/YS9iIGM="
        );
    }
}
