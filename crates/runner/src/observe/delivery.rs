//! One HTTP request that must arrive: sent again after connection errors, timeouts, 408, 425,
//! 429 and 5xx, with exponential backoff and full jitter (a `Retry-After` in seconds replaces
//! the wait, up to the backoff's ceiling), a bounded number of times. Other answers are final.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderName, RETRY_AFTER};
use url::Url;

use super::error::DeliveryError;
use crate::job::Delivery;

/// What to send.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: reqwest::Method,
    pub url: Url,
    pub content_type: &'static str,
    pub headers: Vec<(HeaderName, String)>,
    pub body: String,
}

/// Sends `request` until it is taken or `delivery` gives up; the attempts it took.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    request: &Request,
    delivery: Delivery,
) -> Result<u32, DeliveryError> {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut builder = client
            .request(request.method.clone(), request.url.clone())
            .timeout(delivery.timeout)
            .header(CONTENT_TYPE, request.content_type)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let (retry_after, failure) = match builder.send().await {
            Ok(response) if response.status().is_success() => return Ok(attempt),
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let failure = DeliveryError::Refused {
                    status,
                    attempts: attempt,
                    elapsed: started.elapsed(),
                };
                if !retryable(status) {
                    return Err(failure);
                }
                (retry_after, failure)
            }
            Err(source) => (
                None,
                DeliveryError::Unreachable {
                    attempts: attempt,
                    elapsed: started.elapsed(),
                    source,
                },
            ),
        };
        if attempt > delivery.retries {
            return Err(failure);
        }
        let wait = retry_after
            .unwrap_or_else(|| delivery.backoff.delay(attempt - 1))
            .min(delivery.backoff.max);
        tokio::time::sleep(wait).await;
    }
}

/// Answers that say "not now" rather than "never".
fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY | StatusCode::TOO_MANY_REQUESTS
        )
}
