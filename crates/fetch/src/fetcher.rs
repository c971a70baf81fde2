//! The HTTP client, the shared limits, and one page's requests with their retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HeaderMap;

use crate::attempt::{AbortOnDrop, Attempted, HttpRequest};
use crate::client::{ClientOptions, HttpClient};
use crate::limits::{DEFAULT_MAX_RETRY_AFTER, Limits, Rate};
use crate::page_parser::{PageMeta, PageParser};
pub(crate) use crate::page_request::{KeyFor, PageRequest};
use crate::{
    Backoff, FetchError, FetchObserver, Page, PageFailure, RequestObservation, SafeUrl, Source,
    WaitSpans,
};

/// How hard to push an API, and how patiently.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Requests in flight at most, over all chains.
    pub concurrency: usize,
    /// The whole request, connection to last byte of the body.
    pub timeout: Duration,
    /// Establishing a connection.
    pub connect_timeout: Duration,
    /// Attempts after the first, for failures that may pass.
    pub retries: u32,
    /// Waits between attempts.
    pub backoff: Backoff,
    /// The largest body accepted, in bytes.
    pub max_body: u64,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// At most this many requests per period, over all chains.
    pub rate: Option<Rate>,
    /// What a page that fails for good does to the run.
    pub on_error: OnError,
    /// The longest `Retry-After` (or rate-limit reset) honoured: a longer one ends the run
    /// with [`FetchError::WaitTooLong`] rather than leave it asleep for hours.
    pub max_retry_after: Duration,
    /// The run's budget, from the fetcher's creation: past it, or with a wait that would go
    /// past it, the run ends with [`FetchError::Deadline`].
    pub deadline: Option<Duration>,
}

/// What a page that fails for good (after its retries) does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// The run fails (the default): a result is exact or there is none.
    #[default]
    Fail,
    /// The page is listed as skipped and the run goes on; the result says what it lacks.
    Skip,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Backoff::default(),
            max_body: 64 * 1024 * 1024,
            user_agent: concat!("pagefold/", env!("CARGO_PKG_VERSION")).to_owned(),
            rate: None,
            on_error: OnError::Fail,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            deadline: None,
        }
    }
}

/// One HTTP client and the limits all chains of a job share.
#[derive(Debug, Clone)]
pub struct Fetcher {
    pub(crate) client: HttpClient,
    pub(crate) limits: Arc<Limits>,
    pub(crate) options: FetchOptions,
    /// When the run's `deadline` passes, if it has one.
    pub(crate) deadline: Option<Instant>,
}

/// What fetching one page cost.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attempts {
    pub requests: u32,
    /// Time spent in requests, waits not included.
    pub request_time: Duration,
    /// Of the requests, those that had the API to themselves, and their time.
    pub alone: u32,
    pub alone_time: Duration,
    /// When it waited: backoff, `Retry-After`, rate limits, pauses the API asked for.
    pub waits: WaitSpans,
}

impl Fetcher {
    /// Builds the client: connections kept alive and reused (as many idle per host as the
    /// concurrency allows), gzip accepted, TCP_NODELAY set, proxies from the environment.
    ///
    /// # Errors
    ///
    /// When the TLS backend cannot be set up.
    pub fn new(options: FetchOptions) -> Result<Self, FetchError> {
        let concurrency = options.concurrency.max(1);
        let client = HttpClient::new(&ClientOptions {
            user_agent: &options.user_agent,
            connect_timeout: options.connect_timeout,
            idle_per_host: concurrency,
        })
        .map_err(FetchError::Client)?;
        Ok(Self {
            client,
            limits: Arc::new(
                Limits::new(concurrency, options.rate).with_max_pause(options.max_retry_after),
            ),
            deadline: options.deadline.map(|budget| Instant::now() + budget),
            options,
        })
    }

    /// Requests in flight now, over all chains (for a trace's counter).
    pub fn in_flight(&self) -> usize {
        self.limits.in_flight()
    }

    /// The concurrency limit now: the job's, or lower while the API throttles (AIMD).
    pub fn concurrency_limit(&self) -> usize {
        self.limits.current()
    }

    /// When the run's `deadline` passes, if it has one, and the budget it was set from.
    pub fn deadline(&self) -> Option<(Instant, Duration)> {
        self.deadline.zip(self.options.deadline)
    }

    /// The options the fetcher was built with.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Requests one page until it succeeds, fails for good, or runs out of retries. The
    /// concurrency permit is held only while a request is in flight, not while waiting.
    pub(crate) async fn fetch_page(
        &self,
        request: PageRequest<'_>,
        observer: &dyn FetchObserver,
    ) -> Result<(Page, PageMeta, Attempts), (FetchError, Attempts)> {
        let started = Instant::now();
        let mut attempts = Attempts::default();
        let safe_url = || SafeUrl::new(request.url.clone(), request.secret_params);
        let mut key = request.key.clone();
        loop {
            if let Some(error) = self.past_deadline(None, &request) {
                return Err((error, attempts));
            }
            let (outcome, wait_hint) = {
                let queued_at = Instant::now();
                // The key's budget first (its rate, its pauses), then a slot of the job's.
                let key_slot = match &key {
                    Some(key) => Some(key.limits.acquire(observer).await),
                    None => None,
                };
                let (_slot, mut waited) = self.limits.acquire(observer).await;
                if let Some((_, key_waited)) = &key_slot {
                    waited.union(key_waited);
                }
                attempts.waits.union(&waited);
                let sending = self.limits.sending();
                let sent = Instant::now();
                let attempted = self.attempt_detached(&request, key.as_ref()).await;
                let ended_at = Instant::now();
                let took = ended_at - sent;
                attempts.requests += 1;
                attempts.request_time += took;
                if self.limits.ran_alone(sending) {
                    attempts.alone += 1;
                    attempts.alone_time += took;
                }
                if let Some(key) = &key {
                    key.count(attempts.requests > 1, waited.total());
                }
                observer.request(&RequestObservation {
                    chain: request.chain,
                    index: request.index,
                    attempt: attempts.requests,
                    url: &request.url,
                    secret_params: request.secret_params,
                    queued_at,
                    throttled: waited.total(),
                    sent_at: sent,
                    headers_at: attempted.headers_at,
                    ended_at,
                    status: attempted.status,
                    bytes: attempted
                        .outcome
                        .as_ref()
                        .map_or(0, |(body, _)| body.len() as u64),
                    failure: attempted.outcome.as_ref().err(),
                    limit: self.limits.current(),
                });
                (attempted.outcome, attempted.wait)
            };
            let failure = match outcome {
                Ok((body, headers)) => {
                    let headers = request.meta_headers.read(&headers);
                    match request.parser.parse(
                        request.chain,
                        request.index,
                        safe_url(),
                        body,
                        request.secrets,
                    ) {
                        Ok((page, mut meta)) => {
                            meta.link = headers.link;
                            meta.total_records = meta.total_records.or(headers.total_records);
                            meta.total_pages = meta.total_pages.or(headers.total_pages);
                            meta.next = meta.next.or(headers.next);
                            return Ok((page, meta, attempts));
                        }
                        Err(failure) => failure,
                    }
                }
                Err(failure) => failure,
            };
            if let (Some(refused), Some(ring)) = (key.clone(), request.keys)
                && matches!(
                    failure,
                    PageFailure::Status {
                        status: 401 | 403,
                        ..
                    }
                )
            {
                if ring.on_error() == crate::OnKeyError::Drop {
                    tracing::warn!(key = %refused.label, "the API refused a key: dropped");
                    refused.drop_key();
                    key = match request.key_for {
                        KeyFor::Chain => ring.for_chain(request.chain),
                        KeyFor::Page => ring.with_most_room(request.chain, request.index),
                    };
                    if key.is_some() {
                        // Another key: not a retry of the same request.
                        attempts.requests -= 1;
                        continue;
                    }
                }
                // Refused, and no key is left to go on with (or the job says to fail).
                let error = FetchError::KeyRefused {
                    key: refused.label.clone(),
                    position: ring.position(&refused),
                    of: ring.len(),
                    url: safe_url(),
                    failure,
                };
                return Err((error, attempts));
            }
            let retry = attempts.requests - 1;
            // A POST may have done its work although its answer was lost: sent again only
            // when the job says the API takes that.
            let may_repeat = request.method.is_idempotent() || request.retry_post;
            if !failure.is_transient() || !may_repeat || retry >= self.options.retries {
                let error = FetchError::Page {
                    url: safe_url(),
                    page: request.index,
                    attempts: attempts.requests,
                    elapsed: started.elapsed(),
                    failure,
                };
                return Err((error, attempts));
            }
            if let Some(asked) = wait_hint
                && asked > self.options.max_retry_after
            {
                let error = FetchError::WaitTooLong {
                    url: safe_url(),
                    page: request.index,
                    asked,
                    max: self.options.max_retry_after,
                };
                return Err((error, attempts));
            }
            let wait = wait_hint.unwrap_or_else(|| self.options.backoff.delay(retry));
            if let Some(error) = self.past_deadline(Some(wait), &request) {
                return Err((error, attempts));
            }
            tracing::debug!(url = %safe_url(), %failure, ?wait, "retrying");
            observer.retry(
                request.chain,
                &safe_url(),
                &failure.to_string(),
                wait,
                wait_hint.is_some(),
            );
            let backing_off = Instant::now();
            tokio::time::sleep(wait).await;
            attempts.waits.add(backing_off, Instant::now());
        }
    }

    /// The error that ends the run when its deadline leaves no room for another attempt at
    /// the page (after `wait`, if it must wait first).
    fn past_deadline(
        &self,
        wait: Option<Duration>,
        request: &PageRequest<'_>,
    ) -> Option<FetchError> {
        let (Some(deadline), Some(budget)) = (self.deadline, self.options.deadline) else {
            return None;
        };
        if Instant::now() + wait.unwrap_or_default() < deadline {
            return None;
        }
        Some(FetchError::Deadline {
            deadline: budget,
            url: Some(SafeUrl::new(request.url.clone(), request.secret_params)),
            wait,
        })
    }

    /// The first request of `source` as the API answers it: its headers and body, unparsed,
    /// after retries (for `pagefold init`, which looks at an API it does not know yet).
    ///
    /// # Errors
    ///
    /// When no attempt gets a successful answer.
    pub async fn first_response(&self, source: &Source) -> Result<(HeaderMap, Bytes), FetchError> {
        let parser = PageParser::new(&source.records, crate::page_parser::MetaPointers::default());
        let request = PageRequest::new(source, &parser, 0, 0, source.first_target());
        let started = Instant::now();
        let mut requests = 0;
        loop {
            let (outcome, wait_hint) = {
                let (_slot, _) = self.limits.acquire(&crate::NoObserver).await;
                let attempted = self.attempt_detached(&request, None).await;
                (attempted.outcome, attempted.wait)
            };
            requests += 1;
            let failure = match outcome {
                Ok((body, headers)) => return Ok((headers, body)),
                Err(failure) => failure,
            };
            if !failure.is_transient() || requests > self.options.retries {
                return Err(FetchError::Page {
                    url: SafeUrl::new(request.url.clone(), request.secret_params),
                    page: 0,
                    attempts: requests,
                    elapsed: started.elapsed(),
                    failure,
                });
            }
            let wait = wait_hint
                .map(|asked| asked.min(self.options.max_retry_after))
                .unwrap_or_else(|| self.options.backoff.delay(requests - 1));
            tokio::time::sleep(wait).await;
        }
    }

    /// [`Fetcher::attempt`] on a task of its own. The chain that asked for the page may not
    /// be polled for a while (it waits for room in the channel to slow reducers): the request
    /// goes on meanwhile, and its timeout counts its own time only, not the wait. Dropping
    /// the returned future (a failed run) aborts the request.
    async fn attempt_detached(
        &self,
        request: &PageRequest<'_>,
        key: Option<&Arc<crate::Key>>,
    ) -> Attempted {
        let fetcher = self.clone();
        let http = HttpRequest {
            method: request.method.clone(),
            body: request.body.clone(),
            url: request.url.clone(),
            origin: request.origin.clone(),
            headers: request.headers.clone(),
            auth: key.map_or_else(|| request.auth.cloned(), |key| Some(key.auth.clone())),
            key: key.cloned(),
            secret_params: request.secret_params.to_vec(),
            secrets: request.secrets.clone(),
        };
        let mut task = AbortOnDrop(tokio::spawn(async move { fetcher.attempt(&http).await }));
        match (&mut task.0).await {
            Ok(attempted) => attempted,
            Err(ended) => Attempted {
                outcome: Err(PageFailure::Connect(format!(
                    "the request's task ended: {ended}"
                ))),
                wait: None,
                headers_at: None,
                status: None,
            },
        }
    }
}
