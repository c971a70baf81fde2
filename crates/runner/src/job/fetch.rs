//! `[fetch]`: how hard to push the API, and how patiently.

use std::num::{NonZeroU32, NonZeroUsize};
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::Problem;

/// `[fetch]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchSpec {
    /// Requests in flight at most.
    #[serde(default = "default_concurrency")]
    #[schemars(with = "usize")]
    pub concurrency: Spanned<usize>,
    /// Limit for a whole request, e.g. `"30s"`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Limit for establishing a connection.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    #[schemars(with = "String")]
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
    /// Reduce worker threads (default: with a plugin or `map`, the number of cores; else none:
    /// built-ins fold beside the requests, on the fetching thread).
    #[schemars(with = "Option<usize>")]
    pub workers: Option<Spanned<usize>>,
    /// At most this many requests per period over the whole job, e.g. `"20/s"`.
    pub rate: Option<RateSpec>,
    /// Requests that may go at once after a quiet spell under `rate` (default 1: evenly
    /// spaced).
    #[serde(default = "default_burst")]
    pub burst: NonZeroU32,
    /// The longest wait honoured when the API asks for one (`Retry-After`, a rate limit's
    /// reset), e.g. `"5m"` (the default). A longer one ends the run with an error that names
    /// it; with a checkpoint, the same command resumes later.
    #[serde(default = "default_max_retry_after", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub max_retry_after: Duration,
    /// The run's budget, e.g. `"2h"` (default: none). Past it, the run ends the same way as
    /// after too long a wait.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub deadline: Option<Duration>,
}

/// `rate = "20/s"`: a count and a period (`s`, `min`, `h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    /// Requests…
    pub count: NonZeroU32,
    /// …per this long.
    pub per: Duration,
}

impl<'de> Deserialize<'de> for RateSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for RateSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rate".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Requests per period, e.g. \"20/s\", \"100/min\" or \"5000/h\".",
            "pattern": "^\\s*[1-9][0-9]*\\s*/\\s*(s|sec|second|m|min|minute|h|hour)\\s*$"
        })
    }
}

impl std::str::FromStr for RateSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad =
            || format!("`{text}` is not a rate: write it like \"20/s\", \"100/min\" or \"5000/h\"");
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Self { count, per })
    }
}

/// `[fetch.backoff]`: exponential backoff with full jitter.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackoffSpec {
    /// The ceiling of the first wait.
    #[serde(default = "default_backoff_base", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub base: Duration,
    /// The ceiling of every wait.
    #[serde(default = "default_backoff_max", with = "humantime_serde")]
    #[schemars(with = "String")]
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
            rate: None,
            burst: default_burst(),
            max_retry_after: default_max_retry_after(),
            deadline: None,
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
fn default_burst() -> NonZeroU32 {
    NonZeroU32::MIN
}
fn default_max_retry_after() -> Duration {
    pagefold_fetch::DEFAULT_MAX_RETRY_AFTER
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
        for (key, timeout) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("deadline", self.deadline.unwrap_or(Duration::MAX)),
        ] {
            if timeout.is_zero() {
                problems.push(
                    Problem::new(table.clone(), format!("`{key}` must be longer than zero"))
                        .at_key(key)
                        .hint("write it like \"30s\" or \"2m\""),
                );
            }
        }
        if self.max_body == 0 || self.max_body > u64::from(u32::MAX) {
            problems.push(
                Problem::new(table.clone(), "`max_body` must be from 1 byte to 4 GiB")
                    .at_key("max_body"),
            );
        }
        if self.backoff.base > self.backoff.max {
            problems.push(
                Problem::new(table, "`backoff.base` must not exceed `backoff.max`")
                    .at_key("backoff"),
            );
        }
    }

    /// The checked settings; `check` has refused what they cannot hold.
    pub(crate) fn validated(&self, on_error: super::OnErrorSpec) -> FetchSettings {
        let concurrency =
            NonZeroUsize::new(*self.concurrency.get_ref()).unwrap_or(NonZeroUsize::MIN);
        FetchSettings {
            concurrency,
            workers: self
                .workers
                .as_ref()
                .and_then(|workers| NonZeroUsize::new(*workers.get_ref())),
            options: self.to_fetch(concurrency, on_error),
        }
    }

    fn to_fetch(
        &self,
        concurrency: NonZeroUsize,
        on_error: super::OnErrorSpec,
    ) -> pagefold_fetch::FetchOptions {
        pagefold_fetch::FetchOptions {
            concurrency: concurrency.get(),
            on_error: match on_error {
                super::OnErrorSpec::Fail => pagefold_fetch::OnError::Fail,
                super::OnErrorSpec::Skip => pagefold_fetch::OnError::Skip,
            },
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            retries: self.retries,
            backoff: pagefold_fetch::Backoff {
                base: self.backoff.base,
                max: self.backoff.max,
            },
            max_body: self.max_body,
            max_retry_after: self.max_retry_after,
            deadline: self.deadline,
            rate: self.rate.map(|rate| pagefold_fetch::Rate {
                count: rate.count,
                per: rate.per,
                burst: self.burst,
            }),
            ..pagefold_fetch::FetchOptions::default()
        }
    }
}

/// `[fetch]` as a run uses it: checked, with the job's `on_error`.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    concurrency: NonZeroUsize,
    workers: Option<NonZeroUsize>,
    options: pagefold_fetch::FetchOptions,
}

impl FetchSettings {
    /// Requests in flight at most, over all chains.
    pub fn concurrency(&self) -> usize {
        self.concurrency.get()
    }

    /// Reduce worker threads, if the job sets them.
    pub fn workers(&self) -> Option<usize> {
        self.workers.map(NonZeroUsize::get)
    }

    /// What the fetcher runs with.
    pub fn options(&self) -> &pagefold_fetch::FetchOptions {
        &self.options
    }
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSpec::default().validated(super::OnErrorSpec::Fail)
    }
}
