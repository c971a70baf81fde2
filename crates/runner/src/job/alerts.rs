//! `[alerts]`: the URLs told when a run of the job fails, is missed, warns or succeeds (a JSON
//! POST each, Slack and Mattermost read its `text`), and how patiently to tell them. The same
//! table, alone in a file, is `pagefold schedule --alerts FILE`: the scheduler's defaults, which
//! a job's own keys override one by one.
//!
//! ```toml
//! [alerts]
//! on_failure = "${env.SLACK_WEBHOOK_URL}"   # a run failed
//! on_missed = "${env.SLACK_WEBHOOK_URL}"    # a scheduled run was missed
//! on_warning = "https://ops.example/hook"   # skipped pages, warnings, a run skipped
//! on_success = "https://ops.example/hook"   # a run finished without a warning
//! retries = 5                               # attempts after the first (default 5)
//! backoff = { base = "1s", max = "1m" }     # exponential with full jitter
//! timeout = "10s"                           # a whole attempt
//! ```
//!
//! Webhook URLs are secrets (a Slack webhook URL is its own credential): each is registered
//! with [`crate::secrets`] and never shown.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::{JobError, Problem};

/// Which of the four URLs an alert goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// `on_failure`: a run failed.
    Failure,
    /// `on_missed`: a scheduled run was missed.
    Missed,
    /// `on_warning`: a run skipped pages or warned, or a scheduled run was skipped.
    Warning,
    /// `on_success`: a run finished without a warning.
    Success,
}

impl AlertKind {
    /// The key of `[alerts]` that names its URL.
    pub fn key(self) -> &'static str {
        match self {
            Self::Failure => "on_failure",
            Self::Missed => "on_missed",
            Self::Warning => "on_warning",
            Self::Success => "on_success",
        }
    }

    /// The word in the alert's `event` field: `failure`, `missed`, `warning`, `success`.
    pub fn event(self) -> &'static str {
        &self.key()["on_".len()..]
    }
}

/// How an alert is delivered: attempts, the waits between them, and each attempt's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Attempts after the first, on connection errors, timeouts, 408, 429 and 5xx.
    pub retries: u32,
    /// The waits between attempts.
    pub backoff: pagefold_fetch::Backoff,
    /// The limit of one attempt.
    pub timeout: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            retries: default_retries(),
            backoff: pagefold_fetch::Backoff {
                base: default_backoff_base(),
                max: default_backoff_max(),
            },
            timeout: default_timeout(),
        }
    }
}

/// `[alerts]`, checked: the URLs (http or https) and how to deliver to them.
#[derive(Debug, Clone)]
pub struct AlertsSpec {
    on_failure: Option<Url>,
    on_missed: Option<Url>,
    on_warning: Option<Url>,
    on_success: Option<Url>,
    /// How alerts to these URLs are delivered.
    pub delivery: Delivery,
}

impl AlertsSpec {
    /// The URL of `kind`, if the table names one.
    pub fn url(&self, kind: AlertKind) -> Option<&Url> {
        match kind {
            AlertKind::Failure => self.on_failure.as_ref(),
            AlertKind::Missed => self.on_missed.as_ref(),
            AlertKind::Warning => self.on_warning.as_ref(),
            AlertKind::Success => self.on_success.as_ref(),
        }
    }
}

/// `[alerts]` as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertsEntry {
    /// A webhook URL told when a run fails.
    #[schemars(with = "Option<String>")]
    on_failure: Option<Spanned<String>>,
    /// A webhook URL told when a scheduled run is missed.
    #[schemars(with = "Option<String>")]
    on_missed: Option<Spanned<String>>,
    /// A webhook URL told of skipped pages, warnings in the result, a skipped run.
    #[schemars(with = "Option<String>")]
    on_warning: Option<Spanned<String>>,
    /// A webhook URL told when a run finishes without a warning.
    #[schemars(with = "Option<String>")]
    on_success: Option<Spanned<String>>,
    /// Retries of a delivery (default 5) on connection errors, timeouts, 408, 429, 5xx.
    #[serde(default = "default_retries")]
    retries: u32,
    /// Backoff between deliveries: exponential with full jitter (default 1s up to 1m).
    #[serde(default)]
    backoff: BackoffEntry,
    /// The time one delivery may take (default "10s").
    #[serde(default = "default_timeout", with = "humantime_serde")]
    #[schemars(with = "String")]
    timeout: Duration,
}

/// `backoff = { base, max }` of `[alerts]`: slower than a page's, since a receiver that is
/// down is usually down for a while.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct BackoffEntry {
    /// The first wait (default "1s").
    #[serde(default = "default_backoff_base", with = "humantime_serde")]
    #[schemars(with = "String")]
    base: Duration,
    /// The longest wait (default "1m").
    #[serde(default = "default_backoff_max", with = "humantime_serde")]
    #[schemars(with = "String")]
    max: Duration,
}

impl Default for BackoffEntry {
    fn default() -> Self {
        Self {
            base: default_backoff_base(),
            max: default_backoff_max(),
        }
    }
}

fn default_retries() -> u32 {
    5
}
fn default_backoff_base() -> Duration {
    Duration::from_secs(1)
}
fn default_backoff_max() -> Duration {
    Duration::from_secs(60)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// More attempts than this is a typo: with the default backoff they already span an hour.
const MAX_RETRIES: u32 = 60;

impl AlertsEntry {
    /// The checked table, or `None` after reporting its problems.
    pub(crate) fn check(
        self,
        span: std::ops::Range<usize>,
        problems: &mut Vec<Problem>,
    ) -> Option<AlertsSpec> {
        let before = problems.len();
        let on_failure = check_url("on_failure", self.on_failure, problems);
        let on_missed = check_url("on_missed", self.on_missed, problems);
        let on_warning = check_url("on_warning", self.on_warning, problems);
        let on_success = check_url("on_success", self.on_success, problems);
        if problems.len() == before
            && [&on_failure, &on_missed, &on_warning, &on_success]
                .iter()
                .all(|url| url.is_none())
        {
            problems.push(
                Problem::new(span.clone(), "`[alerts]` names no URL")
                    .hint("add on_failure, on_missed, on_warning or on_success = \"https://…\""),
            );
        }
        if self.retries > MAX_RETRIES {
            problems.push(Problem::new(
                span.clone(),
                format!(
                    "`retries` is {}, at most {MAX_RETRIES} makes sense",
                    self.retries
                ),
            ));
        }
        if self.backoff.base > self.backoff.max {
            problems.push(Problem::new(
                span.clone(),
                "`backoff.base` is longer than `backoff.max`",
            ));
        }
        if self.timeout.is_zero() {
            problems.push(Problem::new(span, "`timeout` must be longer than 0s"));
        }
        (problems.len() == before).then_some(AlertsSpec {
            on_failure,
            on_missed,
            on_warning,
            on_success,
            delivery: Delivery {
                retries: self.retries,
                backoff: pagefold_fetch::Backoff {
                    base: self.backoff.base,
                    max: self.backoff.max,
                },
                timeout: self.timeout,
            },
        })
    }
}

/// An http or https URL, registered as a secret; a problem at its place otherwise.
fn check_url(
    key: &str,
    value: Option<Spanned<String>>,
    problems: &mut Vec<Problem>,
) -> Option<Url> {
    let value = value?;
    let span = value.span();
    let text = value.into_inner();
    match Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            crate::secrets::register(&text);
            crate::secrets::register(url.as_str());
            Some(url)
        }
        _ => {
            problems.push(
                Problem::new(span, format!("`{key}` is not an http or https URL")).hint(
                    "write the webhook's whole URL, e.g. \"https://hooks.slack.com/services/…\"",
                ),
            );
            None
        }
    }
}

/// A file that holds an `[alerts]` table alone, for `pagefold schedule --alerts FILE`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AlertsFile {
    #[schemars(with = "AlertsEntry")]
    alerts: Spanned<AlertsEntry>,
}

/// Reads the `[alerts]` table of `path` (with `${env.…}` as in a job file).
///
/// # Errors
///
/// When the file cannot be read, or its table is not valid; the error names the line and
/// column.
pub fn load_alerts_file(path: &Path) -> Result<AlertsSpec, JobError> {
    let text = std::fs::read_to_string(path).map_err(|source| JobError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |span: std::ops::Range<usize>, message: String, hint: Option<String>| {
        JobError::Invalid(Box::new(super::locate(
            path,
            &text,
            span,
            crate::secrets::redact(&message),
            hint,
        )))
    };
    let expanded = super::env::expand(&text, |name| std::env::var(name).ok())
        .map_err(|problem| invalid(problem.span, problem.message, problem.hint))?;
    let locate = |span: std::ops::Range<usize>, message: String, hint: Option<String>| {
        invalid(
            expanded.original(span.start)..expanded.original(span.end),
            message,
            hint,
        )
    };
    let file: AlertsFile = toml::from_str(&expanded.text).map_err(|error| {
        let (message, hint) = super::wording::explain(error.message().trim());
        locate(error.span().unwrap_or(0..0), message, hint)
    })?;
    let span = file.alerts.span();
    let mut problems = Vec::new();
    let spec = file.alerts.into_inner().check(span, &mut problems);
    match (spec, problems.into_iter().next()) {
        (Some(spec), None) => Ok(spec),
        (_, Some(problem)) => Err(locate(problem.span, problem.message, problem.hint)),
        (None, None) => Err(locate(0..0, "the alerts cannot be used".into(), None)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::job::Job;

    const SOURCE: &str = "[source]\nurl = \"http://127.0.0.1:9/orders\"\n";

    fn error_of(alerts: &str) -> String {
        match Job::parse(Path::new("jobs/x.toml"), &format!("{SOURCE}{alerts}")) {
            Ok(_) => panic!("expected an error for:\n{alerts}"),
            Err(JobError::Invalid(located)) => located.to_string(),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn a_job_names_its_urls_and_the_rest_has_defaults() {
        let text =
            format!("{SOURCE}[alerts]\non_failure = \"https://hooks.example/T0/B0/xyzzy\"\n");
        let job = Job::parse(Path::new("jobs/x.toml"), &text).unwrap();
        let alerts = job.alerts.expect("[alerts]");
        assert_eq!(
            alerts.url(AlertKind::Failure).map(Url::as_str),
            Some("https://hooks.example/T0/B0/xyzzy")
        );
        assert_eq!(alerts.url(AlertKind::Success), None);
        assert_eq!(alerts.delivery, Delivery::default());
        assert_eq!(
            crate::secrets::redact("posted to https://hooks.example/T0/B0/xyzzy"),
            "posted to ****",
            "a webhook URL is a secret"
        );
    }

    #[test]
    fn errors_name_the_key_and_the_place() {
        let cases: &[(&str, &str)] = &[
            (
                "[alerts]\non_failure = \"ftp://x/hook\"\n",
                "jobs/x.toml:4:14: `on_failure` is not an http or https URL",
            ),
            (
                "[alerts]\non_missed = \"hooks.example/x\"\n",
                "jobs/x.toml:4:13: `on_missed` is not an http or https URL",
            ),
            (
                "[alerts]\nretries = 3\n",
                "jobs/x.toml:3:1: `[alerts]` names no URL",
            ),
            (
                "[alerts]\non_sucess = \"http://x/\"\n",
                "jobs/x.toml:4:1: unknown key `on_sucess`",
            ),
            (
                "[alerts]\non_success = \"http://x/\"\nbackoff = { base = \"2m\" }\n",
                "jobs/x.toml:3:1: `backoff.base` is longer than `backoff.max`",
            ),
            (
                "[alerts]\non_success = \"http://x/\"\ntimeout = \"0s\"\n",
                "jobs/x.toml:3:1: `timeout` must be longer than 0s",
            ),
        ];
        for (alerts, expected) in cases {
            assert_eq!(&error_of(alerts), expected, "for:\n{alerts}");
        }
    }

    #[test]
    fn an_alerts_file_is_the_table_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.toml");
        std::fs::write(
            &path,
            "[alerts]\non_missed = \"http://127.0.0.1:9/missed\"\nretries = 2\n",
        )
        .unwrap();
        let alerts = load_alerts_file(&path).unwrap();
        assert!(alerts.url(AlertKind::Missed).is_some());
        assert_eq!(alerts.delivery.retries, 2);
        std::fs::write(&path, "[alerts]\non_missed = \"nope\"\n").unwrap();
        let Err(JobError::Invalid(located)) = load_alerts_file(&path) else {
            panic!("a bad URL is refused");
        };
        assert_eq!((located.line, located.column), (2, 13));
    }
}
