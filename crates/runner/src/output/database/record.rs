//! What one run puts in the database: a row of the runs table ([`RunRecord`]) and a row of
//! the values table per value of its result ([`ValueRow`]), kept together so that a record
//! written late (from `pending-db/`) is written exactly as it would have been on time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::output::ResultDocument;
use crate::output::format::long_values;
use crate::secrets;

/// One run, as the database holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The job's name.
    pub job: String,
    /// The run's id: a run written again replaces the rows of this id (and job).
    pub run_id: String,
    /// What started it, as the history spells it (`manual`, `schedule`, `catch_up`,
    /// `resume`).
    pub trigger: String,
    /// The scheduled time it is for, if scheduled.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub ended: DateTime<Utc>,
    /// How its data came out, as the history spells it: `ok`, or `partial` with pages
    /// skipped.
    pub status: String,
    /// Pages reduced.
    pub pages: u64,
    /// Records reduced.
    pub records: u64,
    /// HTTP requests, retries included.
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// The warnings of its history entry.
    pub warnings: Vec<String>,
    /// The whole result document as JSON, credentials hidden.
    pub result: String,
    /// The reducers' values, in job order: the values table's rows are made from them.
    pub reducers: Vec<(String, Value)>,
}

/// One row of the values table: `reducer, key, rank, value` as in the CSV output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRow {
    /// The reducer.
    pub reducer: String,
    /// Where the value is in the reducer's value (empty for a scalar).
    pub key: String,
    /// Its rank in a list, from 1.
    pub rank: Option<i64>,
    /// A number, exactly as the result document writes it.
    pub number: Option<String>,
    /// Anything else, as JSON (a string with its quotes, `true`, `null`).
    pub json: Option<String>,
}

impl RunRecord {
    /// `document` as the `result` column holds it: compact JSON, credentials hidden (an API
    /// may echo one into its records).
    pub fn result_json(document: &ResultDocument) -> String {
        secrets::redact_credentials(
            &serde_json::to_string(document).expect("the result document serializes"),
        )
    }

    /// The values table's rows, reducer by reducer in job order.
    pub fn rows(&self) -> Vec<ValueRow> {
        let mut rows = Vec::new();
        for (reducer, value) in &self.reducers {
            for row in long_values(value) {
                let (number, json) = match row.value {
                    Value::Number(number) => (Some(number.to_string()), None),
                    other => (None, Some(secrets::redact_credentials(&other.to_string()))),
                };
                rows.push(ValueRow {
                    reducer: reducer.clone(),
                    key: secrets::redact_credentials(&row.key),
                    rank: row.rank.map(|rank| rank as i64),
                    number,
                    json,
                });
            }
        }
        rows
    }

    /// The warnings as a JSON list.
    pub fn warnings_json(&self) -> String {
        serde_json::to_string(&self.warnings).expect("strings serialize")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::output::tests::document;

    #[test]
    fn numbers_stay_exact_and_the_rest_is_json() {
        let mut document = document();
        document.reducers = vec![
            ("total".into(), json!(12)),
            ("mean".into(), json!(0.1)),
            ("big".into(), json!(18446744073709551615u64)),
            ("top".into(), json!([{"value": "Oslo", "count": 2}])),
            ("by".into(), json!({"a": "x", "b": null, "c": true})),
        ];
        let record = RunRecord {
            job: "j".into(),
            run_id: "R".into(),
            trigger: "manual".into(),
            scheduled_for: None,
            started: Utc::now(),
            ended: Utc::now(),
            status: "ok".into(),
            pages: 1,
            records: 2,
            requests: 1,
            retries: 0,
            warnings: Vec::new(),
            result: RunRecord::result_json(&document),
            reducers: document.reducers.clone(),
        };
        let rows = record.rows();
        type Cells<'a> = (
            &'a str,
            &'a str,
            Option<i64>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cells: Vec<Cells> = rows
            .iter()
            .map(|row| {
                (
                    row.reducer.as_str(),
                    row.key.as_str(),
                    row.rank,
                    row.number.as_deref(),
                    row.json.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            cells,
            [
                ("total", "", None, Some("12"), None),
                ("mean", "", None, Some("0.1"), None),
                ("big", "", None, Some("18446744073709551615"), None),
                ("top", "Oslo", Some(1), Some("2"), None),
                ("by", "a", None, None, Some("\"x\"")),
                ("by", "b", None, None, Some("null")),
                ("by", "c", None, None, Some("true")),
            ]
        );
    }
}
