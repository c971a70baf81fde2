//! `[fetch]`: how hard to push the API, and how patiently.

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::Problem;

/// `[fetch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchSpec {
    /// Requests in flight at most.
    #[serde(default = "default_concurrency")]
    pub concurrency: Spanned<usize>,
    /// Limit for a whole request, e.g. `"30s"`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Limit for establishing a connection.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Attempts after the first, on connection errors, timeouts, 429 and 5xx.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Waits between attempts.
    #[serde(default)]
    pub backoff: BackoffSpec,
    /// The largest page body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body: u64,
    /// Reduce worker threads (default: the number of cores).
    pub workers: Option<Spanned<usize>>,
}

/// `[fetch.backoff]`: exponential backoff with full jitter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffSpec {
    /// The ceiling of the first wait.
    #[serde(default = "default_backoff_base", with = "humantime_serde")]
    pub base: Duration,
    /// The ceiling of every wait.
    #[serde(default = "default_backoff_max", with = "humantime_serde")]
    pub max: Duration,
}

impl Default for BackoffSpec {
    fn default() -> Self {
        Self {
            base: default_backoff_base(),
            max: default_backoff_max(),
        }
    }
}

impl Default for FetchSpec {
    fn default() -> Self {
        Self {
            concurrency: default_concurrency(),
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            retries: default_retries(),
            backoff: BackoffSpec::default(),
            max_body: default_max_body(),
            workers: None,
        }
    }
}

fn default_concurrency() -> Spanned<usize> {
    Spanned::new(0..0, 16)
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_retries() -> u32 {
    3
}
fn default_backoff_base() -> Duration {
    Duration::from_millis(200)
}
fn default_backoff_max() -> Duration {
    Duration::from_secs(30)
}
fn default_max_body() -> u64 {
    64 * 1024 * 1024
}

/// More requests in flight than this is a typo, not a plan.
const MAX_CONCURRENCY: usize = 4096;

impl FetchSpec {
    pub(crate) fn check(&self, table: Range<usize>, problems: &mut Vec<Problem>) {
        let concurrency = *self.concurrency.get_ref();
        if concurrency == 0 || concurrency > MAX_CONCURRENCY {
            problems.push(Problem::new(
                self.concurrency.span(),
                format!("`concurrency` must be from 1 to {MAX_CONCURRENCY}, not {concurrency}"),
            ));
        }
        if let Some(workers) = &self.workers
            && (*workers.get_ref() == 0 || *workers.get_ref() > 256)
        {
            problems.push(Problem::new(
                workers.span(),
                "`workers` must be from 1 to 256",
            ));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            problems.push(Problem::new(
                table.clone(),
                "timeouts must be longer than zero",
            ));
        }
        if self.backoff.base > self.backoff.max {
            problems.push(Problem::new(
                table,
                "`backoff.base` must not exceed `backoff.max`",
            ));
        }
    }

    /// The options the fetcher runs with.
    pub fn to_fetch(&self) -> pagefold_fetch::FetchOptions {
        pagefold_fetch::FetchOptions {
            concurrency: *self.concurrency.get_ref(),
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            retries: self.retries,
            backoff: pagefold_fetch::Backoff {
                base: self.backoff.base,
                max: self.backoff.max,
            },
            max_body: self.max_body,
            ..pagefold_fetch::FetchOptions::default()
        }
    }
}
