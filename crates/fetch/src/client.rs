//! The HTTP client pages are fetched with: hyper's pooled client over TCP, rustls for
//! `https` (HTTP/2 where the server offers it), the proxies the environment names, and gzip
//! inflated within the body limit.
//!
//! reqwest did this before. Its layers (a redirect policy and a decompression service on
//! every request, each parsing the URL again, and a conversion of the URL to text and back)
//! cost about a fifth of a page's CPU, for nothing pagefold used: redirects are followed by
//! hand ([`crate::attempt`]), so that credentials stay on their origin.

use std::future::Future;
use std::io::Read as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, USER_AGENT};
use http::{HeaderMap, HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

/// An error of the client's making, with its causes as sources.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One pooled client, shared by every request of a job.
#[derive(Clone)]
pub(crate) struct HttpClient {
    hyper: Client<HttpsConnector<ProxyConnector>, Full<Bytes>>,
    proxies: Option<Arc<Matcher>>,
    user_agent: HeaderValue,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("proxied", &self.proxies.is_some())
            .finish_non_exhaustive()
    }
}

/// How the client connects and how many connections it keeps.
pub(crate) struct ClientOptions<'a> {
    pub(crate) user_agent: &'a str,
    pub(crate) connect_timeout: Duration,
    pub(crate) idle_per_host: usize,
}

impl HttpClient {
    /// Builds the client: the web PKI's roots and the system's, ALPN for HTTP/2 and 1.1,
    /// TCP_NODELAY, and `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` as curl and
    /// reqwest read them.
    pub(crate) fn new(options: &ClientOptions<'_>) -> Result<Self, BoxError> {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(options.connect_timeout));
        // `https` URLs reach this connector too: TLS is layered on the stream it returns.
        tcp.enforce_http(false);
        let proxies = proxies_from_env().map(Arc::new);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(ProxyConnector {
                tcp,
                proxies: proxies.clone(),
            });
        let hyper = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(options.idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            hyper,
            proxies,
            user_agent: HeaderValue::from_str(options.user_agent)?,
        })
    }

    /// Sends a request as it is, plus the headers every request carries unless the job set
    /// its own: `User-Agent`, `Accept: */*`, `Accept-Encoding: gzip`, and the proxy's
    /// credentials where a plain `http` request goes through one.
    pub(crate) async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        let headers = request.headers_mut();
        headers
            .entry(USER_AGENT)
            .or_insert_with(|| self.user_agent.clone());
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        headers
            .entry(ACCEPT_ENCODING)
            .or_insert(HeaderValue::from_static("gzip"));
        if let Some(proxies) = &self.proxies
            && request.uri().scheme_str() == Some("http")
            && let Some(auth) = proxies
                .intercept(request.uri())
                .and_then(|proxy| proxy.basic_auth().cloned())
        {
            request
                .headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, auth);
        }
        self.hyper.request(request).await
    }
}

/// Whether a body arrived compressed with gzip, which the client asked for.
pub(crate) fn is_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_ENCODING)
        .is_some_and(|encoding| encoding.as_bytes().eq_ignore_ascii_case(b"gzip"))
}

/// A gzip body inflated, never past `limit` bytes: `None` when it would be larger (a gzip
/// bomb is a few KiB that inflate to gigabytes).
pub(crate) fn gunzip(compressed: &[u8], limit: u64) -> Result<Option<Bytes>, std::io::Error> {
    let mut inflated = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit as usize));
    flate2::bufread::MultiGzDecoder::new(compressed)
        .take(limit + 1)
        .read_to_end(&mut inflated)?;
    Ok((inflated.len() as u64 <= limit).then(|| Bytes::from(inflated)))
}

/// rustls with ring, trusting the web PKI's roots (built in, so a bare container works) and
/// the system's (where a company adds its own).
fn tls_config() -> Result<rustls::ClientConfig, BoxError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // A system store that cannot be read leaves the web PKI's roots, as reqwest did.
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The proxies the environment names, or none: without any, no request pays for matching.
fn proxies_from_env() -> Option<Matcher> {
    let named = [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
    named.then(Matcher::from_env)
}

/// Connects over TCP, to the destination or to the proxy the environment names for it: a
/// plain `http` request is sent to the proxy whole (absolute-form), an `https` one through a
/// `CONNECT` tunnel, with TLS to the destination on top.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    tcp: HttpConnector,
    proxies: Option<Arc<Matcher>>,
}

type Connecting = Pin<Box<dyn Future<Output = Result<Proxied, BoxError>> + Send>>;

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = Proxied;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let proxy = self
            .proxies
            .as_ref()
            .and_then(|proxies| proxies.intercept(&destination));
        let mut tcp = self.tcp.clone();
        Box::pin(async move {
            let Some(proxy) = proxy else {
                let stream = tcp.call(destination).await?;
                return Ok(Proxied::direct(stream));
            };
            if proxy.uri().scheme_str() != Some("http") {
                return Err(format!(
                    "the proxy `{}` is not an http:// proxy, the only kind pagefold speaks",
                    proxy.uri()
                )
                .into());
            }
            if destination.scheme_str() == Some("https") {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), tcp);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let to = format!(
                    "{}:{}",
                    destination.host().unwrap_or_default(),
                    destination.port_u16().unwrap_or(443)
                );
                let stream = tunnel
                    .call(destination)
                    .await
                    .map_err(|cause| TunnelFailed {
                        proxy: proxy.uri().clone(),
                        to,
                        cause: cause.into(),
                    })?;
                Ok(Proxied::direct(stream))
            } else {
                let stream = tcp.call(proxy.uri().clone()).await?;
                Ok(Proxied {
                    stream,
                    via_proxy: true,
                })
            }
        })
    }
}

/// A proxy that would not open a tunnel (its credentials are not in its URL: the matcher
/// keeps them apart).
#[derive(Debug, thiserror::Error)]
#[error("the proxy `{proxy}` did not open a tunnel to `{to}`")]
struct TunnelFailed {
    proxy: Uri,
    to: String,
    #[source]
    cause: BoxError,
}

/// A TCP stream, and whether requests on it go to a proxy (which wants absolute URLs).
pub(crate) struct Proxied {
    stream: TokioIo<TcpStream>,
    via_proxy: bool,
}

impl Proxied {
    fn direct(stream: TokioIo<TcpStream>) -> Self {
        Self {
            stream,
            via_proxy: false,
        }
    }
}

impl Connection for Proxied {
    fn connected(&self) -> Connected {
        self.stream.connected().proxy(self.via_proxy)
    }
}

impl Read for Proxied {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl Write for Proxied {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
}
