//! The HTTP client, the shared limits, and one page's requests with their retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use url::Url;

use crate::limits::{Limits, Rate};
use crate::page::{PageMeta, PageParser, body_start};
use crate::request::{MetaHeaders, Target};
use crate::retry::retry_after;
use crate::{
    Auth, Backoff, FetchError, FetchObserver, Page, PageFailure, SafeUrl, Secrets, Source,
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
        }
    }
}

/// One HTTP client and the limits all chains of a job share.
#[derive(Debug, Clone)]
pub struct Fetcher {
    pub(crate) client: reqwest::Client,
    pub(crate) limits: Arc<Limits>,
    pub(crate) options: FetchOptions,
}

/// What fetching one page cost.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Attempts {
    pub requests: u32,
    /// Time spent in requests, waits not included: what a sequential client would have spent.
    pub request_time: Duration,
    /// Time spent waiting: backoff, `Retry-After`, rate limits, pauses the API asked for.
    pub waited: Duration,
}

impl Fetcher {
    /// Builds the client: connections kept alive and reused (as many idle per host as the
    /// concurrency allows), gzip accepted, TCP_NODELAY set.
    ///
    /// # Errors
    ///
    /// When the TLS backend cannot be set up.
    pub fn new(options: FetchOptions) -> Result<Self, FetchError> {
        let concurrency = options.concurrency.max(1);
        let client = reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .pool_max_idle_per_host(concurrency)
            .tcp_nodelay(true)
            .gzip(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(FetchError::Client)?;
        Ok(Self {
            client,
            limits: Arc::new(Limits::new(concurrency, options.rate)),
            options,
        })
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
            let (outcome, wait_hint) = {
                // The key's budget first (its rate, its pauses), then a slot of the job's.
                let key_slot = match &key {
                    Some(key) => Some(key.limits.acquire(observer).await),
                    None => None,
                };
                let key_waited = key_slot
                    .as_ref()
                    .map_or(Duration::ZERO, |(_, waited)| *waited);
                let (_slot, waited) = self.limits.acquire(observer).await;
                attempts.waited += waited + key_waited;
                let sent = Instant::now();
                let outcome = self.attempt_detached(&request, key.as_ref()).await;
                attempts.requests += 1;
                attempts.request_time += sent.elapsed();
                if let Some(key) = &key {
                    key.count(attempts.requests > 1, waited + key_waited);
                }
                outcome
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
                let position = ring.position(&refused);
                if ring.on_error() == crate::OnKeyError::Fail {
                    let error = FetchError::KeyRefused {
                        key: refused.label.clone(),
                        position,
                        of: ring.len(),
                        url: safe_url(),
                        failure,
                    };
                    return Err((error, attempts));
                }
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
                let error = FetchError::KeyRefused {
                    key: refused.label.clone(),
                    position,
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
            let wait = wait_hint.unwrap_or_else(|| self.options.backoff.delay(retry));
            tracing::debug!(url = %safe_url(), %failure, ?wait, "retrying");
            observer.retry(&safe_url(), &failure.to_string(), wait);
            tokio::time::sleep(wait).await;
            attempts.waited += wait;
        }
    }

    /// The first request of `source` as the API answers it: its headers and body, unparsed,
    /// after retries (for `pagefold init`, which looks at an API it does not know yet).
    ///
    /// # Errors
    ///
    /// When no attempt gets a successful answer.
    pub async fn first_response(&self, source: &Source) -> Result<(HeaderMap, Bytes), FetchError> {
        let parser = PageParser::new(&source.records, crate::page::MetaPointers::default());
        let request = PageRequest::new(source, &parser, 0, 0, source.first_target());
        let started = Instant::now();
        let mut requests = 0;
        loop {
            let (outcome, wait_hint) = {
                let (_slot, _) = self.limits.acquire(&crate::NoObserver).await;
                self.attempt_detached(&request, None).await
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
            let wait = wait_hint.unwrap_or_else(|| self.options.backoff.delay(requests - 1));
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
    ) -> (Result<(Bytes, HeaderMap), PageFailure>, Option<Duration>) {
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
            Ok(outcome) => outcome,
            Err(ended) => (
                Err(PageFailure::Connect(format!(
                    "the request's task ended: {ended}"
                ))),
                None,
            ),
        }
    }

    /// One request: the body, or why not and how long the server asked us to wait.
    async fn attempt(
        &self,
        request: &HttpRequest,
    ) -> (Result<(Bytes, HeaderMap), PageFailure>, Option<Duration>) {
        // Redirects are followed here, not by the client, so that credentials never go to
        // another origin. Each request's origin is compared with the job's, never with the
        // URL a page or a redirect named: that is the API's word, not the user's.
        let mut url = request.url.clone();
        let (mut method, mut body) = (request.method.clone(), request.body.clone());
        let mut redirects = 0;
        let mut response = loop {
            let mut builder = self.client.request(method.clone(), url.clone());
            if let Some(body) = &body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            if url.origin() == request.origin.origin() {
                // The job's headers may hold credentials too: they go to its origin only.
                builder = builder.headers(request.headers.clone());
                if let Some(auth) = &request.auth {
                    builder = auth.apply(builder);
                }
            }
            let response = match builder.send().await {
                Ok(response) => response,
                Err(error) => return (Err(self.classify(&error)), None),
            };
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|location| location.to_str().ok())
                .and_then(|location| url.join(location).ok());
            match location {
                Some(next) if response.status().is_redirection() => {
                    redirects += 1;
                    if redirects > MAX_REDIRECTS {
                        return (Err(PageFailure::Redirects(MAX_REDIRECTS)), None);
                    }
                    tracing::debug!(to = %SafeUrl::new(next.clone(), &request.secret_params), "following a redirect");
                    // 307 and 308 repeat the request as it was; the others ask for a GET.
                    if !matches!(response.status().as_u16(), 307 | 308) {
                        (method, body) = (reqwest::Method::GET, None);
                    }
                    url = next;
                }
                _ => break response,
            }
        };
        let status = response.status();
        let wait = retry_after(response.headers());
        // A key's throttling pauses that key only.
        match &request.key {
            Some(key) => key.limits.observe(status, response.headers(), wait),
            None => self.limits.observe(status, response.headers(), wait),
        }
        let headers = std::mem::take(response.headers_mut());
        if !status.is_success() {
            // Enough of an error body to show, never all of it: it may be large or endless.
            // Read well past the excerpt's length, so that a secret the body echoes is whole
            // when it is redacted, before the excerpt is cut.
            let mut start = Vec::new();
            while start.len() < 4096 {
                match response.chunk().await {
                    Ok(Some(chunk)) => start.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            let detail = body_start(&start, &request.secrets);
            return (
                Err(PageFailure::Status {
                    status: status.as_u16(),
                    detail,
                }),
                wait,
            );
        }
        let limit = self.options.max_body;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return (Err(PageFailure::TooLarge { limit }), None);
        }
        let mut received =
            BytesMut::with_capacity(response.content_length().unwrap_or(16 * 1024) as usize);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (received.len() + chunk.len()) as u64 > limit {
                        return (Err(PageFailure::TooLarge { limit }), None);
                    }
                    received.extend_from_slice(&chunk);
                }
                Ok(None) => return (Ok((received.freeze(), headers)), None),
                Err(error) => return (Err(self.classify_body(&error)), None),
            }
        }
    }

    fn classify(&self, error: &reqwest::Error) -> PageFailure {
        if error.is_timeout() {
            PageFailure::Timeout(self.options.timeout)
        } else {
            PageFailure::Connect(error_chain(error))
        }
    }

    fn classify_body(&self, error: &reqwest::Error) -> PageFailure {
        if error.is_timeout() {
            PageFailure::Timeout(self.options.timeout)
        } else {
            PageFailure::Body(error_chain(error))
        }
    }
}

/// reqwest's own message is generic ("error sending request"); the useful part is in its
/// sources. The URL is left out on purpose: callers show a redacted one.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        let what = if error.is_connect() {
            "could not connect"
        } else {
            "the request failed"
        };
        parts.push(what.to_owned());
    }
    parts.join(": ")
}

/// Redirects followed for one request before giving up.
const MAX_REDIRECTS: usize = 10;

/// What one HTTP request needs, owned, so that it can run on a task of its own.
struct HttpRequest {
    key: Option<Arc<crate::Key>>,
    method: reqwest::Method,
    body: Option<Bytes>,
    url: Url,
    /// The origin that sees credentials and the job's headers.
    origin: Url,
    headers: HeaderMap,
    auth: Option<Auth>,
    secret_params: Vec<String>,
    secrets: Secrets,
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a page's key is chosen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyFor {
    /// The chain's own key: its cursors were issued to it.
    Chain,
    /// The key with the most room: numbered pages can go with any key.
    Page,
}

pub(crate) struct PageRequest<'a> {
    pub key: Option<Arc<crate::Key>>,
    pub keys: Option<&'a crate::KeyRing>,
    pub key_for: KeyFor,
    pub url: Url,
    pub body: Option<Bytes>,
    pub method: reqwest::Method,
    pub retry_post: bool,
    pub meta_headers: MetaHeaders,
    pub origin: &'a Url,
    pub secrets: &'a Secrets,
    pub headers: &'a HeaderMap,
    pub auth: Option<&'a Auth>,
    pub secret_params: &'a [String],
    pub parser: &'a PageParser,
    pub chain: u32,
    pub index: u64,
}

impl<'a> PageRequest<'a> {
    /// A request for page `index` of chain `chain` of `source`, as `target` says.
    pub fn new(
        source: &'a Source,
        parser: &'a PageParser,
        chain: u32,
        index: u64,
        target: Target,
    ) -> Self {
        let key_for = match source.pagination {
            crate::Pagination::Numbered(_) => KeyFor::Page,
            _ => KeyFor::Chain,
        };
        let keys = source.keys.as_deref();
        let key = keys.and_then(|ring| match key_for {
            KeyFor::Chain => ring.for_chain(chain),
            KeyFor::Page => ring.with_most_room(chain, index),
        });
        Self {
            key,
            keys,
            key_for,
            url: target.url,
            body: target.body,
            method: source.method.clone(),
            retry_post: source.retry_post,
            meta_headers: source.meta_headers(),
            origin: &source.origin,
            secrets: &source.secrets,
            headers: &source.headers,
            auth: source.auth.as_ref(),
            secret_params: &source.secret_params,
            parser,
            chain,
            index,
        }
    }
}
