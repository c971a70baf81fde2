//! Failures the demo API injects: deterministic for a seed, so a test that passes once passes
//! every time, whatever order requests arrive in.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Which failures to inject, and how often. Rates are fractions of requests (0 to 1); whether
/// a request fails, and how, is decided from the seed, the page it asks for and how many
/// times that page was asked for before, never from timing.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Every page answers its first this-many requests with `status` instead of the page.
    pub fail_first: u32,
    /// The status of `fail_first` failures (500 when 0; 429 comes with `Retry-After`).
    pub status: u16,
    /// Page numbers (`page=N`) that always answer 500: pages no retry can save.
    pub broken_pages: Vec<u64>,
    /// Chooses which requests fail.
    pub seed: u64,
    /// Answered 500, 502, 503 or 504.
    pub errors: f64,
    /// Answered 429 with `Retry-After: retry_after`.
    pub throttles: f64,
    /// Seconds in the `Retry-After` of a 429.
    pub retry_after: u64,
    /// The connection is dropped in the middle of the body.
    pub resets: f64,
    /// The response waits `stall` before it starts.
    pub stalls: f64,
    /// How long a stalled response waits.
    pub stall: Duration,
    /// The body ends early, cleanly: a truncated JSON document.
    pub truncations: f64,
}

/// What happens to one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    Status(StatusCode, String),
    Throttle(u64),
    Reset,
    Stall(Duration),
    Truncate,
}

impl Faults {
    pub(crate) fn is_active(&self) -> bool {
        self.fail_first > 0
            || !self.broken_pages.is_empty()
            || self.errors + self.throttles + self.resets + self.stalls + self.truncations > 0.0
    }

    /// The fault for the `attempt`-th request (from 1) of the page identified by `key`, which
    /// asks for page number `page` (if it does).
    pub(crate) fn decide(&self, key: &str, page: Option<u64>, attempt: u32) -> Option<Fault> {
        if page.is_some_and(|page| self.broken_pages.contains(&page)) {
            return Some(Fault::Status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this page is broken".into(),
            ));
        }
        if attempt <= self.fail_first && self.status == 429 {
            return Some(Fault::Throttle(self.retry_after));
        }
        if attempt <= self.fail_first {
            let status = StatusCode::from_u16(if self.status == 0 { 500 } else { self.status })
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Some(Fault::Status(
                status,
                format!("injected failure {attempt} of {}", self.fail_first),
            ));
        }
        let mut bits = splitmix(self.seed ^ fnv(key) ^ u64::from(attempt).rotate_left(32));
        let mut draw = || {
            bits = splitmix(bits);
            (bits >> 11) as f64 / (1u64 << 53) as f64
        };
        let roll = draw();
        let mut threshold = 0.0;
        for (rate, fault) in [
            (self.errors, 0),
            (self.throttles, 1),
            (self.resets, 2),
            (self.stalls, 3),
            (self.truncations, 4),
        ] {
            threshold += rate;
            if roll < threshold {
                return Some(match fault {
                    0 => {
                        let statuses = [500, 502, 503, 504];
                        let status = statuses[(draw() * 4.0) as usize % 4];
                        let status = StatusCode::from_u16(status).expect("a valid status");
                        Fault::Status(status, "injected server error".into())
                    }
                    1 => Fault::Throttle(self.retry_after),
                    2 => Fault::Reset,
                    3 => Fault::Stall(self.stall),
                    _ => Fault::Truncate,
                });
            }
        }
        None
    }
}

/// The response of a fault that replaces the page.
pub(crate) fn refusal(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Status(status, message) => Some((*status, message.clone()).into_response()),
        Fault::Throttle(seconds) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                "slow down",
            )
                .into_response(),
        ),
        Fault::Reset | Fault::Stall(_) | Fault::Truncate => None,
    }
}

/// The page's body, broken the way `fault` says.
pub(crate) fn broken_body(fault: &Fault, body: Bytes) -> Option<Response> {
    let half = body.slice(..body.len() / 2);
    let chunks: Vec<Result<Bytes, std::io::Error>> = match fault {
        // A stream that fails makes the server drop the connection mid-body.
        Fault::Reset => vec![
            Ok(half),
            Err(std::io::Error::other("injected connection reset")),
        ],
        // A stream that ends early is a complete, chunked response with half a document.
        Fault::Truncate => vec![Ok(half)],
        _ => return None,
    };
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    Some(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_depend_only_on_seed_page_and_attempt() {
        let faults = Faults {
            seed: 9,
            errors: 0.3,
            resets: 0.2,
            ..Faults::default()
        };
        let first: Vec<_> = (1..50)
            .map(|a| faults.decide("page=3", Some(3), a))
            .collect();
        let again: Vec<_> = (1..50)
            .map(|a| faults.decide("page=3", Some(3), a))
            .collect();
        assert_eq!(first, again);
        let failed = first.iter().filter(|f| f.is_some()).count();
        assert!(
            (10..40).contains(&failed),
            "{failed} of 49 failed at a 50% rate"
        );
        assert_eq!(Faults::default().decide("page=1", Some(1), 1), None);
    }
}
