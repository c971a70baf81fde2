//! What a report draws, gathered from a trace and a job's history into one JSON value.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::state::history::HistoryEntry;
use crate::trace::chrome::failure_kind;

/// What a report is drawn from.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// The job's name.
    pub job: String,
    /// The text of a trace written by `--trace`, for the run part.
    pub trace: Option<String>,
    /// The job's history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The result documents kept for the runs of the history: `(run_id, JSON text)`.
    pub results: Vec<(String, String)>,
}

/// Why a report cannot be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The trace is not JSON.
    #[error("the trace is not JSON")]
    TraceJson(#[source] serde_json::Error),
    /// The trace is JSON, but not a trace.
    #[error("the trace has no `traceEvents` array: is it a file `pagefold run --trace` wrote?")]
    NotATrace,
}

/// The report's data: `job`, `run` (from the trace, or null), `history` and `reducers`.
///
/// # Errors
///
/// See [`ReportError`].
pub fn gather(input: &ReportInput) -> Result<Value, ReportError> {
    let run = match &input.trace {
        Some(text) => Some(run(text)?),
        None => None,
    };
    Ok(json!({
        "job": input.job,
        "run": run,
        "history": history(&input.history),
        "reducers": reducers(&input.history, &input.results),
    }))
}

/// The run of a trace: its tracks, requests, counters, retries and errors by kind, totals.
fn run(text: &str) -> Result<Value, ReportError> {
    let trace: Value = serde_json::from_str(text).map_err(ReportError::TraceJson)?;
    let events = trace["traceEvents"]
        .as_array()
        .ok_or(ReportError::NotATrace)?;
    let mut tracks = BTreeMap::new();
    let mut requests = Vec::new();
    let mut held_back = Vec::new();
    let mut in_flight = Vec::new();
    let mut queued = Vec::new();
    let mut retries: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut marks = Vec::new();
    for event in events {
        let ts = event["ts"].as_u64().unwrap_or(0);
        let tid = event["tid"].as_u64().unwrap_or(0);
        let name = event["name"].as_str().unwrap_or("");
        let args = &event["args"];
        match (event["ph"].as_str().unwrap_or(""), event["cat"].as_str()) {
            ("M", _) if name == "thread_name" && tid != 0 => {
                tracks.insert(tid, args["name"].as_str().unwrap_or("").to_owned());
            }
            ("X", Some("request")) => {
                let kind = args["kind"].as_str().map(str::to_owned).or_else(|| {
                    args["status"]
                        .as_u64()
                        .filter(|status| !(200..300).contains(status))
                        .map(|status| format!("HTTP {status}"))
                });
                if let Some(kind) = &kind {
                    *errors.entry(kind.clone()).or_default() += 1;
                }
                // [tid, start, duration, status, attempt, queued, error kind, name]: arrays,
                // not objects, since a run may have many thousands.
                requests.push(json!([
                    tid,
                    ts,
                    event["dur"].as_u64().unwrap_or(0),
                    args["status"].as_u64(),
                    args["attempt"].as_u64().unwrap_or(1),
                    args["queued_us"].as_u64().unwrap_or(0),
                    kind,
                    name,
                ]));
            }
            ("X", Some("backpressure")) => {
                held_back.push(json!([tid, ts, event["dur"].as_u64().unwrap_or(0)]));
            }
            ("i", Some("retry")) => {
                let kind = args["kind"].as_str().map_or_else(
                    || failure_kind(args["reason"].as_str().unwrap_or("")),
                    str::to_owned,
                );
                *retries.entry(kind).or_default() += 1;
            }
            ("i", _) => marks.push(json!([ts, name])),
            ("C", _) if name == "requests in flight" => {
                in_flight.push(json!([ts, args["in flight"], args["limit"]]));
            }
            ("C", _) if name == "queued for reducers" => {
                queued.push(json!([ts, args["pages"]]));
            }
            _ => {}
        }
    }
    let tracks: Vec<Value> = tracks
        .into_iter()
        .map(|(tid, name)| json!({ "tid": tid, "name": name }))
        .collect();
    let pagefold = &trace["otherData"]["pagefold"];
    Ok(json!({
        "origin": pagefold["origin"],
        "totals": pagefold["totals"],
        "tracks": tracks,
        "requests": requests,
        "held_back": held_back,
        "in_flight": in_flight,
        "queued": queued,
        "retries": retries,
        "errors": errors,
        "marks": marks,
    }))
}

/// Each run of the history: when, how long, how it ended, what it fetched.
fn history(entries: &[HistoryEntry]) -> Value {
    entries
        .iter()
        .map(|entry| {
            json!({
                "run_id": entry.run_id,
                "started": entry.started.to_rfc3339(),
                "seconds": (entry.ended - entry.started).num_milliseconds() as f64 / 1000.0,
                "status": entry.status.as_str(),
                "pages": entry.pages,
                "records": entry.records,
                "requests": entry.requests,
                "retries": entry.retries,
            })
        })
        .collect()
}

/// Every reducer whose value is a number, numbers by key (`count_by`) or a ranking
/// (`top_k`: `[{value, count}]`), across the runs whose result documents are kept: one chart
/// each, `{name, shape: line | stacked | ranked, runs, series: [{name, values}]}`.
fn reducers(entries: &[HistoryEntry], results: &[(String, String)]) -> Value {
    let results: BTreeMap<&str, Value> = results
        .iter()
        .filter_map(|(run, text)| Some((run.as_str(), serde_json::from_str(text).ok()?)))
        .collect();
    // Runs in the history's order, those with a result only.
    let runs: Vec<(&str, &Value)> = entries
        .iter()
        .filter_map(|entry| {
            let document = results.get(entry.run_id.as_str())?;
            Some((entry.run_id.as_str(), document))
        })
        .collect();
    let mut names: Vec<String> = Vec::new();
    for (_, document) in &runs {
        if let Some(reducers) = document["reducers"].as_object() {
            for name in reducers.keys() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
    let mut charts = Vec::new();
    for name in names {
        let values: Vec<&Value> = runs
            .iter()
            .map(|(_, document)| &document["reducers"][&name])
            .collect();
        let Some(shape) = values.iter().find_map(|value| shape_of(value)) else {
            continue;
        };
        let mut series: Vec<(String, Vec<Value>)> = Vec::new();
        let mut point = |key: &str, run: usize, value: Value| {
            let position = match series.iter().position(|(name, _)| name == key) {
                Some(position) => position,
                None => {
                    series.push((key.to_owned(), vec![Value::Null; runs.len()]));
                    series.len() - 1
                }
            };
            series[position].1[run] = value;
        };
        for (run, value) in values.iter().enumerate() {
            match (shape, value) {
                ("line", Value::Number(_)) => point(&name, run, (*value).clone()),
                ("stacked", Value::Object(counts)) => {
                    for (key, count) in counts {
                        if count.is_number() {
                            point(key, run, count.clone());
                        }
                    }
                }
                ("ranked", Value::Array(ranking)) => {
                    for entry in ranking {
                        point(&label(&entry["value"]), run, entry["count"].clone());
                    }
                }
                _ => {}
            }
        }
        // The largest series first: they are stacked from the bottom, and listed in order.
        series.sort_by(|(a, x), (b, y)| total(y).total_cmp(&total(x)).then(a.cmp(b)));
        charts.push(json!({
            "name": name,
            "shape": shape,
            "runs": runs.iter().map(|(run, _)| *run).collect::<Vec<_>>(),
            "series": series
                .into_iter()
                .map(|(name, values)| json!({ "name": name, "values": values }))
                .collect::<Vec<_>>(),
        }));
    }
    Value::Array(charts)
}

fn shape_of(value: &Value) -> Option<&'static str> {
    match value {
        Value::Number(_) => Some("line"),
        Value::Object(counts) if !counts.is_empty() && counts.values().all(Value::is_number) => {
            Some("stacked")
        }
        Value::Array(ranking)
            if !ranking.is_empty()
                && ranking
                    .iter()
                    .all(|entry| entry["count"].is_number() && entry.get("value").is_some()) =>
        {
            Some("ranked")
        }
        _ => None,
    }
}

fn label(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn total(values: &[Value]) -> f64 {
    values.iter().filter_map(Value::as_f64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reducer_shapes() {
        assert_eq!(shape_of(&json!(3)), Some("line"));
        assert_eq!(shape_of(&json!({"paid": 2, "open": 1})), Some("stacked"));
        assert_eq!(
            shape_of(&json!([{"value": "a", "count": 2}])),
            Some("ranked")
        );
        assert_eq!(shape_of(&json!([1, 2, 3])), None);
        assert_eq!(shape_of(&json!("text")), None);
    }

    #[test]
    fn a_trace_that_is_not_one_is_refused() {
        let input = ReportInput {
            job: "x".into(),
            trace: Some("{}".into()),
            ..ReportInput::default()
        };
        assert!(matches!(gather(&input), Err(ReportError::NotATrace)));
    }
}
