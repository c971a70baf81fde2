//! One HTTP request for a page: redirects followed by hand (so that credentials never go to
//! another origin), the body read up to its limit, an error body redacted before it is cut,
//! and failures classified for retrying.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use tokio::time::Sleep;
use url::Url;

use crate::client::{gunzip, is_gzip};
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
        // One timer for the whole attempt (redirects, headers, every read of the body), not a
        // timer for each await.
        let budget = tokio::time::sleep(self.options.timeout);
        tokio::pin!(budget);
        let timed_out = || (Err(PageFailure::Timeout(self.options.timeout)), None);
        // Redirects are followed here, not by the client, so that credentials never go to
        // another origin. Each request's origin is compared with the job's, never with the
        // URL a page or a redirect named: that is the API's word, not the user's.
        let mut url = request.url.clone();
        let (mut method, mut body) = (request.method.clone(), request.body.clone());
        let mut redirects = 0;
        let response = loop {
            let to_origin = url.origin() == request.origin.origin();
            let outgoing = match self.outgoing(request, &url, &method, body.as_ref(), to_origin) {
                Ok(outgoing) => outgoing,
                Err(failure) => return (Err(failure), None),
            };
            let response = match within(budget.as_mut(), self.client.send(outgoing)).await {
                None => return timed_out(),
                Some(Ok(response)) => response,
                Some(Err(error)) => {
                    return (Err(PageFailure::Connect(connect_failure(&error))), None);
                }
            };
            let location = response
                .headers()
                .get(LOCATION)
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
                        (method, body) = (Method::GET, None);
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
        let (parts, mut incoming): (_, Incoming) = response.into_parts();
        let mut headers = parts.headers;
        if !status.is_success() {
            // Enough of an error body to show, never all of it: it may be large or endless.
            // Read well past the excerpt's length, so that a secret the body echoes is whole
            // when it is redacted, before the excerpt is cut.
            let mut start = Vec::new();
            while start.len() < 4096 {
                match within(budget.as_mut(), incoming.frame()).await {
                    Some(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            start.extend_from_slice(&data);
                        }
                    }
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
        let length = headers
            .get(CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
        if length.is_some_and(|length| length > limit) {
            return (Err(PageFailure::TooLarge { limit }), None);
        }
        let mut received = Received::default();
        loop {
            match within(budget.as_mut(), incoming.frame()).await {
                None => return timed_out(),
                Some(Some(Ok(frame))) => {
                    let Ok(chunk) = frame.into_data() else {
                        continue; // trailers
                    };
                    if received.len + chunk.len() as u64 > limit {
                        return (Err(PageFailure::TooLarge { limit }), None);
                    }
                    received.push(chunk, length);
                }
                Some(Some(Err(error))) => {
                    return (Err(PageFailure::Body(error_chain(&error))), None);
                }
                Some(None) => break,
            }
        }
        let body = received.into_bytes();
        if !is_gzip(&headers) {
            return (Ok((body, headers)), None);
        }
        // The headers that described the compressed body go with it.
        headers.remove(CONTENT_ENCODING);
        headers.remove(CONTENT_LENGTH);
        match gunzip(&body, limit) {
            Ok(Some(inflated)) => (Ok((inflated, headers)), None),
            Ok(None) => (Err(PageFailure::TooLarge { limit }), None),
            Err(error) => (Err(PageFailure::NotGzip(error.to_string())), None),
        }
    }

    /// The request for `url`: the job's headers and credentials only where it goes to the
    /// job's origin.
    fn outgoing(
        &self,
        request: &HttpRequest,
        url: &Url,
        method: &Method,
        body: Option<&Bytes>,
        to_origin: bool,
    ) -> Result<Request<Full<Bytes>>, PageFailure> {
        let mut headers = HeaderMap::new();
        let mut query_auth = None;
        if to_origin {
            // The job's headers may hold credentials too: they go to its origin only.
            headers = request.headers.clone();
            if let Some(auth) = &request.auth {
                query_auth = auth.apply(&mut headers);
            }
        }
        if body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let uri = match query_auth {
            Some((param, value)) => {
                let mut url = url.clone();
                url.query_pairs_mut().append_pair(param, value);
                Uri::try_from(url.as_str())
            }
            None => Uri::try_from(url.as_str()),
        }
        .map_err(|error| PageFailure::Connect(format!("the URL cannot be sent: {error}")))?;
        let mut outgoing = Request::new(Full::new(body.cloned().unwrap_or_default()));
        *outgoing.method_mut() = method.clone();
        *outgoing.uri_mut() = uri;
        *outgoing.headers_mut() = headers;
        Ok(outgoing)
    }
}

/// `work`'s output, or `None` when the attempt's time runs out first.
async fn within<T>(budget: Pin<&mut Sleep>, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        done = work => Some(done),
        () = budget => None,
    }
}

/// A body as it arrives. A page that comes in one piece (most do: hyper reads as much as
/// the socket holds) is kept as that piece, not copied.
#[derive(Default)]
struct Received {
    first: Option<Bytes>,
    rest: Option<BytesMut>,
    len: u64,
}

impl Received {
    fn push(&mut self, chunk: Bytes, length: Option<u64>) {
        self.len += chunk.len() as u64;
        match (&mut self.rest, self.first.take()) {
            (Some(rest), _) => rest.extend_from_slice(&chunk),
            (None, None) => self.first = Some(chunk),
            (None, Some(first)) => {
                let capacity = length.unwrap_or(self.len * 2).max(self.len) as usize;
                let mut rest = BytesMut::with_capacity(capacity);
                rest.extend_from_slice(&first);
                rest.extend_from_slice(&chunk);
                self.rest = Some(rest);
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        match (self.rest, self.first) {
            (Some(rest), _) => rest.freeze(),
            (None, first) => first.unwrap_or_default(),
        }
    }
}

/// Why a request could not be sent, and what to do where the fix is known.
fn connect_failure(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error_chain(error);
    if unknown_issuer(error) {
        message.push_str(
            " (if a private CA signed the server's certificate, name that CA's PEM file in \
             SSL_CERT_FILE)",
        );
    }
    message
}

/// Whether the server's certificate was refused for want of an issuer this machine trusts:
/// the refusal a user mends by naming a CA. rustls says so inside I/O errors (the TLS
/// stream's, wrapped again by the connector), which hide what they wrap from `source()`.
fn unknown_issuer(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |error| error.source()).any(|error| {
        matches!(
            unwrapped(error).downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        )
    })
}

/// What an I/O error wraps, however deep.
fn unwrapped<'e>(
    mut error: &'e (dyn std::error::Error + 'static),
) -> &'e (dyn std::error::Error + 'static) {
    while let Some(inner) = error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
    {
        error = inner;
    }
    error
}

/// The client's message and its causes, each said once. The URL is left out on purpose:
/// callers show a redacted one.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// Redirects followed for one request before giving up.
const MAX_REDIRECTS: usize = 10;

/// What one HTTP request needs, owned, so that it can run on a task of its own.
pub(crate) struct HttpRequest {
    pub(crate) key: Option<Arc<crate::Key>>,
    pub(crate) method: Method,
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
