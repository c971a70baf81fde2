//! What every handler of the demo API shares: its config, data, counters and fault state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::faults::Fault;
use crate::{Dataset, DemoConfig, Stats};

pub(crate) struct Shared {
    pub(crate) config: DemoConfig,
    pub(crate) dataset: Dataset,
    pub(crate) stats: Arc<Stats>,
    pub(crate) attempts: Mutex<HashMap<String, u32>>,
    /// Pre-rendered pages 1, 2, … of `default_page_size` (empty unless `prerender`).
    pub(crate) rendered: Vec<Bytes>,
    /// The current window of `window_limit`: when it started, requests in it.
    pub(crate) window: Mutex<(Instant, u64)>,
    /// Per token: its window's start and requests in it.
    pub(crate) token_windows: Mutex<HashMap<String, (Instant, u64)>>,
    /// Turns to be served, with `capacity`.
    pub(crate) turns: Option<tokio::sync::Semaphore>,
}

impl Shared {
    /// Counts a request against the window limit: the headers to send, or the 429.
    pub(crate) fn window_headers(&self) -> Result<axum::http::HeaderMap, Box<Response>> {
        let mut headers = axum::http::HeaderMap::new();
        let Some(limit) = self.config.window_limit else {
            return Ok(headers);
        };
        let mut window = self.window.lock().expect("no panics while locked");
        let now = Instant::now();
        if now.duration_since(window.0) >= limit.window {
            *window = (now, 0);
        }
        window.1 += 1;
        let reset = (window.0 + limit.window)
            .saturating_duration_since(now)
            .as_secs_f64()
            .ceil() as u64;
        let remaining = limit.requests.saturating_sub(window.1);
        let number = |n: u64| axum::http::HeaderValue::from(n);
        headers.insert("x-ratelimit-limit", number(limit.requests));
        headers.insert("x-ratelimit-remaining", number(remaining));
        headers.insert("x-ratelimit-reset", number(reset));
        if window.1 > limit.requests {
            headers.insert(header::RETRY_AFTER, number(reset));
            let refused = (
                StatusCode::TOO_MANY_REQUESTS,
                headers,
                "rate limit exceeded",
            );
            return Err(Box::new(refused.into_response()));
        }
        Ok(headers)
    }

    /// Meters a request against its token's budget: `Err` with the 401 (a revoked token) or
    /// the 429 that refuses it.
    pub(crate) fn token_budget(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), Box<Response>> {
        let Some(token) = crate::auth::bearer(headers) else {
            return Ok(());
        };
        let mut by_token = self.stats.by_token.lock().expect("no panics while locked");
        let mut windows = self.token_windows.lock().expect("no panics while locked");
        let (served, refused) = by_token.entry(token.clone()).or_default();
        if let Some((revoked, after)) = &self.config.revoked_after
            && *revoked == token
            && *served >= *after
        {
            return Err(Box::new(
                (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(serde_json::json!({ "error": "revoked" })),
                )
                    .into_response(),
            ));
        }
        if let Some(limit) = self.config.token_budget {
            let now = Instant::now();
            let window = windows.entry(token).or_insert((now, 0));
            if now.duration_since(window.0) >= limit.window {
                *window = (now, 0);
            }
            if window.1 >= limit.requests {
                *refused += 1;
                let rest = (window.0 + limit.window).saturating_duration_since(now);
                let seconds = rest.as_secs_f64().ceil().max(1.0) as u64;
                return Err(Box::new(
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::RETRY_AFTER, seconds.to_string())],
                        "this token's budget is spent",
                    )
                        .into_response(),
                ));
            }
            window.1 += 1;
        }
        *served += 1;
        Ok(())
    }

    /// The fault for this request, counting it as one more attempt at its page.
    pub(crate) fn next_fault(&self, query: &HashMap<String, String>) -> Option<Fault> {
        if !self.config.faults.is_active() {
            return None;
        }
        let mut key: Vec<_> = query.iter().collect();
        key.sort();
        let key = format!("{key:?}");
        let attempt = {
            let mut attempts = self.attempts.lock().expect("no panics while locked");
            let seen = attempts.entry(key.clone()).or_default();
            *seen += 1;
            *seen
        };
        let page = query.get("page").and_then(|page| page.parse().ok());
        self.config.faults.decide(&key, page, attempt)
    }
}
