//! Writing a [`Trace`] in the Chrome trace event format (the JSON object form:
//! `{"traceEvents": […], "displayTimeUnit": "ms", "otherData": {…}}`).
//!
//! Slices on one track must nest, and the requests of a chain that fans out (numbered pages)
//! overlap: such a chain's slices are spread over lanes, extra tracks named after the chain's
//! (`partition 0 ·2`) and sorted beside it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::Trace;
use super::event::{Event, Request, Role, Track};
use super::shelf::Recalled;

/// The process id of every event: one run, one process.
const PID: u32 = 1;
/// The track of events that belong to no chain (pauses, limits, checkpoints, counters).
const RUN_TID: u64 = 0;

impl Trace {
    /// Writes the trace to `path` as results are written (atomically, never destroying a
    /// device, a FIFO or a read-only file), every string redacted.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = self.render();
        // Like a result: atomic, a device or FIFO written into, a symlink followed; but not
        // flushed to the disk first: a trace is a diagnosis, not a result, and syncing
        // megabytes would lengthen every traced run.
        crate::output::write_file(
            path,
            text.as_bytes(),
            crate::output::NewFile::Umask,
            crate::output::Durability::Cached,
            ".pagefold-trace-",
        )
    }

    /// The trace as JSON text.
    pub fn render(&self) -> String {
        let recorded = self.events();
        let events = recorded.in_order();
        let partitions = self
            .partitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let lanes = Lanes::assign(&events);
        let mut out = Vec::with_capacity(events.len() * 240 + 4096);
        out.extend_from_slice(b"{\"traceEvents\":[\n");
        let mut first = true;
        let mut line = |out: &mut Vec<u8>, text: std::fmt::Arguments<'_>| {
            if !first {
                out.extend_from_slice(b",\n");
            }
            first = false;
            let _ = out.write_fmt(text);
        };
        line(
            &mut out,
            format_args!(
                r#"{{"name":"process_name","ph":"M","ts":0,"pid":{PID},"tid":{RUN_TID},"args":{{"name":{}}}}}"#,
                json(&format!("pagefold {}", self.job))
            ),
        );
        line(
            &mut out,
            format_args!(
                r#"{{"name":"thread_name","ph":"M","ts":0,"pid":{PID},"tid":{RUN_TID},"args":{{"name":"run"}}}}"#
            ),
        );
        for (&(track, lane), &tid) in &lanes.tids {
            let mut name = track_name(track, &partitions);
            if lane > 0 {
                name = format!("{name} ·{}", lane + 1);
            }
            line(
                &mut out,
                format_args!(
                    r#"{{"name":"thread_name","ph":"M","ts":0,"pid":{PID},"tid":{tid},"args":{{"name":{}}}}}"#,
                    json(&name)
                ),
            );
            line(
                &mut out,
                format_args!(
                    r#"{{"name":"thread_sort_index","ph":"M","ts":0,"pid":{PID},"tid":{tid},"args":{{"sort_index":{tid}}}}}"#
                ),
            );
        }
        for (position, recalled) in events.iter().enumerate() {
            match recalled.event {
                Event::Request(request) => {
                    let tid = lanes.tid_of(position);
                    out.extend_from_slice(b",\n");
                    request_event(&mut out, request, recalled.url(request.url), tid);
                }
                Event::HeldBack { at, duration, .. } => {
                    let tid = lanes.tid_of(position);
                    line(
                        &mut out,
                        format_args!(
                            r#"{{"name":"waiting on reducers","cat":"backpressure","ph":"X","ts":{at},"dur":{duration},"pid":{PID},"tid":{tid}}}"#
                        ),
                    );
                }
                Event::Retry {
                    at,
                    url,
                    reason,
                    wait,
                    asked,
                    ..
                } => {
                    let tid = lanes.tid_of(position);
                    line(
                        &mut out,
                        format_args!(
                            r#"{{"name":"retry","cat":"retry","ph":"i","s":"t","ts":{at},"pid":{PID},"tid":{tid},"args":{{"reason":{},"kind":{},"wait_us":{wait},"retry_after":{asked},"url":{}}}}}"#,
                            json(reason),
                            json(&failure_kind(reason)),
                            json(url)
                        ),
                    );
                }
                Event::Pause { at, reason, wait } => line(
                    &mut out,
                    format_args!(
                        r#"{{"name":"rate-limit pause","cat":"limits","ph":"i","s":"g","ts":{at},"pid":{PID},"tid":{RUN_TID},"args":{{"reason":{},"wait_us":{wait}}}}}"#,
                        json(reason)
                    ),
                ),
                Event::Limit { at, from, to } => line(
                    &mut out,
                    format_args!(
                        r#"{{"name":"concurrency {from} → {to}","cat":"limits","ph":"i","s":"g","ts":{at},"pid":{PID},"tid":{RUN_TID},"args":{{"from":{from},"to":{to}}}}}"#
                    ),
                ),
                Event::Checkpoint { at } => line(
                    &mut out,
                    format_args!(
                        r#"{{"name":"checkpoint","cat":"checkpoint","ph":"i","s":"g","ts":{at},"pid":{PID},"tid":{RUN_TID}}}"#
                    ),
                ),
                Event::Counters {
                    at,
                    in_flight,
                    limit,
                    queued,
                } => {
                    line(
                        &mut out,
                        format_args!(
                            r#"{{"name":"requests in flight","ph":"C","ts":{at},"pid":{PID},"tid":{RUN_TID},"args":{{"in flight":{in_flight},"limit":{limit}}}}}"#
                        ),
                    );
                    line(
                        &mut out,
                        format_args!(
                            r#"{{"name":"queued for reducers","ph":"C","ts":{at},"pid":{PID},"tid":{RUN_TID},"args":{{"pages":{queued}}}}}"#
                        ),
                    );
                }
            }
        }
        drop(events);
        drop(recorded);
        let origin = self.origin.get().cloned().unwrap_or_default();
        let totals = self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or(serde_json::Value::Null);
        let other = serde_json::json!({
            "pagefold": {
                "job": self.job,
                "origin": origin,
                "totals": totals,
            }
        });
        let _ = write!(
            out,
            "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{other}\n}}\n"
        );
        let text = String::from_utf8(out).unwrap_or_default();
        // URLs are redacted as they are recorded; a secret the API echoed into a failure's
        // message, or one in a URL's path, is caught here. Copied only if one is found.
        match crate::secrets::snapshot().redact(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(redacted) => redacted,
        }
    }
}

/// A request as a complete event, written straight into `out`: a run may have millions, and
/// the file is written after the run, so every µs spent here a request adds to its wall time.
/// Numbers go in through `itoa` rather than `write!`, which costs several times more.
fn request_event(out: &mut Vec<u8>, request: &Request, url: &str, tid: u64) {
    let mut number = itoa::Buffer::new();
    let mut field = |out: &mut Vec<u8>, name: &[u8], value: u64| {
        out.extend_from_slice(name);
        out.extend_from_slice(number.format(value).as_bytes());
    };
    field(out, br#"{"name":"page "#, request.index);
    field(out, br#"","cat":"request","ph":"X","ts":"#, request.sent);
    field(
        out,
        br#","dur":"#,
        request.ended.saturating_sub(request.sent),
    );
    field(out, br#","pid":"#, u64::from(PID));
    field(out, br#","tid":"#, tid);
    out.extend_from_slice(br#","args":{"url":"#);
    write_json(out, url);
    field(out, br#","attempt":"#, u64::from(request.attempt));
    field(
        out,
        br#","queued_us":"#,
        request.sent.saturating_sub(request.queued),
    );
    // Zeros are left out: a few bytes a request add up.
    if request.throttled > 0 {
        field(out, br#","throttled_us":"#, request.throttled);
    }
    if let Some(headers) = request.headers {
        field(
            out,
            br#","first_byte_us":"#,
            headers.saturating_sub(request.sent),
        );
        field(
            out,
            br#","body_us":"#,
            request.ended.saturating_sub(headers),
        );
    }
    if let Some(status) = request.status {
        field(out, br#","status":"#, u64::from(status));
    }
    if request.bytes > 0 {
        field(out, br#","bytes":"#, request.bytes);
    }
    if let Some(failure) = &request.failure {
        out.extend_from_slice(br#","error":"#);
        write_json(out, failure);
        out.extend_from_slice(br#","kind":"#);
        write_json(out, &failure_kind(failure));
    }
    out.extend_from_slice(b"}}");
}

fn write_json(out: &mut Vec<u8>, text: &str) {
    let _ = serde_json::to_writer(&mut *out, text);
}

/// A failure's kind, for grouping: `HTTP 503`, `timeout`, `connect`, `body`, `other`.
pub fn failure_kind(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if let Some(at) = lower.find("http ") {
        let code: String = lower[at + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if code.len() == 3 {
            return format!("HTTP {code}");
        }
    }
    for (word, kind) in [
        ("timed out", "timeout"),
        ("timeout", "timeout"),
        ("connect", "connect"),
        ("body", "body"),
        ("redirect", "redirects"),
        ("too large", "too large"),
        ("json", "bad JSON"),
    ] {
        if lower.contains(word) {
            return kind.to_owned();
        }
    }
    "other".to_owned()
}

fn track_name(track: Track, partitions: &[String]) -> String {
    match track.role {
        Role::Partition => match partitions.get(track.chain as usize) {
            Some(values) if !values.is_empty() => format!("partition {} ({values})", track.chain),
            _ => format!("partition {}", track.chain),
        },
        Role::Parent => format!("parent {}", track.chain),
        Role::Child => format!("child {}", track.chain),
    }
}

fn json(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// The lanes of each track: slices that overlap go on lanes of their own.
struct Lanes {
    /// `(track, lane)` → tid, in track order.
    tids: BTreeMap<(Track, usize), u64>,
    /// The tid of each event, by its position among the events (0 for those on no chain).
    tid_of: Vec<u64>,
}

impl Lanes {
    fn assign(events: &[Recalled<'_>]) -> Self {
        let mut by_track: BTreeMap<Track, Vec<(u64, u64, usize)>> = BTreeMap::new();
        for (position, recalled) in events.iter().enumerate() {
            let (track, start, end) = match recalled.event {
                Event::Request(request) => (request.track, request.sent, request.ended),
                Event::HeldBack {
                    track,
                    at,
                    duration,
                } => (*track, *at, at + duration),
                Event::Retry { track, at, .. } => (*track, *at, *at),
                _ => continue,
            };
            by_track
                .entry(track)
                .or_default()
                .push((start, end, position));
        }
        let mut tids = BTreeMap::new();
        let mut tid_of = vec![RUN_TID; events.len()];
        let mut next_tid = 1u64;
        for (track, mut slices) in by_track {
            slices.sort_unstable();
            // The end of the last slice on each lane.
            let mut ends: Vec<u64> = Vec::new();
            for (start, end, position) in slices {
                let lane = match ends.iter().position(|&last| last <= start) {
                    Some(lane) => lane,
                    None => {
                        ends.push(0);
                        ends.len() - 1
                    }
                };
                ends[lane] = end;
                // Lanes of a track take consecutive tids, so they sort together.
                tid_of[position] = next_tid + lane as u64;
            }
            for lane in 0..ends.len() {
                tids.insert((track, lane), next_tid);
                next_tid += 1;
            }
        }
        Self { tids, tid_of }
    }

    fn tid_of(&self, position: usize) -> u64 {
        self.tid_of.get(position).copied().unwrap_or(RUN_TID)
    }
}
