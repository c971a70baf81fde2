//! One HTTP request for a page: redirects followed by hand (so that credentials never go to
//! another origin), the body read up to its limit, an error body redacted before it is cut,
//! and failures classified for retrying.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use url::Url;

use crate::excerpt::body_start;
use crate::retry::retry_after;
use crate::{Auth, Fetcher, PageFailure, SafeUrl, Secrets};

/// What one request gave: the body or why not, how long the server asked us to wait, and when
/// its response's headers came (for traces).
pub(crate) struct Attempted {
    pub(crate) outcome: Result<(Bytes, HeaderMap), PageFailure>,
    pub(crate) wait: Option<Duration>,
    pub(crate) headers_at: Option<Instant>,
    pub(crate) status: Option<u16>,
}

impl Fetcher {
    /// One request: the body, or why not and how long the server asked us to wait.
    pub(crate) async fn attempt(&self, request: &HttpRequest) -> Attempted {
        let mut headers_at = None;
        let mut status = None;
        let (outcome, wait) = self
            .attempt_timed(request, &mut headers_at, &mut status)
            .await;
        Attempted {
            outcome,
            wait,
            headers_at,
            status,
        }
    }

    async fn attempt_timed(
        &self,
        request: &HttpRequest,
        headers_at: &mut Option<Instant>,
        status_seen: &mut Option<u16>,
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
        *headers_at = Some(Instant::now());
        *status_seen = Some(status.as_u16());
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
pub(crate) struct HttpRequest {
    pub(crate) key: Option<Arc<crate::Key>>,
    pub(crate) method: reqwest::Method,
    pub(crate) body: Option<Bytes>,
    pub(crate) url: Url,
    /// The origin that sees credentials and the job's headers.
    pub(crate) origin: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: Option<Auth>,
    pub(crate) secret_params: Vec<String>,
    pub(crate) secrets: Secrets,
}

/// A task aborted when its handle is dropped.
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
